"""App Runner on the real runtime, as a student meets it: a real cloud process (`python -m
labkit.cloud.server`), the lesson's Flask app (section 9.1) built and pushed with `labkit docker`, the
lesson's `aws apprunner create-service` (section 9.3) unchanged. The service URL answers `Hello from
AWS!` through the cloud's port (Host: <ServiceUrl>), Flask's output is in the application log group,
an update to CLOUD_PROVIDER=AWS-v2 takes over, an update to a port the app does not listen on rolls
back with v2 still serving, pause stops the container and resume starts it, delete and the cloud's
shutdown leave no container process; an image never pushed ends CREATE_FAILED."""
from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

import pytest
import requests

from labkit.cloud.process import start_cloud
from tests.cloud.local_cloud import Terminal, processes_marked
from tests.cloud.apprunner.conftest import AWS, wait_for
from tests.cloud.apprunner.test_cli import LESSON_SOURCE
from tests.docker.conftest import LESSON_APP, LESSON_DOCKERFILE, LESSON_REQUIREMENTS, write_files

ECR_HOST = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"
IMAGE = f"{ECR_HOST}/my-app:latest"

pytestmark = pytest.mark.skipif(AWS is None, reason="the aws CLI is not installed")


def marked(marker: str) -> list[int]:
    return processes_marked("APPRUNNER_TEST_MARKER", marker)


class Student(Terminal):
    """The terminal, plus what the App Runner tests ask of a service."""

    def get(self, url: str) -> tuple[int, str] | None:
        """GET http://<ServiceUrl>/ the way the student's kernel sends it (labkit/net.py): the cloud's port, by Host."""
        try:
            answer = requests.get(f"http://127.0.0.1:{self.cloud.port}/", headers={"Host": url}, timeout=5)
        except requests.RequestException:
            return None
        return answer.status_code, answer.text

    def status(self, arn: str) -> str:
        return self.aws("apprunner", "describe-service", "--service-arn", arn)["Service"]["Status"]

    def settle(self, arn: str, timeout: float = 60) -> str:
        return wait_for(lambda: (lambda s: s if s != "OPERATION_IN_PROGRESS" else None)(self.status(arn)), timeout,
                        "the operation to end")


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    root = tmp_path_factory.mktemp("apprunner-on-runtime")
    # a deployment whose app does not answer fails after 5 s instead of the cloud's 20 (the rollback below)
    cloud = start_cloud(root / "cloud-home", extra_env={"LABKIT_APPRUNNER_START_TIMEOUT": "5"})
    try:
        you = Student(cloud, root / "student")
        app = write_files(root / "app", {"Dockerfile": LESSON_DOCKERFILE, "app.py": LESSON_APP,
                                         "requirements.txt": LESSON_REQUIREMENTS})
        you.aws("ecr", "create-repository", "--repository-name", "my-app")
        password = you.run(AWS, "ecr", "get-login-password").stdout
        you.labkit("docker", "build", "-t", "my-app", ".", cwd=app)
        you.labkit("docker", "tag", "my-app:latest", IMAGE)
        you.labkit("docker", "login", "--username", "AWS", "--password-stdin", ECR_HOST, stdin=password)
        you.labkit("docker", "push", IMAGE)
        yield you
    finally:
        if cloud.healthy():
            cloud.stop()


def _source(marker: str, provider: str = "AWS", port: str = "8080") -> str:
    source = json.loads(LESSON_SOURCE)
    config = source["ImageRepository"]["ImageConfiguration"]
    config["Port"] = port
    config["RuntimeEnvironmentVariables"] = {"CLOUD_PROVIDER": provider, "APPRUNNER_TEST_MARKER": marker}
    return json.dumps(source)


def test_the_lessons_service_answers_updates_pauses_and_goes(student):
    # the lesson's command, exactly
    started = time.monotonic()
    created = student.aws("apprunner", "create-service", "--service-name", "my-app", "--source-configuration",
                          LESSON_SOURCE)["Service"]
    url, arn = created["ServiceUrl"], created["ServiceArn"]
    assert wait_for(lambda: student.get(url) == (200, "Hello from AWS!"), 60, "the lesson's app to answer")
    print(f"create-service -> first Hello: {time.monotonic() - started:.2f} s (with the CLI's own start-up)")
    assert student.status(arn) == "RUNNING"

    group = f"/aws/apprunner/my-app/{created['ServiceId']}/application"

    def flask_lines():
        streams = student.aws("logs", "describe-log-streams", "--log-group-name", group)["logStreams"]
        text = "\n".join(e["message"] for s in streams for e in student.aws(
            "logs", "get-log-events", "--log-group-name", group, "--log-stream-name", s["logStreamName"])["events"])
        return text if "Running on" in text and "GET / HTTP/1.1" in text else None
    assert "8080" in wait_for(flask_lines, 30, "Flask's output in the application log group")

    # update to v2 (a marked environment, so its processes can be found)
    marker = uuid.uuid4().hex
    student.aws("apprunner", "update-service", "--service-arn", arn, "--source-configuration",
                _source(marker, "AWS-v2"))
    assert student.settle(arn) == "RUNNING"
    assert student.get(url) == (200, "Hello from AWS-v2!")
    assert marked(marker)

    # a port the app does not listen on: the deployment fails its health check and rolls back
    student.aws("apprunner", "update-service", "--service-arn", arn, "--source-configuration",
                _source(uuid.uuid4().hex, "AWS-v3", port="80"))
    assert student.settle(arn, timeout=90) == "RUNNING"
    ops = student.aws("apprunner", "list-operations", "--service-arn", arn)["OperationSummaryList"]
    assert (ops[0]["Type"], ops[0]["Status"]) == ("UPDATE_SERVICE", "ROLLBACK_SUCCEEDED")
    assert student.get(url) == (200, "Hello from AWS-v2!")

    student.aws("apprunner", "pause-service", "--service-arn", arn)
    assert student.settle(arn) == "PAUSED"
    assert student.get(url) == (404, "404 Not Found\n")
    wait_for(lambda: not marked(marker), 30, "the paused service's container to end")
    student.aws("apprunner", "resume-service", "--service-arn", arn)
    assert student.settle(arn) == "RUNNING"
    assert student.get(url) == (200, "Hello from AWS-v2!")
    student.aws("apprunner", "delete-service", "--service-arn", arn)
    assert student.settle(arn) == "DELETED"
    wait_for(lambda: not marked(marker), 30, "the deleted service's container to end")


def test_an_image_never_pushed_ends_create_failed(student):
    source = LESSON_SOURCE.replace("my-app:latest", "my-app:never-pushed")
    arn = student.aws("apprunner", "create-service", "--service-name", "never-pushed", "--source-configuration",
                      source)["Service"]["ServiceArn"]
    assert student.settle(arn) == "CREATE_FAILED"


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find the processes")
def test_the_clouds_shutdown_leaves_no_container_process(student, tmp_path):
    marker = uuid.uuid4().hex
    arn = student.aws("apprunner", "create-service", "--service-name", "last-app", "--source-configuration",
                      _source(marker))["Service"]["ServiceArn"]
    assert student.settle(arn) == "RUNNING" and marked(marker)
    student.cloud.stop()
    wait_for(lambda: not marked(marker), 15, "no container process left after the cloud's shutdown")
    shutil.rmtree(tmp_path, ignore_errors=True)
