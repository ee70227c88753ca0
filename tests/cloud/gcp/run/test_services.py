"""Cloud Run through the official client (google-cloud-run, gRPC as its default and REST) on a real
cloud process: the service's operation, its URL answering with the revision's container, the
traffic split and tags through the seeded router, IAM's 403, and Cloud Run's refusals as the
google-api-core exceptions real code catches."""
from __future__ import annotations

from pathlib import Path

import pytest
from google.api_core import exceptions
from google.cloud import run_v2
from google.protobuf import field_mask_pb2

from labkit import gcp
from tests.cloud.gcp.run.conftest import PARENT, get, make_public, push_app, service_of, wait_for

LATEST = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
READY = run_v2.Condition.State.CONDITION_SUCCEEDED


def short(name: str) -> str:
    return name.rsplit("/", 1)[1]


def deploy_v2(services, service: run_v2.Service, image: str, traffic) -> run_v2.Service:
    """A new revision (TEXT=v2) with `traffic` (a list of TrafficTarget), as gcloud's --no-traffic deploy."""
    service.template = service_of(image, "v2").template
    del service.traffic[:]
    service.traffic.extend(traffic)
    return services.update_service(service=service).result(timeout=30)


def test_create_service_result_is_ready_and_its_url_answers(services, run_cloud, image):
    op = services.create_service(parent=PARENT, service_id="hello", service=service_of(image))
    service = op.result(timeout=30)
    assert service.uri == "https://hello-123456789012.asia-northeast3.run.app"
    assert short(service.latest_ready_revision).startswith("hello-00001-")
    assert service.latest_ready_revision == service.latest_created_revision
    assert [(t.type_, t.percent) for t in service.traffic_statuses] == [(LATEST, 100)]
    assert service.terminal_condition.type_ == "Ready" and service.terminal_condition.state == READY
    assert op.metadata.name == f"{PARENT}/services/hello" and op.metadata.latest_ready_revision  # as it ended
    assert get(run_cloud, service.uri).status_code == 403  # not public yet (no --allow-unauthenticated)
    make_public(services, service.name)
    answer = get(run_cloud, service.uri)
    assert (answer.status_code, answer.text) == (200, "Hello from GCP!")
    assert get(run_cloud, service.urls[1]).text == "Hello from GCP!"  # the hash-based URL answers too
    again = services.get_service(name=service.name)
    assert again.latest_ready_revision == service.latest_ready_revision and again.etag == service.etag


def test_403_is_googles_page_without_allusers_invoker(services, run_cloud, image):
    service = services.create_service(parent=PARENT, service_id="private", service=service_of(image)).result(30)
    answer = get(run_cloud, service.uri, "/secret")
    assert answer.status_code == 403
    assert "<h1>Error: Forbidden</h1>" in answer.text
    assert "Your client does not have permission to get URL <code>/secret</code> from this server." in answer.text
    policy = services.get_iam_policy(request={"resource": service.name})
    assert not policy.bindings
    held = services.test_iam_permissions(request={"resource": service.name, "permissions": ["run.routes.invoke"]})
    assert list(held.permissions) == ["run.routes.invoke"]


def test_a_10_90_canary_over_1000_requests_and_tag_urls(services, run_cloud, image):
    v1 = services.create_service(parent=PARENT, service_id="canary", service=service_of(image, "v1")).result(30)
    make_public(services, v1.name)
    first = short(v1.latest_ready_revision)
    current = services.get_service(name=v1.name)
    pinned = [run_v2.TrafficTarget(type_=REVISION, revision=first, percent=100)]
    v2 = deploy_v2(services, current, image, pinned)  # --no-traffic
    second = short(v2.latest_created_revision)
    assert second.startswith("canary-00002-") and short(v2.latest_ready_revision) == second
    assert [(t.revision, t.percent) for t in v2.traffic_statuses] == [(first, 100)]
    assert {get(run_cloud, v2.uri).text for _ in range(20)} == {"v1"}
    split = [run_v2.TrafficTarget(type_=REVISION, revision=second, percent=10, tag="green"),
             run_v2.TrafficTarget(type_=REVISION, revision=first, percent=90, tag="blue")]
    v2.traffic.clear()
    v2.traffic.extend(split)
    canary = services.update_service(service=v2).result(timeout=30)
    assert [(t.revision, t.percent, t.tag) for t in canary.traffic_statuses] == [(second, 10, "green"),
                                                                                  (first, 90, "blue")]
    counts = gcp.hit(canary.uri, 1000, endpoint=run_cloud.endpoint)  # what a notebook calls
    assert set(counts) == {"v1", "v2"} and 70 <= counts["v2"] <= 130, counts  # 10% ± 3 sd
    assert "| `v2` |" in counts._repr_markdown_() and 0.07 <= counts.share("v2") <= 0.13
    green = canary.traffic_statuses[0].uri
    assert green == "https://green---canary-123456789012.asia-northeast3.run.app"
    assert {get(run_cloud, green).text for _ in range(10)} == {"v2"}
    assert get(run_cloud, f"green---{canary.urls[1].split('://')[1]}").text == "v2"  # on the hash-based URL too
    assert get(run_cloud, canary.traffic_statuses[1].uri).text == "v1"
    canary.traffic.clear()
    canary.traffic.append(run_v2.TrafficTarget(type_=LATEST, percent=100))  # promote
    promoted = services.update_service(service=canary).result(timeout=30)
    assert [(t.type_, t.revision, t.percent) for t in promoted.traffic_statuses] == [(LATEST, second, 100)]
    assert {get(run_cloud, promoted.uri).text for _ in range(20)} == {"v2"}
    assert get(run_cloud, green).status_code == 404  # the tag is gone with the old traffic


def test_refusals_raise_the_google_api_core_classes(services, image):
    service = services.create_service(parent=PARENT, service_id="strict", service=service_of(image)).result(30)
    with pytest.raises(exceptions.AlreadyExists, match="Resource 'strict' already exists."):
        services.create_service(parent=PARENT, service_id="strict", service=service_of(image))
    with pytest.raises(exceptions.NotFound, match="Resource 'nope' of kind 'SERVICE' in region 'asia-northeast3'"):
        services.get_service(name=f"{PARENT}/services/nope")
    with pytest.raises(exceptions.PermissionDenied) as denied:  # a project the caller cannot see
        services.get_service(name="projects/someone-else/locations/asia-northeast3/services/strict")
    assert denied.value.reason == "IAM_PERMISSION_DENIED" and "run.services.get" in denied.value.message
    service.traffic.clear()
    service.traffic.append(run_v2.TrafficTarget(type_=LATEST, percent=90))
    with pytest.raises(exceptions.InvalidArgument, match="Traffic targets sum to 90, want 100."):
        services.update_service(service=service)
    service.traffic.clear()
    service.traffic.extend([run_v2.TrafficTarget(type_=LATEST, percent=50, tag="x"),
                            run_v2.TrafficTarget(type_=LATEST, percent=50, tag="x")])
    with pytest.raises(exceptions.InvalidArgument, match='Multiple definitions for "x"'):
        services.update_service(service=service)
    service.traffic.clear()
    service.traffic.append(run_v2.TrafficTarget(type_=REVISION, revision="strict-00042-abc", percent=100))
    op = services.update_service(service=service)
    with pytest.raises(exceptions.InternalServerError, match="Revision 'strict-00042-abc' does not exist or is "
                                                             "deleted. Update all traffic to route to currently "
                                                             "available revisions."):
        op.result(timeout=30)
    still = services.get_service(name=service.name)
    assert [t.type_ for t in still.traffic_statuses] == [LATEST]  # the old traffic keeps serving
    assert still.terminal_condition.state == run_v2.Condition.State.CONDITION_FAILED


def test_a_container_that_exits_fails_its_revision_and_the_old_one_serves(services, revisions, run_cloud, image):
    crash = push_app(run_cloud.endpoint, "crash", "v1", app="import sys\nprint('ModuleNotFoundError: No module "
                                                            "named flask', file=sys.stderr)\nsys.exit(1)\n")
    service = services.create_service(parent=PARENT, service_id="fails", service=service_of(image)).result(30)
    make_public(services, service.name)
    service.template = service_of(crash).template
    with pytest.raises(exceptions.FailedPrecondition) as raised:
        services.update_service(service=service).result(timeout=30)
    assert "is not ready and cannot serve traffic. The user-provided container failed to start and listen on " \
           "the port defined provided by the PORT=8080 environment variable" in raised.value.message
    now = services.get_service(name=service.name)
    assert short(now.latest_created_revision).startswith("fails-00002-")
    assert now.latest_ready_revision == service.latest_ready_revision
    assert get(run_cloud, now.uri).text == "Hello from GCP!"
    failed = now.latest_created_revision
    ready = {c.type_: c for c in revisions.get_revision(name=failed).conditions}["Ready"]
    assert ready.state == run_v2.Condition.State.CONDITION_FAILED and "PORT=8080" in ready.message


def test_an_image_never_pushed_fails_and_the_url_answers_503(services, run_cloud):
    missing = "asia-northeast3-docker.pkg.dev/labkit-project/my-repo/never-pushed:v1"
    op = services.create_service(parent=PARENT, service_id="no-image", service=service_of(missing))
    with pytest.raises(exceptions.FailedPrecondition, match=r"Revision 'no-image-00001-\w+' is not ready and "
                                                            r"cannot serve traffic. Image '.*never-pushed:v1' not found"):
        op.result(timeout=30)
    make_public(services, f"{PARENT}/services/no-image")
    assert get(run_cloud, "https://no-image-123456789012.asia-northeast3.run.app").status_code == 503
    op = services.create_service(parent=PARENT, service_id="docker-hub", service=service_of("nginx:latest"))
    with pytest.raises(exceptions.FailedPrecondition, match=r"Image 'nginx:latest' not found. The labkit local "
                                                            r"cloud runs images from its own Artifact Registry"):
        op.result(timeout=30)


def test_revisions_list_get_delete_and_service_delete(services, revisions, run_cloud, image):
    service = services.create_service(parent=PARENT, service_id="tidy", service=service_of(image)).result(30)
    make_public(services, service.name)
    first = service.latest_ready_revision
    v2 = deploy_v2(services, service, image, [run_v2.TrafficTarget(type_=LATEST, percent=100)])
    listed = [r.name for r in revisions.list_revisions(parent=service.name)]
    assert listed == [v2.latest_ready_revision, first]
    revision = revisions.get_revision(name=first)
    assert revision.service == service.name and revision.containers[0].image == image
    assert {c.type_: c.state for c in revision.conditions}["Ready"] == READY
    with pytest.raises(exceptions.FailedPrecondition):
        revisions.delete_revision(name=v2.latest_ready_revision)
    assert revisions.delete_revision(name=first).result(timeout=30).name == first
    deleted = services.delete_service(name=service.name).result(timeout=30)
    assert deleted.delete_time
    with pytest.raises(exceptions.NotFound):
        services.get_service(name=service.name)
    answer = get(run_cloud, service.uri)
    assert answer.status_code == 404 and "<h1>Error: Page not found</h1>" in answer.text


def test_paging_and_update_mask(services, image):
    for index in range(3):
        services.create_service(parent=PARENT, service_id=f"page-{index}", service=service_of(image)).result(30)
    pager = services.list_services(request={"parent": PARENT, "page_size": 2})
    names = [short(s.name) for s in pager]
    assert {"page-0", "page-1", "page-2"} <= set(names) and len(names) == len(set(names))
    request = run_v2.UpdateServiceRequest(service=run_v2.Service(name=f"{PARENT}/services/page-0",
                                                                 description="only this"),
                                          update_mask=field_mask_pb2.FieldMask(paths=["description"]))
    updated = services.update_service(request=request).result(timeout=30)
    assert updated.description == "only this" and short(updated.latest_created_revision).startswith("page-0-00001-")


def test_rest_transport_reads_the_same_service(rest_services, run_cloud, image):
    op = rest_services.create_service(parent=PARENT, service_id="over-rest", service=service_of(image, "rest"))
    service = op.result(timeout=30)
    assert service.uri == "https://over-rest-123456789012.asia-northeast3.run.app"
    assert [t.percent for t in service.traffic_statuses] == [100]
    make_public(rest_services, service.name)
    assert get(run_cloud, service.uri).text == "rest"
    with pytest.raises(exceptions.Conflict):  # REST: the class comes from the HTTP status (409)
        rest_services.create_service(parent=PARENT, service_id="over-rest", service=service_of(image))
    with pytest.raises(exceptions.NotFound):
        rest_services.get_service(name=f"{PARENT}/services/missing")
    assert [short(s.name) for s in rest_services.list_services(parent=PARENT)].count("over-rest") == 1
    service.traffic.clear()
    service.traffic.append(run_v2.TrafficTarget(type_=LATEST, percent=50))
    with pytest.raises(exceptions.BadRequest, match="Traffic targets sum to 50, want 100."):  # 400 over REST
        rest_services.update_service(service=service)
    updated = deploy_v2(rest_services, service, image, [run_v2.TrafficTarget(type_=LATEST, percent=100)])
    assert short(updated.latest_ready_revision).startswith("over-rest-00002-")
    assert get(run_cloud, updated.uri).text == "v2"


def test_rest_iam_policy_and_operations_are_cloud_runs_own(rest_services, run_cloud, image):
    """`...services/*}:getIamPolicy` is not GetService of `NAME:getIamPolicy`, and Cloud Run's operations list
    holds no Artifact Registry operation, though one store keeps both (labkit/cloud/gcp/rest.py, operations.py)."""
    from google.cloud import artifactregistry_v1 as ar
    from google.longrunning import operations_pb2

    service = rest_services.create_service(parent=PARENT, service_id="iam-rest", service=service_of(image)).result(30)
    assert not rest_services.get_iam_policy(request={"resource": service.name}).bindings
    make_public(rest_services, service.name)
    policy = rest_services.get_iam_policy(request={"resource": service.name})
    assert [(b.role, list(b.members)) for b in policy.bindings] == [("roles/run.invoker", ["allUsers"])]
    registry = gcp.artifact_registry_client(transport="rest", endpoint=run_cloud.endpoint)
    registry.create_repository(parent=PARENT, repository_id="ops-elsewhere",
                               repository=ar.Repository(format_=ar.Repository.Format.DOCKER)).result(timeout=10)
    listed = rest_services.list_operations(operations_pb2.ListOperationsRequest(name=PARENT))
    assert listed.operations and all("/google.cloud.run.v2." in op.metadata.type_url
                                     for op in listed.operations)


def processes_of(service_id: str) -> list[int]:
    """The processes whose environment has K_SERVICE=service_id (its revisions' containers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"K_SERVICE={service_id}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_zz_reset_empties_cloud_run_and_its_urls(services, run_cloud, image):
    service = services.create_service(parent=PARENT, service_id="gone", service=service_of(image)).result(30)
    make_public(services, service.name)
    assert get(run_cloud, service.uri).status_code == 200
    assert processes_of("gone")
    run_cloud.control("reset")
    wait_for(lambda: not processes_of("gone"), 10, "the revision's container to stop")
    assert list(services.list_services(parent=PARENT)) == []
    answer = get(run_cloud, service.uri)
    assert answer.status_code == 404 and "nothing answers" in answer.text  # the route went with the service
