"""ECS on the real runtime, as a student meets it: a real cloud process (`python -m labkit.cloud.server`),
the lesson's Flask app (section 9.1) built and pushed with `labkit docker`, the lesson's task definition
and service through the AWS CLI. With containerPort 8080 both tasks answer GET / on their own
address:8080; with the lesson's containerPort 80 the tasks run but port 80 does not answer (the app
listens on 8080: the lab's lesson). The app's output is in CloudWatch Logs, `labkit ecs exec` reads its
files, and a cloud killed with SIGKILL leaves no container process."""
from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from labkit.cloud.process import start_cloud
from tests.cloud.local_cloud import Terminal, processes_marked
from tests.cloud.ecs.conftest import AWS, wait_for
from tests.cloud.ecs.lesson import NETWORK_CLI, TASK_DEFINITION
from tests.docker.conftest import LESSON_APP, LESSON_DOCKERFILE, LESSON_REQUIREMENTS, write_files

ECR_HOST = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"
IMAGE = f"{ECR_HOST}/my-app:latest"

pytestmark = pytest.mark.skipif(AWS is None, reason="the aws CLI is not installed")


def marked(marker: str) -> list[int]:
    return processes_marked("ECS_TEST_MARKER", marker)


Student = Terminal


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    root = tmp_path_factory.mktemp("ecs-on-runtime")
    cloud = start_cloud(root / "cloud-home")
    try:
        you = Student(cloud, root / "student")
        you.cloud = cloud
        app = write_files(root / "app", {"Dockerfile": LESSON_DOCKERFILE, "app.py": LESSON_APP,
                                         "requirements.txt": LESSON_REQUIREMENTS})
        you.aws("ecr", "create-repository", "--repository-name", "my-app")
        password = you.run(AWS, "ecr", "get-login-password").stdout
        you.labkit("docker", "build", "-t", "my-app", ".", cwd=app)
        you.labkit("docker", "tag", "my-app:latest", IMAGE)
        you.labkit("docker", "login", "--username", "AWS", "--password-stdin", ECR_HOST, stdin=password)
        you.labkit("docker", "push", IMAGE)
        you.aws("ecs", "create-cluster", "--cluster-name", "my-cluster", "--capacity-providers", "FARGATE",
                "FARGATE_SPOT")
        you.aws("logs", "create-log-group", "--log-group-name", "/ecs/my-task")
        yield you
    finally:
        if cloud.healthy():
            cloud.stop()


def _register(student, tmp_path: Path, port: int, marker: str) -> str:
    doc = copy.deepcopy(TASK_DEFINITION)
    container = doc["containerDefinitions"][0]
    container["portMappings"][0]["containerPort"] = port
    container["environment"] = [{"name": "ECS_TEST_MARKER", "value": marker}]
    (tmp_path / "task-definition.json").write_text(json.dumps(doc, indent=4))
    td = student.aws("ecs", "register-task-definition", "--cli-input-json", "file://task-definition.json",
                     cwd=tmp_path)["taskDefinition"]
    return f"{td['family']}:{td['revision']}"


def _service(student, name: str, td: str) -> None:
    student.aws("ecs", "create-service", "--cluster", "my-cluster", "--service-name", name, "--task-definition", td,
                "--desired-count", "2", "--launch-type", "FARGATE", "--network-configuration", NETWORK_CLI,
                "--enable-execute-command")


def _running_tasks(student, name: str, timeout: float = 60) -> list[dict]:
    def ready():
        service = student.aws("ecs", "describe-services", "--cluster", "my-cluster", "--services", name)["services"][0]
        if service["runningCount"] != 2:
            return None
        arns = student.aws("ecs", "list-tasks", "--cluster", "my-cluster", "--service-name", name)["taskArns"]
        tasks = student.aws("ecs", "describe-tasks", "--cluster", "my-cluster", "--tasks", *arns)["tasks"]
        return tasks if [t["lastStatus"] for t in tasks] == ["RUNNING", "RUNNING"] else None
    return wait_for(ready, timeout, f"{name} to run 2 tasks")


def _get(address: str, port: int, timeout: float = 2.0) -> tuple[int, bytes] | None:
    try:
        with urllib.request.urlopen(f"http://{address}:{port}/", timeout=timeout) as response:
            return response.status, response.read()
    except OSError:
        return None


def test_the_lessons_service_on_port_8080_answers(student, tmp_path):
    marker = uuid.uuid4().hex
    _service(student, "web-8080", _register(student, tmp_path, 8080, marker))
    tasks = _running_tasks(student, "web-8080")
    addresses = [t["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] for t in tasks]
    assert len(set(addresses)) == 2  # a task each, both binding 0.0.0.0:8080 inside
    for task, address in zip(tasks, addresses):
        assert task["containers"][0]["networkBindings"][0]["containerPort"] == 8080
        assert wait_for(lambda a=address: _get(a, 8080), 15, f"{address}:8080 to answer") == (
            200, b"Hello from Container!")

    # the app's own output in CloudWatch Logs, under the task definition's prefix
    task_id = tasks[0]["taskArn"].rsplit("/", 1)[1]
    stream = f"ecs/my-container/{task_id}"

    def logged():
        events = student.aws("logs", "get-log-events", "--log-group-name", "/ecs/my-task", "--log-stream-name",
                             stream)["events"]
        text = "\n".join(e["message"] for e in events)
        return text if "Running on" in text and "GET / HTTP/1.1" in text else None
    assert "8080" in wait_for(logged, 15, "Flask's output in the log stream")

    # ECS Exec through the cloud: the image's own file
    result = student.labkit("ecs", "exec", "--cluster", "my-cluster", "--task", task_id, "--container",
                            "my-container", "--command", "cat /app/app.py")
    assert result.stdout == LESSON_APP
    # the real awscli stops where it does without the Session Manager plugin
    refused = student.run(AWS, "ecs", "execute-command", "--cluster", "my-cluster", "--task", task_id,
                          "--container", "my-container", "--interactive", "--command", "/bin/sh", check=False)
    assert refused.returncode == 255 and "SessionManagerPlugin is not found" in refused.stderr
    student.aws("ecs", "delete-service", "--cluster", "my-cluster", "--service", "web-8080", "--force")
    wait_for(lambda: not marked(marker), 60, "the deleted service's container processes to end")


def test_the_lessons_port_80_runs_but_does_not_answer(student, tmp_path):
    marker = uuid.uuid4().hex
    _service(student, "web-80", _register(student, tmp_path, 80, marker))
    tasks = _running_tasks(student, "web-80")
    time.sleep(1.0)  # Flask is up on 8080 by now (it logs so); port 80 has nothing behind it
    for task in tasks:
        address = task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
        assert task["lastStatus"] == "RUNNING"
        assert _get(address, 80) is None
    student.aws("ecs", "delete-service", "--cluster", "my-cluster", "--service", "web-80", "--force")
    wait_for(lambda: not marked(marker), 60, "the deleted service's container processes to end")


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find the processes")
def test_a_killed_cloud_leaves_no_container_process(student, tmp_path):
    marker = uuid.uuid4().hex
    _service(student, "web-kill", _register(student, tmp_path, 8080, marker))
    _running_tasks(student, "web-kill")
    assert marked(marker)
    os.kill(student.cloud.pid, signal.SIGKILL)
    wait_for(lambda: not marked(marker), 15, "no container process left after SIGKILL of the cloud")
    shutil.rmtree(tmp_path, ignore_errors=True)
