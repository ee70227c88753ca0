"""Cloud Run's rules (labkit/cloud/gcp/run/models.py) without a runtime or a protocol: a fake clock and
ids, a deployer that only records, revisions settled by hand."""
from __future__ import annotations

import itertools
import random

import pytest
from google.cloud import run_v2
from google.iam.v1 import policy_pb2
from google.protobuf import field_mask_pb2

from labkit.cloud.gcp import errors
from labkit.cloud.gcp.run import models, router
from labkit.cloud.state import CloudState

PARENT = "projects/labkit-project/locations/asia-northeast3"
NAME = f"{PARENT}/services/my-service"
IMAGE = "asia-northeast3-docker.pkg.dev/labkit-project/my-repo/my-app:v1"
LATEST, REVISION = models.LATEST, models.BY_REVISION
OK, FAILED = models.State.CONDITION_SUCCEEDED, models.State.CONDITION_FAILED


class RecordingDeployer:
    def __init__(self):
        self.deployed: list[str] = []
        self.tag_hosts: list[str] = []
        self.removed: list[str] = []

    def opened(self, service):
        pass

    def deploy(self, service, revision):
        self.deployed.append(revision.name)

    def traffic_changed(self, service):
        self.tag_hosts = sorted(service.tag_host(t) for t in service.tags())

    def deleted(self, service):
        self.removed.append(service.name)

    def revision_deleted(self, revision):
        pass


class Op:
    def __init__(self):
        self.result = self.error = None

    def finish(self, message):
        self.result = message

    def fail(self, error):
        self.error = error


@pytest.fixture
def backend():
    counter = itertools.count()
    state = CloudState(clock=lambda: 1_780_000_000.0, ids=lambda: f"id-{next(counter)}")
    backend = models.backend(state)
    backend.deployer = RecordingDeployer()
    backend.random = random.Random(1)
    return backend


def template(image: str = IMAGE, revision: str = "", **env) -> run_v2.RevisionTemplate:
    return run_v2.RevisionTemplate(revision=revision, containers=[run_v2.Container(
        image=image, env=[run_v2.EnvVar(name=k, value=v) for k, v in env.items()])])


def create(backend, **kwargs) -> models.Service:
    return backend.create_service(PARENT, "my-service", run_v2.Service(template=template(**kwargs)))


def settle(backend, service, ok: bool = True, message: str = "") -> models.Revision:
    revision = service.revisions[service.latest_created]
    revision.ready.set(OK if ok else FAILED, backend.clock(), message)
    backend.settled(service, revision)
    return revision


def update(backend, service, traffic=None, **kwargs) -> Op:
    wanted = backend.service_proto(service)
    if kwargs:
        wanted.template = template(**kwargs)
    if traffic is not None:
        del wanted.traffic[:]
        wanted.traffic.extend(traffic)
    backend.update_service(wanted)
    op = Op()
    backend.wait(service, op)
    return op


def test_a_new_service_gets_revision_00001_and_100_percent_latest_once_ready(backend):
    service = create(backend)
    op = Op()
    backend.wait(service, op)
    (name,) = service.revisions
    assert name.startswith("my-service-00001-") and len(name.rsplit("-", 1)[1]) == 3
    assert backend.deployer.deployed == [name]
    assert op.result is None and op.error is None  # still reconciling: the revision is starting
    assert backend.service_proto(service).reconciling
    settle(backend, service)
    proto = op.result
    assert proto.uri == "https://my-service-123456789012.asia-northeast3.run.app"
    assert proto.urls[1].endswith("-du.a.run.app") and proto.urls[1].startswith("https://my-service-")
    assert proto.latest_ready_revision == proto.latest_created_revision == f"{NAME}/revisions/{name}"
    assert [(s.type_, s.revision, s.percent) for s in proto.traffic_statuses] == [(LATEST, name, 100)]
    assert proto.terminal_condition.type_ == "Ready" and proto.terminal_condition.state == OK
    assert {c.type_: c.state for c in proto.conditions} == {"RoutesReady": OK, "ConfigurationsReady": OK}
    assert proto.generation == proto.observed_generation == 1 and not proto.reconciling
    assert proto.create_time.timestamp() == 1_780_000_000 and proto.etag


def test_cloud_runs_defaults_are_filled_in(backend):
    proto = backend.service_proto(create(backend))
    container = proto.template.containers[0]
    assert container.ports[0].container_port == 8080 and container.startup_probe.tcp_socket.port == 8080
    assert proto.template.max_instance_request_concurrency == 80 and proto.template.timeout.seconds == 300
    assert proto.ingress == run_v2.IngressTraffic.INGRESS_TRAFFIC_ALL
    assert [(t.type_, t.percent) for t in proto.traffic] == [(LATEST, 100)]


def test_a_new_revision_only_when_the_template_changes(backend):
    service = create(backend)
    first = settle(backend, service).name
    op = update(backend, service, traffic=[run_v2.TrafficTarget(type_=LATEST, percent=100, tag="now")])
    assert list(service.revisions) == [first] and op.result is not None  # traffic only: no revision
    assert service.generation == 2
    update(backend, service, TEXT="v2")
    second = service.latest_created
    assert second.startswith("my-service-00003-") and list(service.revisions) == [first, second]
    assert backend.deployer.deployed == [first, second]


def test_a_10_90_split_is_applied_and_tags_get_urls(backend):
    service = create(backend)
    v1 = settle(backend, service).name
    update(backend, service, traffic=[run_v2.TrafficTarget(type_=REVISION, revision=v1, percent=100)], TEXT="v2")
    v2 = settle(backend, service).name
    op = update(backend, service, traffic=[run_v2.TrafficTarget(type_=REVISION, revision=v2, percent=10, tag="green"),
                                           run_v2.TrafficTarget(type_=REVISION, revision=v1, percent=90, tag="blue")])
    assert [(s.revision, s.percent, s.tag) for s in op.result.traffic_statuses] == [(v2, 10, "green"), (v1, 90, "blue")]
    assert op.result.traffic_statuses[0].uri == "https://green---my-service-123456789012.asia-northeast3.run.app"
    assert backend.deployer.tag_hosts == ["blue---my-service-123456789012.asia-northeast3.run.app",
                                          "green---my-service-123456789012.asia-northeast3.run.app"]
    picks = [router.choose(backend.random, [(t.revision, t.percent) for t in service.serving]) for _ in range(1000)]
    assert 70 <= picks.count(v2) <= 130  # 10% of 1,000 (binomial sd ≈ 9.5)


@pytest.mark.parametrize("traffic, message", [
    ([(LATEST, "", 90, "")], "Traffic targets sum to 90, want 100."),
    ([(LATEST, "", 50, "a"), (LATEST, "", 50, "a")], 'Multiple definitions for "a": service.traffic[0].tag, '
                                                     'service.traffic[1].tag'),
    ([(REVISION, "", 100, "")], "a revision name is required"),
    ([(LATEST, "", 101, "")], "101 is not between 0 and 100"),
    ([(LATEST, "", 100, "Bad_Tag")], "'Bad_Tag' is not a valid tag"),
])
def test_traffic_that_cloud_run_refuses_at_once(backend, traffic, message):
    service = create(backend)
    settle(backend, service)
    wanted = backend.service_proto(service)
    del wanted.traffic[:]
    wanted.traffic.extend(run_v2.TrafficTarget(type_=t, revision=r, percent=p, tag=g) for t, r, p, g in traffic)
    with pytest.raises(errors.InvalidArgument) as raised:
        backend.update_service(wanted)
    assert message in raised.value.message
    assert service.generation == 1  # nothing stored


def test_traffic_to_a_missing_revision_fails_the_operation_and_keeps_serving(backend):
    service = create(backend)
    v1 = settle(backend, service).name
    op = update(backend, service, traffic=[run_v2.TrafficTarget(type_=REVISION, revision="my-service-00009-zzz",
                                                                percent=100)])
    assert isinstance(op.error, errors.Internal)
    assert op.error.message == ("Revision 'my-service-00009-zzz' does not exist or is deleted. Update all traffic "
                                "to route to currently available revisions.")
    assert [t.revision for t in service.serving] == [v1]
    proto = backend.service_proto(service)
    assert proto.terminal_condition.state == FAILED and proto.observed_generation == 1


def test_a_revision_that_fails_keeps_the_old_one_serving(backend):
    service = create(backend)
    v1 = settle(backend, service).name
    op = update(backend, service, TEXT="broken")
    v2 = settle(backend, service, ok=False, message="The user-provided container failed to start ...").name
    assert isinstance(op.error, errors.FailedPrecondition)
    assert op.error.message.startswith(f"Revision '{v2}' is not ready and cannot serve traffic. The user-provided")
    proto = backend.service_proto(service)
    assert proto.latest_ready_revision.endswith(v1) and proto.latest_created_revision.endswith(v2)
    assert [s.revision for s in proto.traffic_statuses] == [v1]
    assert {c.type_: c.state for c in proto.conditions}["ConfigurationsReady"] == FAILED


def test_client_named_revisions_follow_cloud_runs_rules(backend):
    service = create(backend, revision="my-service-blue")
    assert list(service.revisions) == ["my-service-blue"]
    with pytest.raises(errors.InvalidArgument, match="must begin with the service's name"):
        update(backend, service, revision="blue", TEXT="x")
    with pytest.raises(errors.AlreadyExists, match="Revision named 'my-service-blue' with different configuration"):
        update(backend, service, revision="my-service-blue", TEXT="x")


def test_names_ids_and_projects(backend):
    with pytest.raises(errors.InvalidArgument, match="service_id"):
        backend.create_service(PARENT, "My_Service", run_v2.Service(template=template()))
    create(backend)
    with pytest.raises(errors.AlreadyExists, match="Resource 'my-service' already exists."):
        create(backend)
    with pytest.raises(errors.NotFound) as raised:
        backend.get_service(f"{PARENT}/services/nope")
    assert raised.value.message == ("Resource 'nope' of kind 'SERVICE' in region 'asia-northeast3' in project "
                                    "'labkit-project' does not exist.")
    with pytest.raises(errors.PermissionDenied, match="Permission 'run.services.get' denied"):
        backend.get_service("projects/someone-else/locations/asia-northeast3/services/my-service")
    assert backend.get_service("projects/123456789012/locations/asia-northeast3/services/my-service").name == \
        "my-service"
    with pytest.raises(errors.InvalidArgument, match="reserved env names were provided: PORT"):
        backend.create_service(PARENT, "other", run_v2.Service(template=template(PORT="9000")))


def test_update_mask_changes_only_its_fields(backend):
    service = create(backend)
    settle(backend, service)
    wanted = run_v2.Service(name=NAME, description="new words", template=template(TEXT="ignored"))
    backend.update_service(wanted, field_mask_pb2.FieldMask(paths=["description"]))
    assert service.spec.description == "new words" and len(service.revisions) == 1


def test_iam_policy_makes_the_service_public(backend):
    service = create(backend)
    assert not service.public and not backend.get_iam_policy(NAME).bindings
    policy = policy_pb2.Policy(bindings=[policy_pb2.Binding(role="roles/run.invoker", members=["allUsers"])])
    stored = backend.set_iam_policy(NAME, policy)
    assert service.public and stored.etag and list(backend.get_iam_policy(NAME).bindings[0].members) == ["allUsers"]
    stale = policy_pb2.Policy(etag=b"old-etag!", bindings=[])
    with pytest.raises(errors.Aborted):
        backend.set_iam_policy(NAME, stale)
    with pytest.raises(errors.InvalidArgument, match="Invalid principal: nobody"):
        backend.set_iam_policy(NAME, policy_pb2.Policy(bindings=[policy_pb2.Binding(role="roles/run.invoker",
                                                                                    members=["nobody"])]))
    held = backend.test_iam_permissions(NAME, ["run.services.get", "run.routes.invoke"])
    assert list(held.permissions) == ["run.services.get", "run.routes.invoke"]


def test_revisions_list_get_and_delete(backend):
    service = create(backend)
    v1 = settle(backend, service).name
    update(backend, service, TEXT="v2")
    v2 = settle(backend, service).name
    assert [r.name for r in backend.list_revisions(NAME)] == [v2, v1]  # newest first
    assert [r.name for r in backend.list_revisions(f"{PARENT}/services/-")] == [v2, v1]
    with pytest.raises(errors.FailedPrecondition, match="receiving traffic"):
        backend.delete_revision(f"{NAME}/revisions/{v2}")
    backend.delete_revision(f"{NAME}/revisions/{v1}")
    with pytest.raises(errors.NotFound, match=f"Resource '{v1}' of kind 'REVISION'"):
        backend.get_revision(f"{NAME}/revisions/{v1}")
    assert backend.revision_proto(service.revisions[v2]).service == NAME


def test_delete_removes_the_service(backend):
    service = create(backend)
    pending = Op()
    backend.wait(service, pending)
    deleted = backend.service_proto(backend.delete_service(NAME))
    assert deleted.delete_time.timestamp() == 1_780_000_000
    assert backend.list_services(PARENT) == [] and backend.deployer.removed == ["my-service"]
    assert isinstance(pending.error, errors.Aborted)  # the create still rolling out ends
    with pytest.raises(errors.NotFound):
        backend.get_service(NAME)


def test_deploy_with_no_traffic_and_a_tag_names_the_new_revision_in_the_same_request(backend):
    """gcloud run deploy --no-traffic --tag=green: the client names the revision (gcloud does, SERVICE-GGGGG-xyz)
    and puts the tag on it in the same update, the old revision keeping 100%."""
    service = create(backend)
    v1 = settle(backend, service).name
    op = update(backend, service, revision="my-service-00002-new", TEXT="v2",
                traffic=[run_v2.TrafficTarget(type_=REVISION, revision=v1, percent=100),
                         run_v2.TrafficTarget(type_=REVISION, revision="my-service-00002-new", percent=0, tag="green")])
    assert op.result is None  # waits for the new revision
    settle(backend, service)
    assert [(s.revision, s.percent, s.tag) for s in op.result.traffic_statuses] == [
        (v1, 100, ""), ("my-service-00002-new", 0, "green")]
    assert backend.deployer.tag_hosts == ["green---my-service-123456789012.asia-northeast3.run.app"]
