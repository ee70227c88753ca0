"""The App Runner tests' cloud: the real gateway (labkit/cloud/gateway.py, the WSGI app the cloud
process serves) run in this process by werkzeug on a free 127.0.0.1 port, with the app runtime
(app_runtime.py: containers that serve the lesson's app over real HTTP) as its `state.runtime`.
boto3 and the AWS CLI reach it over HTTP exactly as they reach `python -m labkit.cloud.server`, and
the service URL is reached as a student's kernel reaches it: the cloud's port with `Host: <ServiceUrl>`.
"""
from __future__ import annotations

import pytest

from labkit.checks.core import CheckContext
from labkit.cloud.aws.apprunner import deployer
from tests.cloud.apprunner.app_runtime import AppRuntime
from tests.cloud.helpers import ACCOUNT, REGION, ecr_push, make_image
from tests.cloud.local_cloud import AWS, LocalCloud, aws, cli_environment, error_of, wait_for  # noqa: F401

TOKEN = "apprunner-tests-token"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-app:latest"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/AppRunnerECRAccessRole"
START_TIMEOUT_S = 1.5  # how long a test waits for an app that never listens (the cloud's default: 20 s)


def lesson_source(image: str = IMAGE, provider: str = "AWS", port: str = "8080", role: str | None = ROLE) -> dict:
    """Section 9.3's --source-configuration."""
    source = {"ImageRepository": {"ImageIdentifier": image, "ImageRepositoryType": "ECR",
                                  "ImageConfiguration": {"Port": port,
                                                         "RuntimeEnvironmentVariables": {"CLOUD_PROVIDER": provider}}}}
    if role is not None:
        source["AuthenticationConfiguration"] = {"AccessRoleArn": role}
    return source


@pytest.fixture(scope="session")
def apprunner_cloud(tmp_path_factory):
    cloud = LocalCloud(tmp_path_factory.mktemp("apprunner-cloud"), TOKEN, runtime=AppRuntime())
    cloud.gateway.warm_up()  # moto (Logs) imported once, not inside a test's timing
    yield cloud
    cloud.stop()


@pytest.fixture
def cloud(apprunner_cloud, monkeypatch):
    monkeypatch.setattr(deployer, "START_TIMEOUT_S", START_TIMEOUT_S)
    apprunner_cloud.reset()
    return apprunner_cloud


@pytest.fixture(scope="session")
def _clients(apprunner_cloud, tmp_path_factory):
    ctx = CheckContext(endpoint=apprunner_cloud.endpoint, home=tmp_path_factory.mktemp("apprunner-clients"))
    return ctx.client


@pytest.fixture
def apprunner(cloud, _clients):
    return _clients("apprunner")


@pytest.fixture
def logs(cloud, _clients):
    return _clients("logs")


@pytest.fixture
def ecr(cloud, _clients):
    return _clients("ecr")


@pytest.fixture
def pushed_image(ecr):
    """my-app:latest pushed to this cloud's ECR, as lab 02 leaves it."""
    ecr.create_repository(repositoryName="my-app")
    image = make_image("hello from my-app")
    ecr_push(ecr, "my-app", image, tag="latest")
    return image


@pytest.fixture
def cli_env(cloud, tmp_path):
    """Environment for the AWS CLI pointed at this cloud, as `labkit env` leaves a terminal."""
    return cli_environment(cloud.port, tmp_path)


def settled(apprunner, arn: str, timeout: float = 10.0) -> dict:
    """The service once no operation runs on it."""
    def done():
        service = apprunner.describe_service(ServiceArn=arn)["Service"]
        return service if service["Status"] != "OPERATION_IN_PROGRESS" else None
    return wait_for(done, timeout, "the operation to end")


def log_lines(logs, group: str, stream: str | None = None) -> list[str]:
    """Every message of the group (or one stream of it); [] while it does not exist yet."""
    try:
        streams = [stream] if stream else [s["logStreamName"] for s in
                                           logs.describe_log_streams(logGroupName=group)["logStreams"]]
        return [e["message"] for name in streams for e in
                logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True)["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []
