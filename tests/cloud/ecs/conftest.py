"""The ECS tests' cloud: the real gateway (labkit/cloud/gateway.py, the same WSGI app the cloud process
serves) run in this process by werkzeug on a free 127.0.0.1 port, with the fake runtime as its
`state.runtime`, so a test can make containers run, log and exit. boto3 and the AWS CLI reach it
over HTTP exactly as they reach `python -m labkit.cloud.server`.

Test-only: the cloud process itself never takes a fake runtime.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from labkit.checks.core import CheckContext
from labkit.cloud.gateway import Gateway
from tests.cloud.ecs.fake_runtime import FakeRuntime
from tests.cloud.helpers import ACCOUNT, REGION, ecr_push, make_image

TOKEN = "ecs-tests-token"
AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-app:latest"


def install_runtime(state, runtime) -> None:
    """Make `runtime` the cloud's `state.runtime` (CloudState makes a real one lazily, only when none is set)."""
    if isinstance(getattr(type(state), "runtime", None), property):
        state._runtime = runtime
    else:
        state.runtime = runtime


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # one line per request would bury the test output
        pass


class LocalCloud:
    def __init__(self, home: Path):
        self.gateway = Gateway(home=str(home), control_token=TOKEN)
        self.runtime = FakeRuntime()
        install_runtime(self.gateway.state, self.runtime)
        self.server = make_server("127.0.0.1", 0, self.gateway, threaded=True, request_handler=_Quiet)
        self.port = self.server.server_port
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def state(self):
        return self.gateway.state

    def reset(self) -> None:
        import requests

        assert requests.post(self.endpoint + "/_labkit/reset", headers={"X-Labkit-Token": TOKEN},
                             timeout=30).ok
        self.runtime.reset()

    def stop(self) -> None:
        self.server.shutdown()
        self.runtime.reset()


@pytest.fixture(scope="session")
def ecs_cloud(tmp_path_factory):
    cloud = LocalCloud(tmp_path_factory.mktemp("ecs-cloud"))
    cloud.gateway.warm_up()  # moto (Logs) imported once, not inside the first test's timing
    yield cloud
    cloud.stop()


@pytest.fixture
def cloud(ecs_cloud):
    ecs_cloud.reset()
    return ecs_cloud


@pytest.fixture(scope="session")
def _clients(ecs_cloud, tmp_path_factory):
    ctx = CheckContext(endpoint=ecs_cloud.endpoint, home=tmp_path_factory.mktemp("ecs-clients"))
    return ctx.client


@pytest.fixture
def ecs(cloud, _clients):
    return _clients("ecs")


@pytest.fixture
def logs(cloud, _clients):
    return _clients("logs")


@pytest.fixture
def servicediscovery(cloud, _clients):
    return _clients("servicediscovery")


@pytest.fixture
def pushed_image(cloud, _clients):
    """my-app:latest pushed to this cloud's ECR, as lab 02 leaves it."""
    ecr = _clients("ecr")
    ecr.create_repository(repositoryName="my-app")
    image = make_image("hello from my-app")
    ecr_push(ecr, "my-app", image, tag="latest")
    return image


@pytest.fixture
def cli_env(cloud, tmp_path):
    """Environment for the AWS CLI pointed at this cloud."""
    if AWS is None:
        pytest.skip("the aws CLI is not installed")
    from labkit import env as cloud_env_module
    from labkit.config import Settings

    settings = Settings(home=tmp_path / "labkit-home", aws_port=cloud.port, managed=True)
    env = dict(os.environ)
    cloud_env_module.apply(cloud_env_module.cloud_environment(settings), env)
    env["HOME"] = str(tmp_path)
    return env


def aws(env: dict, *args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([AWS, *args], env=env, capture_output=True, text=True, timeout=60, cwd=cwd)


def wait_for(condition, timeout: float = 5.0, what: str = "condition"):
    """Poll until condition() is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def lesson(ecs, logs, pushed_image):
    """The lesson's state before `create-service`: my-cluster (FARGATE, FARGATE_SPOT), my-task:1, the
    pushed my-app:latest and the awslogs group (which Fargate needs to exist)."""
    from tests.cloud.ecs.lesson import TASK_DEFINITION

    ecs.create_cluster(clusterName="my-cluster", capacityProviders=["FARGATE", "FARGATE_SPOT"])
    ecs.register_task_definition(**TASK_DEFINITION)
    logs.create_log_group(logGroupName="/ecs/my-task")
    return pushed_image


def service_of(ecs, name: str = "my-service", cluster: str = "my-cluster") -> dict:
    return ecs.describe_services(cluster=cluster, services=[name])["services"][0]


def task_of(ecs, task: str, cluster: str = "my-cluster") -> dict:
    return ecs.describe_tasks(cluster=cluster, tasks=[task])["tasks"][0]


def steady(ecs, name: str = "my-service", count: int | None = None, timeout: float = 5.0) -> dict:
    """Wait until the service runs its desired count with one COMPLETED deployment."""
    def done():
        service = service_of(ecs, name)
        want = service["desiredCount"] if count is None else count
        return service if (service["runningCount"] == want and len(service["deployments"]) == 1
                           and service["deployments"][0]["rolloutState"] == "COMPLETED") else None
    return wait_for(done, timeout, f"{name} to reach a steady state")


def error_of(excinfo) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]
