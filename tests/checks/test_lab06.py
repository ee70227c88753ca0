"""Lab 06's checks (Cloud Run) against states a student can really leave behind, made through the
official client on a real cloud process (a seeded router, the image pushed to the lab's Artifact
Registry: a small app answering $TEXT): an empty cloud; the lesson's path (v1 public, v2 with no
traffic and a tag, the 10/90 canary seen through 500 requests, the promotion), every condition
passing; a private service; a v2 deployed with all the traffic; a reversed canary never promoted.
The split is read from the request log (Cloud Logging entries.list). The notebook itself runs in
tests/notebooks and the grader's samples; here, what fails, with which message, never as the
checker's own problem."""
from __future__ import annotations

import pytest
from google.cloud import run_v2

from labkit import gcp
from labkit.checks import lab06
from labkit.checks.core import INFRA, CheckContext
from labkit.checks.registry import get_lab
from labkit.cloud.process import start_cloud
from labkit.messages import catalogue
from tests.cloud.gcp.run.conftest import cloud_env, make_public, push_app

LATEST = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
ANSWERED = {"cells": [{"cell_type": "code", "source": f'SERVICE_URL = "{lab06.URL}"\n'}]}


@pytest.fixture(scope="module")
def run_cloud(tmp_path_factory):
    cloud = start_cloud(tmp_path_factory.mktemp("lab06-cloud"), extra_env=cloud_env())
    yield cloud
    cloud.stop()


@pytest.fixture
def cloud(run_cloud):
    run_cloud.control("reset")
    return run_cloud


@pytest.fixture
def image(cloud) -> str:
    pushed = push_app(cloud.endpoint, image="my-app", tag="v1")
    assert pushed == lab06.IMAGE
    return pushed


@pytest.fixture
def services(cloud):
    return gcp.run_client(endpoint=cloud.endpoint)


def outcomes(cloud, notebook=ANSWERED) -> dict[str, tuple[bool, str, dict]]:
    ctx = CheckContext(endpoint=cloud.endpoint, home=cloud.home, notebook=notebook)
    results = get_lab("lab06").run(ctx, include_hidden=True)
    assert not [r for r in results if r.kind == INFRA], [(r.condition, r.params) for r in results if r.kind == INFRA]
    return {r.condition: (r.passed, r.key, r.params) for r in results}


def template(image: str, provider: str) -> run_v2.RevisionTemplate:
    env = [run_v2.EnvVar(name="CLOUD_PROVIDER", value=provider),
           run_v2.EnvVar(name="TEXT", value=f"Hello from {provider}!")]
    return run_v2.RevisionTemplate(containers=[run_v2.Container(image=image, env=env)])


def deploy_v1(services, image: str, public: bool = True) -> run_v2.Service:
    service = services.create_service(parent=lab06.PARENT, service_id="my-service",
                                      service=run_v2.Service(template=template(image, "GCP"))).result(timeout=60)
    if public:
        make_public(services, service.name)
    return service


def revision_names(service) -> str:
    return service.latest_ready_revision.rsplit("/", 1)[-1]


def set_traffic(services, service, *targets) -> run_v2.Service:
    service = services.get_service(name=service.name)
    del service.traffic[:]
    service.traffic.extend(targets)
    return services.update_service(service=service).result(timeout=60)


def deploy_v2(services, service, v1: str, no_traffic: bool = True) -> run_v2.Service:
    """gcloud's `deploy --tag=v2 [--no-traffic]`: the new template, the traffic as gcloud sends it."""
    service = services.get_service(name=service.name)
    service.template = template(service.template.containers[0].image, "GCP-v2")
    service.template.revision = "my-service-00002-abc"   # gcloud names a tagged revision on the client
    del service.traffic[:]
    if no_traffic:
        service.traffic.extend([run_v2.TrafficTarget(type_=REVISION, revision=v1, percent=100),
                                run_v2.TrafficTarget(type_=REVISION, revision="my-service-00002-abc", tag="v2")])
    else:
        service.traffic.extend([run_v2.TrafficTarget(type_=LATEST, percent=100),
                                run_v2.TrafficTarget(type_=REVISION, revision="my-service-00002-abc", tag="v2")])
    return services.update_service(service=service).result(timeout=60)


def canary(services, service, v1: str, v2: str, v1_percent: int, v2_percent: int) -> run_v2.Service:
    return set_traffic(services, service, run_v2.TrafficTarget(type_=REVISION, revision=v1, percent=v1_percent),
                       run_v2.TrafficTarget(type_=REVISION, revision=v2, percent=v2_percent),
                       run_v2.TrafficTarget(type_=REVISION, revision=v2, tag="v2"))


def test_an_empty_cloud_fails_every_condition_saying_what_to_do_first(cloud):
    found = outcomes(cloud, notebook={"cells": []})
    assert not any(passed for passed, _, _ in found.values())
    assert found["deploy.exists"][1] == "lab06.deploy.exists.missing"
    assert found["url.answer"][1] == "lab06.url.answer.missing"
    assert found["v2.revision"][1] == "lab06.v2.revision.no_service"
    assert found["canary.split"][1] == "lab06.canary.split.no_revisions"
    assert found["promote.traffic"][1] == "lab06.promote.traffic.no_revision"
    # every failure a student can meet says what to do (a hint), unless it only waits for an earlier one
    for passed, key, _ in found.values():
        assert passed or key.endswith(("no_service", "no_revision", "no_revisions", "not_promoted")) \
            or f"{key}.hint" in catalogue("en"), key


def test_the_lessons_path_passes_every_condition(cloud, image, services):
    service = deploy_v1(services, image)
    v1 = revision_names(service)
    found = outcomes(cloud)
    assert all(found[c][0] for c in ("deploy.exists", "deploy.image", "deploy.env", "deploy.ready", "deploy.answers",
                                     "url.answer", "url.public", "url.unauthenticated")), found
    assert found["deploy.answers"][2]["found"] == "Hello from GCP!"

    service = deploy_v2(services, service, v1)
    v2 = revision_names(service)
    assert v2 == "my-service-00002-abc"
    found = outcomes(cloud)
    assert all(found[c][0] for c in ("v2.revision", "v2.no_traffic", "v2.tag", "v2.tag_answers")), found
    assert found["canary.traffic"][1] == "lab06.canary.traffic.missing"
    assert found["promote.traffic"] == (False, "lab06.promote.traffic.not_yet",
                                         {"traffic": f"{v1} 100%"})

    canary(services, service, v1, v2, 90, 10)
    answers = gcp.hit(lab06.URL, n=500, endpoint=cloud.endpoint)
    assert 25 <= answers["Hello from GCP-v2!"] <= 80, answers   # the seeded router: about 10%
    gcp.hit(lab06.tag_url(), n=5, endpoint=cloud.endpoint)       # tag URLs are no part of the split
    found = outcomes(cloud)
    assert found["canary.traffic"] == (True, "lab06.canary.traffic.ok", {"v1": v1, "v2": v2})
    share = found["canary.split"]
    assert share[:2] == (True, "lab06.canary.split.ok") and 480 <= share[2]["count"] <= 505, share
    assert found["canary.answered"][0]

    set_traffic(services, service, run_v2.TrafficTarget(type_=LATEST, percent=100),
                run_v2.TrafficTarget(type_=REVISION, revision=v2, tag="v2"))
    gcp.hit(lab06.URL, n=50, endpoint=cloud.endpoint)
    found = outcomes(cloud)
    assert all(passed for passed, _, _ in found.values()), {k: v for k, v in found.items() if not v[0]}
    assert found["canary.split"][2]["count"] >= share[2]["count"]   # the promotion's requests are not in the window
    assert found["deploy.answers"][2]["found"] == "Hello from GCP-v2!"   # v1's URL condition accepts v2 now


def test_a_private_service_and_a_v2_that_took_all_the_traffic(cloud, image, services):
    service = deploy_v1(services, image, public=False)
    v1 = revision_names(service)
    found = outcomes(cloud, notebook={"cells": [{"cell_type": "code", "source": 'SERVICE_URL = "http://'
                                                 + lab06.URL.split("://")[1] + '"'}]})
    assert found["deploy.answers"][:2] == (False, "lab06.deploy.answers.forbidden")
    assert found["url.public"][:2] == (False, "lab06.url.public.private")
    assert found["url.unauthenticated"][:2] == (False, "lab06.url.unauthenticated.refused")
    assert "HTTP 403" in found["url.unauthenticated"][2]["found"]
    assert found["url.answer"][:2] == (False, "lab06.url.answer.http")

    make_public(services, service.name)
    deploy_v2(services, service, v1, no_traffic=False)
    found = outcomes(cloud)
    assert found["v2.revision"][0] and found["v2.tag"][0]
    assert found["v2.no_traffic"] == (False, "lab06.v2.no_traffic.took_traffic",
                                      {"revision": "my-service-00002-abc", "percent": 100})
    # v2 took over at once: it serves 100%, which is a promotion, but no canary was ever seen
    assert found["promote.traffic"][0]
    assert found["canary.traffic"][1] == "lab06.canary.traffic.missing"
    assert found["canary.split"] == (False, "lab06.canary.split.not_observed", {"count": 0, "minimum": 100})


def test_a_reversed_canary_never_promoted(cloud, image, services):
    service = deploy_v1(services, image)
    v1 = revision_names(service)
    service = deploy_v2(services, service, v1)
    canary(services, service, v1, "my-service-00002-abc", 10, 90)   # NEW=90,OLD=10
    gcp.hit(lab06.URL, n=300, endpoint=cloud.endpoint)
    found = outcomes(cloud, notebook={"cells": [{"cell_type": "code", "source": f'SERVICE_URL = "{lab06.tag_url()}"'}]})
    assert found["url.answer"][:2] == (False, "lab06.url.answer.tag")
    assert found["canary.traffic"] == (False, "lab06.canary.traffic.other", {"v1_percent": 10, "v2_percent": 90})
    passed, key, params = found["canary.split"]
    assert (passed, key) == (False, "lab06.canary.split.off") and float(params["share"]) > 75, params
    assert found["promote.traffic"] == (False, "lab06.promote.traffic.not_yet",
                                         {"traffic": f"{v1} 10%, my-service-00002-abc 90%"})
    assert found["promote.answers"][1] == "lab06.promote.answers.not_promoted"
    assert found["deploy.answers"][0]   # v1 or v2 answering both count while v2 takes a share


# -- the split, from request log entries ----------------------------------------------------------------------

def _entries(spec: list[tuple[float, str]], host: str = "my-service-123456789012.asia-northeast3.run.app"):
    return [{"time": t, "revision": r, "host": host, "status": 200} for t, r in spec]


def test_the_split_counts_the_requests_made_while_the_traffic_shared_both_revisions():
    before = [(i * 0.1, "r1") for i in range(30)]                            # v1 alone (steps 1-3)
    during = [(10 + i * 0.01, "r2" if i % 10 == 3 else "r1") for i in range(500)]
    after = [(20 + i * 0.01, "r2") for i in range(50)]                       # promoted
    tags = _entries([(15 + i * 0.01, "r2") for i in range(40)],
                    host="v2---my-service-123456789012.asia-northeast3.run.app")
    log = sorted(_entries(before + during + after) + tags, key=lambda e: e["time"])
    applied = [{"time": 0.0, "percents": {"r1": 100}}, {"time": 5.0, "percents": {"r1": 100, "r2": 0}},
               {"time": 9.5, "percents": {"r1": 90, "r2": 10}}, {"time": 19.0, "percents": {"r2": 100}}]
    periods = lab06.shared_periods(applied, "r1", "r2")
    assert periods == [(9.5, 19.0)]
    n1, n2, window = lab06.observed_split(log, "r1", "r2", periods)
    assert (n1, n2) == (450, 50) and len(window) == 500   # every canary request, none of the tag URL's
    still_on = lab06.shared_periods(applied[:3], "r1", "r2")   # never promoted: the canary lasts until now
    assert lab06.observed_split(log, "r1", "r2", still_on)[:2] == (450, 100)
    assert lab06.observed_split(log, "r1", "r2", [])[:2] == (0, 0)   # the traffic never shared them


@pytest.mark.parametrize("n,ok_share,bad_share", [(500, 0.155, 0.20), (200, 0.19, 0.30)])
def test_the_tolerance_accepts_chance_and_refuses_other_percents(n, ok_share, bad_share):
    assert abs(ok_share - 0.10) <= lab06.tolerance(n) < abs(bad_share - 0.10)


def test_rfc3339_times_with_0_to_9_fractional_digits():
    assert lab06.parse_time("2026-12-02T01:48:33Z") == 1796176113.0
    assert abs(lab06.parse_time("2026-12-02T01:48:33.555747840Z") - 1796176113.555748) < 1e-6
    assert lab06.parse_time("not a time") == 0.0
