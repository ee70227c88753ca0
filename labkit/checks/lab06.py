"""Checks of lab 06 (lesson section 6.2 and Exercise 4): a Cloud Run service deployed from the local
Artifact Registry, its URL, public; a v2 revision with no traffic and a tag; a 10/90 canary by
revision names, its split observed; v2 promoted.

Every condition reads state only, through the official Cloud Run client over REST
(`ctx.google("run")`, `ctx.google("revisions")`) and two REST reads the clients of this course
do not wrap: the service's long-running operations (Cloud Run keeps them; each ends with the
Service as it was applied, so the traffic each update set stays readable after the promotion)
and Cloud Logging's `entries.list` (the request log, where Cloud Run users read which revision
answered each request). "It answers" is an unauthenticated GET of the URL through the graded
cloud (`labkit.net.get(url, endpoint=ctx.endpoint)`), as the student's `labkit.gcp.hit` sends it.

The observed split counts the requests logged on the service's own URLs while the applied traffic
gave both revisions a share (from the update that set it to the next one): what the student's
requests met.

Which revision is v1 and which v2 is read from the revisions' own environment (CLOUD_PROVIDER
GCP and GCP-v2): their names end with a random suffix, different in every cloud.
"""
from __future__ import annotations

import json
import math
import re
import urllib.parse
import urllib.request
from datetime import datetime, timezone

from labkit.checks import cloudrun, service_urls
from labkit.checks.answers import answer_text as written_answer
from labkit.checks.cloudrun import INVOKER, PUBLIC
from labkit.checks.core import CheckContext, Lab, Result, Step, condition

PROJECT, PROJECT_NUMBER, REGION = "labkit-project", "123456789012", "asia-northeast3"
SERVICE = "my-service"
PARENT = f"projects/{PROJECT}/locations/{REGION}"
SERVICE_NAME = f"{PARENT}/services/{SERVICE}"
IMAGE = f"{REGION}-docker.pkg.dev/{PROJECT}/my-repo/my-app:v1"
URL = f"https://{SERVICE}-{PROJECT_NUMBER}.{REGION}.run.app"
TAG = "v2"
V1, V2 = "GCP", "GCP-v2"     # CLOUD_PROVIDER of each version: "Hello from GCP!" / "Hello from GCP-v2!"
URL_ANSWER = "SERVICE_URL"   # the notebook's answer variable (a string literal: the URL is the same in every cloud)
CANARY = {"v1": 90, "v2": 10}
CANARY_SHARE = 0.10
MIN_OBSERVED = 100           # main-URL requests while both revisions served, before a share means anything
REQUEST_LOG = f"projects/{PROJECT}/logs/run.googleapis.com%2Frequests"
HTTP_TIMEOUT_S = 3.0
PROMOTED_GETS = 20
READY = "CONDITION_SUCCEEDED"


def answer_text(provider: str) -> str:
    return f"Hello from {provider}!"


def tag_url(tag: str = TAG) -> str:
    return URL.replace("https://", f"https://{tag}---", 1)


# -- readers ---------------------------------------------------------------------------------------

def _service(ctx: CheckContext):
    return cloudrun.service(ctx, SERVICE_NAME)


def _revisions(ctx: CheckContext) -> list:
    return cloudrun.revisions(ctx, SERVICE_NAME)


def short(name: str) -> str:
    return (name or "").rsplit("/", 1)[-1]


def provider_of(revision) -> str | None:
    return cloudrun.env(revision).get("CLOUD_PROVIDER")


def _version(ctx: CheckContext, provider: str):
    """The first revision whose CLOUD_PROVIDER is `provider`, or None."""
    return next((r for r in _revisions(ctx) if provider_of(r) == provider), None)


def _ready(revision) -> tuple[bool, str]:
    for c in revision.conditions:
        if c.type_ == "Ready":
            return c.state.name == READY, c.message
    return False, ""


def _rest_json(ctx: CheckContext, path: str, body: dict | None = None) -> dict:
    """GET (or POST `body` to) the cloud's REST path, as JSON; never through a proxy."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(ctx.endpoint.rstrip("/") + path, data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as reply:
        return json.loads(reply.read() or b"{}")


def parse_time(stamp: str) -> float:
    """Epoch seconds of an RFC 3339 UTC time with 0 to 9 fractional digits."""
    found = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", stamp or "")
    if not found:
        return 0.0
    whole = datetime.strptime(found.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return whole + float(f"0.{found.group(2) or 0}")


def _applied(ctx: CheckContext) -> list[dict]:
    """The traffic each finished create/update of the service applied, in generation order:
    {"generation", "time", "percents": {revision: percent}, "tags": {tag: revision}, "latest": revision}.
    Read from the service's long-running operations (their response is the Service as it ended)."""
    def fetch():
        found: dict[int, dict] = {}
        token = ""
        while True:
            query = urllib.parse.urlencode({"pageSize": 500, **({"pageToken": token} if token else {})})
            page = _rest_json(ctx, f"/gcp/run/v2/{PARENT}/operations?{query}")
            for op in page.get("operations", []):
                response = op.get("response") or {}
                if not op.get("done") or "error" in op or not response.get("@type", "").endswith("run.v2.Service"):
                    continue
                if response.get("name") != SERVICE_NAME or response.get("deleteTime"):
                    continue
                percents: dict[str, int] = {}
                tags: dict[str, str] = {}
                for target in response.get("trafficStatuses", []):
                    revision = target.get("revision", "")
                    percents[revision] = percents.get(revision, 0) + int(target.get("percent", 0))
                    if target.get("tag"):
                        tags[target["tag"]] = revision
                generation = int(response.get("generation", 0))
                found[generation] = {"generation": generation, "time": parse_time(response.get("updateTime", "")),
                                     "percents": percents, "tags": tags,
                                     "latest": short(response.get("latestCreatedRevision", ""))}
            token = page.get("nextPageToken")
            if not token:
                return [found[g] for g in sorted(found)]
    return ctx.cached("applied", fetch)


def _current(ctx: CheckContext) -> dict:
    """The traffic serving now: {revision: percent}, {tag: revision}."""
    service = _service(ctx)
    percents: dict[str, int] = {}
    tags: dict[str, str] = {}
    for target in service.traffic_statuses if service is not None else []:
        percents[target.revision] = percents.get(target.revision, 0) + target.percent
        if target.tag:
            tags[target.tag] = target.revision
    return {"percents": percents, "tags": tags}


def _request_log(ctx: CheckContext) -> list[dict]:
    """The service's request log (Cloud Logging, oldest first): {"time", "revision", "host", "status"}."""
    def fetch():
        query = (f'resource.type="cloud_run_revision" AND resource.labels.service_name="{SERVICE}" '
                 f'AND logName="{REQUEST_LOG}"')
        found, token = [], ""
        while True:
            page = _rest_json(ctx, "/gcp/logging/v2/entries:list", {
                "resourceNames": [f"projects/{PROJECT}"], "filter": query, "orderBy": "timestamp asc",
                "pageSize": 1000, **({"pageToken": token} if token else {})})
            for entry in page.get("entries", []):
                labels = (entry.get("resource") or {}).get("labels") or {}
                http = entry.get("httpRequest") or {}
                if entry.get("logName") != REQUEST_LOG or labels.get("service_name") != SERVICE:
                    continue
                found.append({"time": parse_time(entry.get("timestamp", "")), "revision": labels.get("revision_name"),
                              "host": urllib.parse.urlsplit(http.get("requestUrl", "")).hostname or "",
                              "status": int(http.get("status") or 0)})
            token = page.get("nextPageToken")
            if not token:
                return sorted(found, key=lambda e: e["time"])
    return ctx.cached("request_log", fetch)


def _ask(ctx: CheckContext, url: str):
    return service_urls.ask(ctx, url, HTTP_TIMEOUT_S)


def _get(ctx: CheckContext, url: str):
    return service_urls.get(ctx, url, HTTP_TIMEOUT_S)


def _v2_serves(ctx: CheckContext) -> bool:
    """v2 takes part of the main URL's traffic now (the canary or the promotion was done)."""
    v2 = _version(ctx, V2)
    return v2 is not None and _current(ctx)["percents"].get(short(v2.name), 0) > 0


# -- step 1: deploy --------------------------------------------------------------------------------

@condition(points=1)
def deploy_exists(ctx: CheckContext) -> list[Result]:
    ok = _service(ctx) is not None
    return [Result("deploy.exists", ok, "lab06.deploy.exists.ok" if ok else "lab06.deploy.exists.missing",
                   params={"name": SERVICE, "region": REGION})]


@condition(points=1)
def deploy_image(ctx: CheckContext) -> list[Result]:
    revisions = _revisions(ctx)
    if not revisions:
        return [Result("deploy.image", False, "lab06.deploy.image.no_service")]
    first = _version(ctx, V1) or revisions[0]
    found = first.containers[0].image if first.containers else ""
    ok = found == IMAGE
    return [Result("deploy.image", ok, "lab06.deploy.image.ok" if ok else "lab06.deploy.image.other",
                   params={"image": IMAGE, "found": found or "-"})]


@condition(points=1)
def deploy_env(ctx: CheckContext) -> list[Result]:
    revisions = _revisions(ctx)
    if not revisions:
        return [Result("deploy.env", False, "lab06.deploy.env.no_service")]
    if _version(ctx, V1) is not None:
        return [Result("deploy.env", True, "lab06.deploy.env.ok", params={"value": V1})]
    found = provider_of(revisions[0])
    return [Result("deploy.env", False, "lab06.deploy.env.other" if found else "lab06.deploy.env.missing",
                   params={"value": V1, "found": found or "-", "revision": short(revisions[0].name)})]


@condition(points=1)
def deploy_ready(ctx: CheckContext) -> list[Result]:
    revisions = _revisions(ctx)
    if not revisions:
        return [Result("deploy.ready", False, "lab06.deploy.ready.no_service")]
    first = _version(ctx, V1) or revisions[0]
    ok, message = _ready(first)
    if ok:
        return [Result("deploy.ready", True, "lab06.deploy.ready.ok", params={"revision": short(first.name)})]
    if first.reconciling:
        return [Result("deploy.ready", False, "lab06.deploy.ready.starting", params={"revision": short(first.name)})]
    return [Result("deploy.ready", False, "lab06.deploy.ready.failed",
                   params={"revision": short(first.name), "message": message or "-"})]


@condition(points=1)
def deploy_answers(ctx: CheckContext) -> list[Result]:
    if _service(ctx) is None:
        return [Result("deploy.answers", False, "lab06.deploy.answers.no_service")]
    wanted = [answer_text(V1)] + ([answer_text(V2)] if _v2_serves(ctx) else [])
    reply = _ask(ctx, URL)
    if reply is not None and reply[0] == 200 and reply[1] in wanted:
        return [Result("deploy.answers", True, "lab06.deploy.answers.ok", params={"url": URL, "found": reply[1]})]
    key = "lab06.deploy.answers.forbidden" if reply is not None and reply[0] == 403 else "lab06.deploy.answers.wrong"
    return [Result("deploy.answers", False, key, params={"url": URL, "found": service_urls.shown(reply), "expected": wanted[0]})]


# -- step 2: the URL, public ---------------------------------------------------------------------------

@condition(points=1)
def url_answer(ctx: CheckContext) -> list[Result]:
    written = written_answer(ctx, URL_ANSWER)
    if written is None:
        return [Result("url.answer", False, "lab06.url.answer.missing", params={"name": URL_ANSWER})]
    given = written.strip().rstrip("/")
    service = _service(ctx)
    urls = {u.rstrip("/") for u in ([service.uri, *service.urls] if service is not None else [URL])}
    if given in urls:
        return [Result("url.answer", True, "lab06.url.answer.ok", params={"name": URL_ANSWER, "url": given})]
    if given.replace("http://", "https://", 1) in urls:
        return [Result("url.answer", False, "lab06.url.answer.http", params={"name": URL_ANSWER, "found": given})]
    if "---" in given:
        return [Result("url.answer", False, "lab06.url.answer.tag", params={"name": URL_ANSWER, "found": given})]
    return [Result("url.answer", False, "lab06.url.answer.other", params={"name": URL_ANSWER, "found": given[:100]})]


@condition(points=1)
def url_public(ctx: CheckContext) -> list[Result]:
    if _service(ctx) is None:
        return [Result("url.public", False, "lab06.url.public.no_service")]
    public = cloudrun.is_public(ctx, SERVICE_NAME)
    return [Result("url.public", public, "lab06.url.public.ok" if public else "lab06.url.public.private",
                   params={"member": PUBLIC, "role": INVOKER})]


@condition(points=1)
def url_unauthenticated(ctx: CheckContext) -> list[Result]:
    if _service(ctx) is None:
        return [Result("url.unauthenticated", False, "lab06.url.unauthenticated.no_service")]
    reply = _ask(ctx, URL)  # labkit.net.get sends no token: what anybody on the internet gets
    if reply is not None and reply[0] == 200:
        return [Result("url.unauthenticated", True, "lab06.url.unauthenticated.ok", params={"url": URL})]
    return [Result("url.unauthenticated", False, "lab06.url.unauthenticated.refused",
                   params={"url": URL, "found": service_urls.shown(reply)})]


# -- step 3: v2 with no traffic ----------------------------------------------------------------------------

def _v2_deployed(ctx: CheckContext) -> dict | None:
    """The traffic the update that created v2 applied (the first one whose latest revision is v2)."""
    v2 = _version(ctx, V2)
    if v2 is None:
        return None
    return next((a for a in _applied(ctx) if a["latest"] == short(v2.name)), None)


@condition(points=1)
def v2_revision(ctx: CheckContext) -> list[Result]:
    revisions = _revisions(ctx)
    if not revisions:
        return [Result("v2.revision", False, "lab06.v2.revision.no_service")]
    v2 = _version(ctx, V2)
    if v2 is None:
        return [Result("v2.revision", False, "lab06.v2.revision.missing",
                       params={"value": V2, "count": len(revisions),
                               "found": ", ".join(f"{short(r.name)} ({provider_of(r) or '-'})" for r in revisions)})]
    found = v2.containers[0].image if v2.containers else ""
    if found != IMAGE:
        return [Result("v2.revision", False, "lab06.v2.revision.image",
                       params={"revision": short(v2.name), "found": found or "-", "image": IMAGE})]
    ok, message = _ready(v2)
    if not ok:
        return [Result("v2.revision", False, "lab06.v2.revision.not_ready",
                       params={"revision": short(v2.name), "message": message or "-"})]
    return [Result("v2.revision", True, "lab06.v2.revision.ok", params={"revision": short(v2.name), "value": V2})]


@condition(points=1)
def v2_no_traffic(ctx: CheckContext) -> list[Result]:
    v2 = _version(ctx, V2)
    if v2 is None:
        return [Result("v2.no_traffic", False, "lab06.v2.no_traffic.no_revision")]
    deployed = _v2_deployed(ctx)
    if deployed is None:
        return [Result("v2.no_traffic", False, "lab06.v2.no_traffic.unknown", params={"revision": short(v2.name)})]
    share = deployed["percents"].get(short(v2.name), 0)
    if share:
        return [Result("v2.no_traffic", False, "lab06.v2.no_traffic.took_traffic",
                       params={"revision": short(v2.name), "percent": share})]
    return [Result("v2.no_traffic", True, "lab06.v2.no_traffic.ok", params={"revision": short(v2.name)})]


@condition(points=1)
def v2_tag(ctx: CheckContext) -> list[Result]:
    v2 = _version(ctx, V2)
    if v2 is None:
        return [Result("v2.tag", False, "lab06.v2.tag.no_revision")]
    deployed = _v2_deployed(ctx) or {"tags": {}}
    name = short(v2.name)
    if deployed["tags"].get(TAG) == name or _current(ctx)["tags"].get(TAG) == name:
        return [Result("v2.tag", True, "lab06.v2.tag.ok", params={"tag": TAG, "revision": name})]
    tags = {**deployed["tags"], **_current(ctx)["tags"]}
    if TAG in tags:
        return [Result("v2.tag", False, "lab06.v2.tag.other_revision",
                       params={"tag": TAG, "found": tags[TAG], "revision": name})]
    return [Result("v2.tag", False, "lab06.v2.tag.missing", params={"tag": TAG, "revision": name})]


@condition(points=1)
def v2_tag_answers(ctx: CheckContext) -> list[Result]:
    if _version(ctx, V2) is None:
        return [Result("v2.tag_answers", False, "lab06.v2.tag_answers.no_revision")]
    url, wanted = tag_url(), answer_text(V2)
    reply = _ask(ctx, url)
    if reply == (200, wanted):
        return [Result("v2.tag_answers", True, "lab06.v2.tag_answers.ok", params={"url": url, "expected": wanted})]
    return [Result("v2.tag_answers", False, "lab06.v2.tag_answers.wrong",
                   params={"url": url, "found": service_urls.shown(reply), "expected": wanted})]


# -- step 4: the canary ------------------------------------------------------------------------------------

def _split_of(applied: dict, v1: str, v2: str) -> tuple[int, int]:
    return applied["percents"].get(v1, 0), applied["percents"].get(v2, 0)


@condition(points=2)
def canary_traffic(ctx: CheckContext) -> list[Result]:
    """Some update applied v1 90 / v2 10 (read back from the operations: the promotion comes later)."""
    v1, v2 = _version(ctx, V1), _version(ctx, V2)
    if v1 is None or v2 is None:
        return [Result("canary.traffic", False, "lab06.canary.traffic.no_revisions", points=2.0)]
    names = short(v1.name), short(v2.name)
    splits = [_split_of(a, *names) for a in _applied(ctx)]
    if (CANARY["v1"], CANARY["v2"]) in splits:
        return [Result("canary.traffic", True, "lab06.canary.traffic.ok", points=2.0,
                       params={"v1": names[0], "v2": names[1]})]
    shared = [s for s in splits if s[0] > 0 and s[1] > 0]
    if shared:
        return [Result("canary.traffic", False, "lab06.canary.traffic.other", points=2.0,
                       params={"v1_percent": shared[-1][0], "v2_percent": shared[-1][1]})]
    return [Result("canary.traffic", False, "lab06.canary.traffic.missing", points=2.0,
                   params={"v1": names[0], "v2": names[1]})]


def shared_periods(applied: list[dict], v1: str, v2: str) -> list[tuple[float, float]]:
    """(from, to) of each time the applied traffic gave both revisions a share: from the update that
    set it to the next update (or now)."""
    periods = []
    for i, a in enumerate(applied):
        if a["percents"].get(v1, 0) > 0 and a["percents"].get(v2, 0) > 0:
            periods.append((a["time"], applied[i + 1]["time"] if i + 1 < len(applied) else math.inf))
    return periods


def observed_split(log: list[dict], v1: str, v2: str,
                   periods: list[tuple[float, float]]) -> tuple[int, int, list[dict]]:
    """(v1 requests, v2 requests, those requests) on the service's own URLs (tag URLs aside: they
    reach one revision by name) while the traffic shared them (`periods`, from the operations): what
    the student's requests met while the canary was on, however early or late each revision answered."""
    window = [e for e in log if "---" not in e["host"] and e["revision"] in (v1, v2)
              and any(start <= e["time"] < end for start, end in periods)]
    return (sum(e["revision"] == v1 for e in window), sum(e["revision"] == v2 for e in window), window)


def _canary_window(ctx: CheckContext, v1, v2) -> tuple[int, int, list[dict]]:
    names = short(v1.name), short(v2.name)
    return ctx.cached("canary_window", lambda: observed_split(_request_log(ctx), *names,
                                                              shared_periods(_applied(ctx), *names)))


def tolerance(n: int) -> float:
    """How far from 10% v2's observed share may be: 4.5 standard deviations of a binomial share
    (a false alarm about 1 in 100,000 runs), at least 3 points."""
    return max(0.03, 4.5 * math.sqrt(CANARY_SHARE * (1 - CANARY_SHARE) / max(n, 1)))


@condition(points=2)
def canary_split(ctx: CheckContext) -> list[Result]:
    v1, v2 = _version(ctx, V1), _version(ctx, V2)
    if v1 is None or v2 is None:
        return [Result("canary.split", False, "lab06.canary.split.no_revisions", points=2.0)]
    n1, n2, _ = _canary_window(ctx, v1, v2)
    total = n1 + n2
    if total < MIN_OBSERVED:
        return [Result("canary.split", False, "lab06.canary.split.not_observed", points=2.0,
                       params={"count": total, "minimum": MIN_OBSERVED})]
    share = n2 / total
    ok = abs(share - CANARY_SHARE) <= tolerance(total)
    return [Result("canary.split", ok, "lab06.canary.split.ok" if ok else "lab06.canary.split.off", points=2.0,
                   params={"share": f"{100 * share:.1f}", "count": total, "v2": n2})]


@condition(points=1)
def canary_answered(ctx: CheckContext) -> list[Result]:
    """Every request of the canary was answered (no 5xx from either revision while both served)."""
    v1, v2 = _version(ctx, V1), _version(ctx, V2)
    if v1 is None or v2 is None:
        return [Result("canary.answered", False, "lab06.canary.answered.no_revisions")]
    _, _, window = _canary_window(ctx, v1, v2)
    if not window:
        return [Result("canary.answered", False, "lab06.canary.answered.not_observed")]
    failed = [e for e in window if e["status"] >= 500]
    if failed:
        return [Result("canary.answered", False, "lab06.canary.answered.errors",
                       params={"count": len(failed), "total": len(window), "status": failed[0]["status"],
                               "revision": failed[0]["revision"]})]
    return [Result("canary.answered", True, "lab06.canary.answered.ok", params={"total": len(window)})]


# -- step 5: promote ------------------------------------------------------------------------------------------

@condition(points=1)
def promote_traffic(ctx: CheckContext) -> list[Result]:
    v2 = _version(ctx, V2)
    if v2 is None:
        return [Result("promote.traffic", False, "lab06.promote.traffic.no_revision")]
    percents = _current(ctx)["percents"]
    share = percents.get(short(v2.name), 0)
    if share == 100:
        return [Result("promote.traffic", True, "lab06.promote.traffic.ok", params={"revision": short(v2.name)})]
    now = ", ".join(f"{name} {p}%" for name, p in sorted(percents.items()) if p) or "-"
    return [Result("promote.traffic", False, "lab06.promote.traffic.not_yet", params={"traffic": now})]


@condition(points=1)
def promote_answers(ctx: CheckContext) -> list[Result]:
    v2 = _version(ctx, V2)
    if v2 is None or _current(ctx)["percents"].get(short(v2.name), 0) != 100:
        return [Result("promote.answers", False, "lab06.promote.answers.not_promoted")]
    wanted = answer_text(V2)
    replies = [_ask(ctx, URL)] + [_get(ctx, URL) for _ in range(PROMOTED_GETS - 1)]
    bad = next((r for r in replies if r != (200, wanted)), None)
    if bad is not None:
        return [Result("promote.answers", False, "lab06.promote.answers.wrong",
                       params={"url": URL, "found": service_urls.shown(bad), "expected": wanted})]
    return [Result("promote.answers", True, "lab06.promote.answers.ok",
                   params={"count": PROMOTED_GETS, "url": URL, "expected": wanted})]


@condition(points=1)
def promote_v1_kept(ctx: CheckContext) -> list[Result]:
    """v1 is still there after the promotion: going back is one update-traffic."""
    v1, v2 = _version(ctx, V1), _version(ctx, V2)
    if v2 is None or _current(ctx)["percents"].get(short(v2.name), 0) != 100:
        return [Result("promote.v1_kept", False, "lab06.promote.v1_kept.not_promoted")]
    ok = v1 is not None and not v1.delete_time and _ready(v1)[0]
    return [Result("promote.v1_kept", ok, "lab06.promote.v1_kept.ok" if ok else "lab06.promote.v1_kept.gone",
                   params={"value": V1, "revision": short(v1.name) if v1 is not None else "-"})]


LAB = Lab(id="lab06", steps=[
    Step("deploy", "lab06.step.deploy", [deploy_exists, deploy_image, deploy_env, deploy_ready, deploy_answers]),
    Step("url", "lab06.step.url", [url_answer, url_public, url_unauthenticated]),
    Step("no_traffic", "lab06.step.no_traffic", [v2_revision, v2_no_traffic, v2_tag, v2_tag_answers]),
    Step("canary", "lab06.step.canary", [canary_traffic, canary_split], hidden=[canary_answered]),
    Step("promote", "lab06.step.promote", [promote_traffic, promote_answers], hidden=[promote_v1_kept]),
])
