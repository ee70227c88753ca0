"""Scale to zero and cold starts on the real runtime, seen from inside the cloud (the revision's log and
its container): the cloud's gateway in this process (tests/cloud/local_cloud.py) with the real runtime,
the model driven directly (the protocol is test_services.py's), the URL reached over HTTP by Host."""
from __future__ import annotations

import time

import pytest
from google.cloud import run_v2
from google.iam.v1 import policy_pb2

from labkit.cloud.gcp.run import deployer, models
from tests.cloud.gcp.run.conftest import push_app
from tests.cloud.local_cloud import LocalCloud, wait_for

PARENT = "projects/labkit-project/locations/asia-northeast3"


class Op:
    result = error = None

    def finish(self, message):
        self.result = message

    def fail(self, error):
        self.error = error


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    cloud = LocalCloud(tmp_path_factory.mktemp("cloudrun-idle"), "cloudrun-idle-token")
    cloud.image = push_app(cloud.endpoint, "idle-app")
    yield cloud
    cloud.stop()
    cloud.state.stop_containers()


def log_texts(revision) -> list[str]:
    return [text for _, _, text in list(revision.log)]


def test_an_idle_revision_stops_and_the_next_request_starts_it(cloud):
    backend = models.backend(cloud.state)
    backend.deployer.idle_s = 0.5
    container = run_v2.Container(image=cloud.image, env=[run_v2.EnvVar(name="TEXT", value="cold or warm")])
    service = backend.create_service(PARENT, "idle", run_v2.Service(template=run_v2.RevisionTemplate(
        containers=[container])))
    op = Op()
    with backend.lock:
        backend.wait(service, op)
    wait_for(lambda: op.result or op.error, 20, "the service to be ready")
    assert op.error is None
    backend.set_iam_policy(service.full_name, policy_pb2.Policy(bindings=[
        policy_pb2.Binding(role="roles/run.invoker", members=["allUsers"])]))
    revision = service.revisions[service.latest_created]
    assert cloud.get(service.host) == (200, "cold or warm")
    first = revision.instance.container
    assert first.state == "running"

    wait_for(lambda: revision.instance is None, 10, "the idle instance to stop")
    wait_for(lambda: first.state == "exited", 10, "its container to exit")
    assert any(text.startswith("Instance stopped: no request for 0.5 s") for text in log_texts(revision))

    assert cloud.get(service.host) == (200, "cold or warm")  # a cold start: the request waits for it
    texts = log_texts(revision)
    assert texts.count(deployer.ROLLOUT) == 1 and texts.count(deployer.AUTOSCALING) == 1
    assert texts.index(deployer.AUTOSCALING) > texts.index(deployer.ROLLOUT)
    assert texts.count("listening on 8080") == 2  # the container's own output, once per start
    assert any(t.startswith("Default STARTUP TCP probe succeeded after") for t in texts)
    assert revision.instance.container is not first and revision.instance.container.state == "running"
    assert revision.served == 2 and [r.method for r in revision.requests] == ["GET", "GET"]  # the request log
    assert revision.requests[0].url == f"https://{service.host}/"


def test_min_instances_keep_one_running(cloud):
    backend = models.backend(cloud.state)
    backend.deployer.idle_s = 0.3
    template = run_v2.RevisionTemplate(containers=[run_v2.Container(image=cloud.image)],
                                       scaling=run_v2.RevisionScaling(min_instance_count=1))
    service = backend.create_service(PARENT, "warm", run_v2.Service(template=template))
    revision = service.revisions[service.latest_created]
    wait_for(lambda: revision.is_ready, 20, "the revision to be ready")
    instance = revision.instance
    time.sleep(1.2)  # four idle periods
    assert revision.instance is instance and instance.container.state == "running"
