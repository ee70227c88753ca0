"""What the deployer hands the runtime and how it judges a start (labkit/cloud/gcp/run/deployer.py), with
the App Runner tests' app runtime (containers that serve over real HTTP on 8080, or never listen) in an
in-process cloud: fast, no image run."""
from __future__ import annotations

import pytest
from google.cloud import run_v2

from labkit.cloud.gcp.run import deployer, models
from labkit.cloud.runtime.spec import ImageFiles
from tests.cloud.apprunner.app_runtime import AppRuntime
from tests.cloud.local_cloud import LocalCloud, wait_for

PARENT = "projects/labkit-project/locations/asia-northeast3"
IMAGE = "asia-northeast3-docker.pkg.dev/labkit-project/my-repo/my-app:v1"
Reason = run_v2.Condition.RevisionReason


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    cloud = LocalCloud(tmp_path_factory.mktemp("cloudrun-deployer"), "cloudrun-deployer-token", runtime=AppRuntime())
    yield cloud
    cloud.stop()


@pytest.fixture
def backend(cloud, monkeypatch):
    cloud.reset()
    monkeypatch.setattr(deployer, "image_files", lambda state, image: ImageFiles("sha256:" + "0" * 64, {}, []))
    backend = models.backend(cloud.state)
    backend.deployer.start_timeout_s = 0.5
    return backend


def deploy(backend, name: str, container: run_v2.Container) -> models.Revision:
    service = backend.create_service(PARENT, name, run_v2.Service(template=run_v2.RevisionTemplate(
        containers=[container])))
    revision = service.revisions[service.latest_created]
    wait_for(lambda: revision.settled, 10, "the revision to settle")
    return revision


def test_the_container_gets_cloud_runs_environment_and_command(backend, cloud):
    container = run_v2.Container(image=IMAGE, command=["python"], args=["app.py", "--fast"],
                                 env=[run_v2.EnvVar(name="CLOUD_PROVIDER", value="GCP")])
    revision = deploy(backend, "env", container)
    assert revision.is_ready and revision.instance.container.state == "running"
    spec = cloud.runtime.started[-1]
    assert spec.environment == {"CLOUD_PROVIDER": "GCP", "PORT": "8080", "K_SERVICE": "env",
                                "K_REVISION": revision.name, "K_CONFIGURATION": "env"}
    assert (spec.entrypoint, spec.command, spec.ports) == (["python"], ["app.py", "--fast"], [8080])
    assert cloud.get("env-123456789012.asia-northeast3.run.app")[0] == 403  # private: the container is not reached
    assert cloud.runtime.started[-1].name.startswith(f"cloudrun/env/{revision.name}/")


def test_an_app_that_never_listens_fails_after_the_startup_timeout(backend, cloud):
    cloud.runtime.behaviour = lambda spec: "silent"
    revision = deploy(backend, "silent", run_v2.Container(image=IMAGE))
    assert revision.ready.state == models.State.CONDITION_FAILED
    assert revision.ready.message.startswith("The user-provided container failed to start and listen on the port "
                                             "defined provided by the PORT=8080 environment variable within the "
                                             "allocated timeout.")
    assert revision.ready.revision_reason == Reason.HEALTH_CHECK_CONTAINER_ERROR
    assert revision.instance is None and cloud.runtime.running() == []  # the container that never answered stopped


def test_a_port_of_the_templates_own_is_the_containers_port(backend, cloud):
    container = run_v2.Container(image=IMAGE, ports=[run_v2.ContainerPort(container_port=9000)])
    revision = deploy(backend, "port", container)  # the test app listens on 8080 only: nothing on 9000
    assert cloud.runtime.started[-1].environment["PORT"] == "9000" and cloud.runtime.started[-1].ports == [9000]
    assert "PORT=9000" in revision.ready.message
