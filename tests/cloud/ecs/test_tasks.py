"""Tasks as ECS runs them on Fargate: RunTask with the lesson's task definition, the lifecycle
PROVISIONING -> ... -> STOPPED driven by the runtime, stop codes and reasons, a missing image, the
awslogs group, logs in CloudWatch Logs, addresses and ports, list/describe/stop."""
from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError

from tests.cloud.ecs.conftest import error_of, task_of, wait_for
from tests.cloud.ecs.lesson import NETWORK, task_definition


def run(ecs, **changes) -> dict:
    params = {"cluster": "my-cluster", "taskDefinition": "my-task:1", "launchType": "FARGATE",
              "networkConfiguration": NETWORK}
    params.update(changes)
    response = ecs.run_task(**{k: v for k, v in params.items() if v is not None})
    assert response["failures"] == []
    return response["tasks"][0]


def status_is(ecs, arn: str, status: str) -> dict | None:
    task = task_of(ecs, arn)
    return task if task["lastStatus"] == status else None


class Watcher:
    """Records every lastStatus a task shows, polling describe-tasks on a thread."""

    def __init__(self, ecs, arn: str):
        self.seen: list[str] = []
        self._stop = threading.Event()

        def poll():
            while not self._stop.is_set():
                status = task_of(ecs, arn)["lastStatus"]
                if not self.seen or self.seen[-1] != status:
                    self.seen.append(status)
                if status == "STOPPED":
                    return
        self.thread = threading.Thread(target=poll, daemon=True)
        self.thread.start()

    def finish(self, timeout: float = 5.0) -> list[str]:
        self.thread.join(timeout)
        self._stop.set()
        return self.seen


def test_run_task_goes_through_every_state(ecs, lesson, cloud):
    cloud.runtime.auto_run = False  # the container stays "starting" until the test says it runs
    task = run(ecs)
    assert (task["lastStatus"], task["desiredStatus"]) == ("PROVISIONING", "RUNNING")
    assert task["attachments"][0]["status"] == "PRECREATED"
    assert task["attachments"][0]["details"][0] == {"name": "subnetId", "value": "subnet-xxx"}
    watcher = Watcher(ecs, task["taskArn"])
    activating = wait_for(lambda: status_is(ecs, task["taskArn"], "ACTIVATING"), what="ACTIVATING")
    assert activating["pullStoppedAt"] >= activating["pullStartedAt"]
    (container,) = cloud.runtime.named("/my-container")
    assert container.spec.ports == [80] and container.spec.environment["AWS_REGION"] == "ap-northeast-2"
    cloud.runtime.run(container.name)
    running = wait_for(lambda: status_is(ecs, task["taskArn"], "RUNNING"), what="RUNNING")
    (binding,) = running["containers"][0]["networkBindings"]
    assert binding == {"bindIP": container.address, "containerPort": 80, "hostPort": 80, "protocol": "tcp"}
    assert running["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] == container.address
    details = {d["name"]: d["value"] for d in running["attachments"][0]["details"]}
    assert details["privateIPv4Address"] == container.address
    assert running["connectivity"] == "CONNECTED" and running["platformVersion"] == "1.4.0"
    stopped = ecs.stop_task(cluster="my-cluster", task=task["taskArn"])["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    seen = watcher.finish()
    lifecycle = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING",
                 "STOPPED"]
    assert [s for s in lifecycle if s in seen] == seen, seen  # what describe-tasks showed, in the lifecycle's order
    from labkit.cloud.aws.ecs import models
    cluster = models.backend(cloud.state).cluster("123456789012", "ap-northeast-2", "my-cluster")
    assert cluster.tasks[task["taskArn"].rsplit("/", 1)[1]].history == lifecycle  # and every state was passed
    final = task_of(ecs, task["taskArn"])
    assert (final["stopCode"], final["stoppedReason"]) == ("UserInitiated", "Task stopped by user")
    assert final["containers"][0]["lastStatus"] == "STOPPED" and final["containers"][0]["exitCode"] == 143
    assert container.stop_reason == "Task stopped by user"
    assert final["attachments"][0]["status"] == "DELETED"
    assert final["stoppedAt"] >= final["stoppingAt"] >= final["startedAt"]


def test_stop_reason_and_task_lists(ecs, lesson):
    first, second = run(ecs), run(ecs, startedBy="lab03")
    wait_for(lambda: status_is(ecs, second["taskArn"], "RUNNING"), what="RUNNING")
    assert sorted(ecs.list_tasks(cluster="my-cluster")["taskArns"]) == sorted([first["taskArn"], second["taskArn"]])
    assert ecs.list_tasks(cluster="my-cluster", startedBy="lab03")["taskArns"] == [second["taskArn"]]
    assert ecs.list_tasks(cluster="my-cluster", family="other")["taskArns"] == []
    ecs.stop_task(cluster="my-cluster", task=first["taskArn"].rsplit("/", 1)[1], reason="done with it")
    stopped = wait_for(lambda: status_is(ecs, first["taskArn"], "STOPPED"), what="STOPPED")
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("UserInitiated", "done with it")
    assert ecs.list_tasks(cluster="my-cluster")["taskArns"] == [second["taskArn"]]
    assert ecs.list_tasks(cluster="my-cluster", desiredStatus="STOPPED")["taskArns"] == [first["taskArn"]]
    missing = ecs.describe_tasks(cluster="my-cluster", tasks=["0123456789abcdef0123456789abcdef"])
    assert missing["failures"] == [{"arn": "arn:aws:ecs:ap-northeast-2:123456789012:task/my-cluster/"
                                           "0123456789abcdef0123456789abcdef", "reason": "MISSING"}]
    with pytest.raises(ClientError) as excinfo:
        ecs.stop_task(cluster="my-cluster", task="0123456789abcdef0123456789abcdef")
    assert error_of(excinfo) == ("InvalidParameterException", "The referenced task was not found.")
    with pytest.raises(ClientError) as excinfo:
        ecs.list_tasks(cluster="my-cluster", serviceName="nope")
    assert error_of(excinfo) == ("ServiceNotFoundException", "Service not found.")


def test_a_missing_image_fails_the_task_as_ecs_says(ecs, lesson, cloud):
    image = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/my-app:v9"
    ecs.register_task_definition(**task_definition(container={"image": image}))
    task = run(ecs, taskDefinition="my-task:2")
    stopped = wait_for(lambda: status_is(ecs, task["taskArn"], "STOPPED"), what="STOPPED")
    reason = (f"CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
              f"{image}: {image}: not found")
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("TaskFailedToStart", reason)
    assert stopped["containers"][0]["reason"] == reason
    assert "startedAt" not in stopped
    assert cloud.runtime.started == []  # nothing was handed to the runtime


def test_the_awslogs_group_must_exist(ecs, pushed_image, logs):
    from tests.cloud.ecs.lesson import TASK_DEFINITION

    ecs.create_cluster(clusterName="my-cluster")
    ecs.register_task_definition(**TASK_DEFINITION)
    task = run(ecs)
    stopped = wait_for(lambda: status_is(ecs, task["taskArn"], "STOPPED"), what="STOPPED")
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"] == (
        "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
        "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not "
        "exist. : exit status 1")
    created = task_definition(container={"logConfiguration": {"logDriver": "awslogs", "options": {
        "awslogs-group": "/ecs/created", "awslogs-region": "ap-northeast-2", "awslogs-stream-prefix": "ecs",
        "awslogs-create-group": "true"}}})
    ecs.register_task_definition(**created)
    task = run(ecs, taskDefinition="my-task:2")
    wait_for(lambda: status_is(ecs, task["taskArn"], "RUNNING"), what="RUNNING")
    assert logs.describe_log_groups(logGroupNamePrefix="/ecs/created")["logGroups"][0]["logGroupName"] == "/ecs/created"


def test_container_output_goes_to_cloudwatch_logs(ecs, lesson, cloud, logs):
    task = run(ecs)
    wait_for(lambda: status_is(ecs, task["taskArn"], "RUNNING"), what="RUNNING")
    task_id = task["taskArn"].rsplit("/", 1)[1]
    (container,) = cloud.runtime.named("/my-container")
    cloud.runtime.log(container.name, "Listening on 0.0.0.0:8080", timestamp_ms=1796140000000)
    cloud.runtime.log(container.name, "Traceback: oops", stream="stderr", timestamp_ms=1796140000500)
    events = logs.get_log_events(logGroupName="/ecs/my-task", logStreamName=f"ecs/my-container/{task_id}")["events"]
    assert [(e["timestamp"], e["message"]) for e in events] == [
        (1796140000000, "Listening on 0.0.0.0:8080"), (1796140000500, "Traceback: oops")]


def test_an_essential_container_that_exits_stops_the_task_with_its_code(ecs, lesson, cloud):
    task = run(ecs)
    wait_for(lambda: status_is(ecs, task["taskArn"], "RUNNING"), what="RUNNING")
    (container,) = cloud.runtime.named("/my-container")
    cloud.runtime.exit(container.name, 2)
    stopped = wait_for(lambda: status_is(ecs, task["taskArn"], "STOPPED"), what="STOPPED")
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("EssentialContainerExited",
                                                               "Essential container in task exited")
    assert stopped["containers"][0]["exitCode"] == 2


def test_a_container_that_cannot_start(ecs, lesson, cloud):
    cloud.runtime.auto_run = False
    task = run(ecs)
    wait_for(lambda: status_is(ecs, task["taskArn"], "ACTIVATING"), what="ACTIVATING")
    (container,) = cloud.runtime.named("/my-container")
    cloud.runtime.exit(container.name, None, 'exec: "python": executable file not found in $PATH')
    stopped = wait_for(lambda: status_is(ecs, task["taskArn"], "STOPPED"), what="STOPPED")
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"] == 'CannotStartContainerError: exec: "python": executable file not found in $PATH'


def test_run_task_errors(ecs, lesson, cloud):
    def refused(**changes):
        with pytest.raises(ClientError) as excinfo:
            run(ecs, **changes)
        return error_of(excinfo)
    assert refused(networkConfiguration=None) == (
        "InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
    assert refused(cluster="nope") == ("ClusterNotFoundException", "Cluster not found.")
    assert refused(taskDefinition="my-task:3") == ("InvalidParameterException", "TaskDefinition not found.")
    assert refused(launchType="EC2") == ("InvalidParameterException", "No Container Instances were found in your cluster.")
    with pytest.raises(ClientError) as excinfo:
        ecs.run_task(cluster="my-cluster", taskDefinition="my-task:1", networkConfiguration=NETWORK)
    assert error_of(excinfo) == ("InvalidParameterException", "No Container Instances were found in your cluster.")


def test_the_runtime_limit_is_fargates_quota(ecs, lesson, cloud):
    cloud.runtime.max_containers = 1
    first, second = run(ecs), run(ecs)
    def failed():
        return [t for t in ecs.describe_tasks(cluster="my-cluster", tasks=[first["taskArn"], second["taskArn"]])["tasks"]
                if t["desiredStatus"] == "STOPPED"]
    failed = wait_for(failed, what="one task refused")
    assert [t["stoppedReason"] for t in failed] == [
        "You've reached the limit on the number of tasks you can run concurrently. For more information, see the "
        "Amazon ECS documentation."]
