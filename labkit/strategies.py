"""Deployment strategies as a model a student can play with (lesson 06, day 19's "배포 전략"): how the
share of requests per version, the instances that run and the failed requests change over a rollout of
v2 by rolling update, blue/green or canary, and what happens when v2 is bad and an alarm rolls it back.

A model, not the local cloud: it runs in a blink and draws the whole rollout, where the lab's canary
(lab 06, lab 09) shows one real split. Its rules follow what the services do:

    rolling      ECS's rolling update: `batch` new tasks start (maximumPercent above 100); when they pass
                 their health check they join the load balancer and as many old tasks stop; repeat.
                 Resources stay near N; the rollout takes N/batch rounds. A rollback is a rolling update
                 back to v1, just as slow.
    blue/green   a full green set (N tasks of v2) starts beside blue; once healthy, all traffic moves at
                 once (CodeDeploy's ECSAllAtOnce); blue is kept `keep_blue_s` for a rollback, then stops.
                 2N tasks for a while; a rollback moves all traffic back at once.
    canary       like blue/green, but `canary_percent` of the traffic goes to green first for `bake_s`
                 (CodeDeploy's ECSCanary10Percent5Minutes; Cloud Run's `--to-revisions NEW=10,OLD=90`),
                 then the rest. A bad v2 hurts only the canary's share until the alarm.

A bad v2 answers `v2_error_rate` of its requests with errors (it passes its health check: a bug, not a
crash). The alarm (a CloudWatch alarm on the load balancer's 5xx rate, which CodeDeploy or an ECS
deployment alarm watches) fires once the error rate has stayed above `alarm_threshold` for `alarm_s`.
Time advances in steps of `step_s`; every figure is per step. Deterministic: same inputs, same timeline.
"""
from __future__ import annotations

from dataclasses import dataclass, field

STRATEGIES = ("rolling", "blue_green", "canary")


@dataclass(frozen=True)
class Settings:
    strategy: str = "canary"
    instances: int = 4              # N: tasks of the service at steady state
    start_s: int = 30               # a new task's start and health check
    batch: int = 1                  # rolling: tasks replaced at a time
    canary_percent: int = 10
    bake_s: int = 300               # canary: how long the canary's share serves before the rest moves
    keep_blue_s: int = 300          # blue/green and canary: how long blue stays after the move
    v2_bad: bool = False
    v2_error_rate: float = 0.5      # a bad v2's share of failed answers
    alarm_threshold: float = 0.02   # error rate that counts as bad
    alarm_s: int = 60               # how long it must stay bad before the alarm fires
    requests_per_s: float = 50.0
    step_s: int = 10
    horizon_s: int = 1200           # the longest the model runs


@dataclass
class Timeline:
    settings: Settings
    t: list[int] = field(default_factory=list)           # seconds since the rollout began
    share_v2: list[float] = field(default_factory=list)  # of the requests in the step, 0..1
    errors: list[float] = field(default_factory=list)    # of the requests in the step that failed, 0..1
    tasks_v1: list[int] = field(default_factory=list)    # running or starting
    tasks_v2: list[int] = field(default_factory=list)
    events: list[tuple[int, str]] = field(default_factory=list)   # (t, what): see EVENTS

    @property
    def share_v1(self) -> list[float]:
        return [1.0 - s for s in self.share_v2]

    @property
    def failed_requests(self) -> int:
        s = self.settings
        return round(sum(e * s.requests_per_s * s.step_s for e in self.errors))

    @property
    def peak_tasks(self) -> int:
        return max(a + b for a, b in zip(self.tasks_v1, self.tasks_v2))

    @property
    def done_s(self) -> int | None:
        """When the rollout ended (promoted or rolled back), or None if it had not within the horizon."""
        return next((t for t, what in self.events if what in ("done", "rolled_back")), None)

    @property
    def promoted_s(self) -> int | None:
        """When v2 first answered every request, or None (rolled back first)."""
        return next((t for t, share in zip(self.t, self.share_v2) if share >= 1.0), None)

    @property
    def alarm_s(self) -> int | None:
        return next((t for t, what in self.events if what == "alarm"), None)

    @property
    def outcome(self) -> str:
        ends = [what for _, what in self.events if what in ("done", "rolled_back")]
        return ends[0] if ends else "unfinished"


EVENTS = ("v2_healthy", "shifted", "alarm", "rolled_back", "done", "blue_stopped")


class _Fleet:
    """Tasks by version: each one starting (ready at a time) or serving."""

    def __init__(self, v1: int):
        self.serving = {"v1": v1, "v2": 0}
        self.starting: list[tuple[int, str]] = []   # (ready at, version)

    def start(self, version: str, count: int, now: int, start_s: int) -> None:
        self.starting += [(now + start_s, version)] * count

    def settle(self, now: int) -> list[str]:
        ready = [v for at, v in self.starting if at <= now]
        self.starting = [(at, v) for at, v in self.starting if at > now]
        for version in ready:
            self.serving[version] += 1
        return ready

    def count(self, version: str) -> int:
        return self.serving[version] + sum(1 for _, v in self.starting if v == version)

    def pending(self, version: str) -> int:
        return sum(1 for _, v in self.starting if v == version)


def simulate(settings: Settings | None = None, **changes) -> Timeline:
    """The rollout of v2 under `settings` (or Settings(**changes)), step by step."""
    s = settings or Settings(**changes)
    if settings is not None and changes:
        s = Settings(**{**settings.__dict__, **changes})
    if s.strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {s.strategy!r}")
    if s.instances < 1 or s.batch < 1 or not 0 < s.canary_percent < 100:
        raise ValueError("instances and batch must be at least 1, canary_percent between 1 and 99")
    timeline = Timeline(settings=s)
    fleet = _Fleet(s.instances)
    v2_errors = s.v2_error_rate if s.v2_bad else 0.0
    weight_v2 = 0.0            # blue/green and canary: the listener's weight of green
    phase = "start"            # start -> (canary) bake -> moved -> done | alarm -> rolled_back
    shifted_at = bad_since = None
    rolling_back = False

    def event(now: int, what: str) -> None:
        timeline.events.append((now, what))

    def share(now: int) -> float:
        if s.strategy == "rolling":
            total = fleet.serving["v1"] + fleet.serving["v2"]
            return fleet.serving["v2"] / total if total else 0.0
        return weight_v2

    for now in range(0, s.horizon_s + 1, s.step_s):
        ready = fleet.settle(now)
        if now == 0:
            if s.strategy == "rolling":
                fleet.start("v2", min(s.batch, s.instances), now, s.start_s)
            else:
                fleet.start("v2", s.instances, now, s.start_s)   # the green task set, full size
        elif s.strategy == "rolling":
            new, old = ("v1", "v2") if rolling_back else ("v2", "v1")
            for version in ready:
                if version == new and fleet.serving[old] > 0:
                    fleet.serving[old] -= 1              # one old task stops for each new one in service
            if not fleet.pending(new) and phase not in ("done", "rolled_back"):
                if fleet.serving[old] == 0:
                    phase = "rolled_back" if rolling_back else "done"
                    event(now, phase)
                else:
                    if not rolling_back and phase == "start" and fleet.serving["v2"]:
                        event(now, "v2_healthy")
                        phase = "rolling"
                    fleet.start(new, min(s.batch, fleet.serving[old]), now, s.start_s)
        else:
            if phase == "start" and not fleet.pending("v2"):
                event(now, "v2_healthy")
                weight_v2 = 1.0 if s.strategy == "blue_green" else s.canary_percent / 100
                phase, shifted_at = ("moved" if s.strategy == "blue_green" else "bake"), now
                event(now, "shifted")
            elif phase == "bake" and now - shifted_at >= s.bake_s:
                weight_v2, phase, shifted_at = 1.0, "moved", now
                event(now, "shifted")
            elif phase == "moved" and now - shifted_at >= s.keep_blue_s:
                fleet.serving["v1"] = 0
                phase = "done"
                event(now, "done")
                event(now, "blue_stopped")

        share_v2 = share(now)
        error = share_v2 * v2_errors
        timeline.t.append(now)
        timeline.share_v2.append(round(share_v2, 4))
        timeline.errors.append(round(error, 4))
        timeline.tasks_v1.append(fleet.count("v1"))
        timeline.tasks_v2.append(fleet.count("v2"))

        # the alarm watches the error rate; it fires once, then the rollback starts
        if error > s.alarm_threshold and phase not in ("done", "rolled_back", "alarm") and not rolling_back:
            bad_since = now if bad_since is None else bad_since
            if now - bad_since >= s.alarm_s:
                event(now, "alarm")
                if s.strategy == "rolling":
                    rolling_back = True
                    fleet.starting = [(at, v) for at, v in fleet.starting if v != "v2"]
                    fleet.start("v1", min(s.batch, fleet.serving["v2"]), now, s.start_s)
                    phase = "rolling_back"
                else:
                    weight_v2 = 0.0                       # blue still runs: all traffic back at once
                    fleet.serving["v2"] = 0
                    fleet.starting = []
                    phase = "rolled_back"
                    event(now, "rolled_back")
        elif error <= s.alarm_threshold:
            bad_since = None
        if phase in ("done", "rolled_back") and now >= (timeline.done_s or 0) + 60:
            break   # a minute of the steady state after the end, then stop drawing
    return timeline
