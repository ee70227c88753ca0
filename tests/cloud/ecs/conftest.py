"""The ECS tests' cloud: the real gateway (labkit/cloud/gateway.py, the same WSGI app the cloud process
serves) run in this process by werkzeug on a free 127.0.0.1 port, with the fake runtime as its
`state.runtime`, so a test can make containers run, log and exit. boto3 and the AWS CLI reach it
over HTTP exactly as they reach `python -m labkit.cloud.server`.

Test-only: the cloud process itself never takes a fake runtime.
"""
from __future__ import annotations

import pytest

from labkit.checks.core import CheckContext
from tests.cloud.ecs.fake_runtime import FakeRuntime
from tests.cloud.helpers import ACCOUNT, REGION, ecr_push, make_image
from tests.cloud.local_cloud import AWS, LocalCloud, aws, cli_environment, error_of, install_runtime, wait_for  # noqa: F401

TOKEN = "ecs-tests-token"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-app:latest"


@pytest.fixture(scope="session")
def ecs_cloud(tmp_path_factory):
    cloud = LocalCloud(tmp_path_factory.mktemp("ecs-cloud"), TOKEN, runtime=FakeRuntime())
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
    return cli_environment(cloud.port, tmp_path)


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
