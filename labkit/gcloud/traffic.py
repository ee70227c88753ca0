"""gcloud's client-side traffic rules (googlecloudsdk/api_lib/run/traffic.py), on Cloud Run v2
TrafficTargets. gcloud reads the service's traffic, merges the student's flags into a complete
list summing to 100 and sends the whole list:

    --to-revisions=A=10        A gets 10; the other targets serving traffic share the other 90
                               in proportion to what they had (rounded as gcloud rounds)
    --to-tags=green=10         the same, naming revisions by their tag
    --to-latest                LATEST=100
    --update-tags / --remove-tags / --clear-tags / deploy --tag: tags on 0% targets

Targets are (key, percent, tag) with key 'LATEST' or a revision name.
"""
from __future__ import annotations

from labkit.gcloud.errors import GcloudError

LATEST = "LATEST"


class Target:
    def __init__(self, key: str, percent: int = 0, tag: str = ""):
        self.key, self.percent, self.tag = key, percent, tag

    def __repr__(self) -> str:
        return f"Target({self.key!r}, {self.percent}, {self.tag!r})"


def _sort_key(key: str):
    return (2, key) if key == LATEST else (1, key)


def from_v2(traffic) -> list[Target]:
    from google.cloud import run_v2

    latest = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
    return [Target(LATEST if t.type_ == latest or not t.revision else t.revision, t.percent, t.tag) for t in traffic]


def to_v2(targets: list[Target]) -> list:
    from google.cloud import run_v2

    kinds = run_v2.TrafficTargetAllocationType
    return [run_v2.TrafficTarget(type_=kinds.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST, percent=t.percent, tag=t.tag)
            if t.key == LATEST else
            run_v2.TrafficTarget(type_=kinds.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION, revision=t.key,
                                 percent=t.percent, tag=t.tag)
            for t in targets]


def _normalized(targets: list[Target]) -> tuple[dict[str, Target], list[Target]]:
    """Percent targets merged per key (no tags), and tags moved to 0% targets."""
    percent: dict[str, Target] = {}
    tags = []
    for t in targets:
        if t.tag:
            tags.append(Target(t.key, 0, t.tag))
        if t.percent:
            percent.setdefault(t.key, Target(t.key, 0)).percent += t.percent
    return percent, tags


def update_traffic(targets: list[Target], new: dict[str, int]) -> list[Target]:
    """gcloud's TrafficTargets.UpdateTraffic."""
    existing, tags = _normalized(targets)
    if sum(t.percent for t in existing.values()) != 100:
        raise GcloudError(f"Current traffic allocation of {sum(t.percent for t in existing.values())} "
                          f"is not 100 percent")
    unassigned = {t.key: t for t in targets if t.percent and t.key not in new}
    specified = sum(new.values())
    if specified > 100:
        raise GcloudError("Over 100% of traffic is specified.")
    for key, value in new.items():
        if value < 0 or value > 100:
            raise GcloudError(f"New traffic for target {key} is {value}, not between 0 and 100")
    if not unassigned and specified < 100:
        raise GcloudError("Every target with traffic is updated but 100% of traffic has not been specified.")
    floats: dict[str, float] = dict(new)
    rest = 100 - specified
    if rest:
        base = sum(t.percent for t in unassigned.values())
        floats.update({k: t.percent * float(rest) / base for k, t in unassigned.items()})
    ints = {k: int(v) for k, v in floats.items()}
    loss = int(round(sum(floats.values()))) - sum(ints.values())
    order = sorted(floats.items(), key=lambda kv: [1 - (kv[1] - int(kv[1])), kv[1], _sort_key(kv[0])])
    for key, _ in order[:loss]:
        ints[key] += 1
    result = []
    for key, value in ints.items():
        if key in new and new[key] == 0:
            continue
        result.append(Target(key, value))
    result.sort(key=lambda t: _sort_key(t.key))
    return result + tags


def zero_latest(targets: list[Target], latest_ready: str) -> list[Target]:
    """gcloud's ZeroLatestTraffic (deploy --no-traffic): LATEST's share goes to the revision now
    serving as latest, so the new revision gets none."""
    percent, tags = _normalized(targets)
    if LATEST in percent:
        latest = percent.pop(LATEST)
        percent.setdefault(latest_ready, Target(latest_ready, 0)).percent += latest.percent
        return sorted(percent.values(), key=lambda t: _sort_key(t.key)) + tags
    return targets


def update_tags(targets: list[Target], to_update: dict[str, str], to_remove=(), clear_others=False) -> list[Target]:
    """gcloud's TrafficTargets.UpdateTags."""
    if not targets:
        targets = [Target(LATEST, 100)]
    kept = []
    for t in targets:
        if clear_others or t.tag in to_remove or t.tag in to_update:
            t = Target(t.key, t.percent, "")
        if t.percent or t.tag:
            kept.append(t)
    for tag, key in sorted(to_update.items()):
        kept.append(Target(key, 0, tag))
    return kept


def by_tag(targets: list[Target], new: dict[str, int], service: str) -> dict[str, int]:
    """--to-tags: tag -> percent made revision -> percent."""
    keys = {t.tag: t.key for t in targets if t.tag}
    result = {}
    for tag, value in new.items():
        if tag not in keys:
            raise GcloudError(f"There is no revision tagged with [{tag}] in the traffic allocation for [{service}].")
        result[keys[tag]] = value
    return result


def parse_pairs(text: str, flag: str) -> dict[str, int]:
    """'A=10,B=90' -> {'A': 10, 'B': 90}; LATEST allowed."""
    result = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise GcloudError(f"argument {flag}: Bad syntax for dict arg: [{item}]. Please see `gcloud topic "
                              f"flags-file` or `gcloud topic escaping` for information on providing list or "
                              f"dictionary flag values with special characters.", exit_code=2)
        try:
            result[key] = int(value)
        except ValueError:
            raise GcloudError(f"argument {flag}: Value must be an integer; received: {value}", exit_code=2) from None
    return result
