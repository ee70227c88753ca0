"""ECS Exec (lesson 3.4): execute-command accepted or refused as ECS does. Turning it on for a service
changes new tasks only; its running tasks keep theirs until a new deployment replaces them."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.cloud.ecs.conftest import error_of, steady, wait_for
from tests.cloud.ecs.lesson import NETWORK, task_definition

NOT_ENABLED = ("The execute command failed because execute command was not enabled when the task was run or the "
               "execute command agent isn\u2019t running. Wait and try again or run a new task with execute command "
               "enabled and try again.")


def exec_in(ecs, task: str, **changes):
    params = {"cluster": "my-cluster", "task": task, "container": "my-container", "interactive": True,
              "command": "cat /app/config.json"}
    params.update(changes)
    return ecs.execute_command(**{k: v for k, v in params.items() if v is not None})


def refused(ecs, task: str, **changes) -> tuple[str, str]:
    with pytest.raises(ClientError) as excinfo:
        exec_in(ecs, task, **changes)
    return error_of(excinfo)


def only_task(ecs) -> str:
    (arn,) = ecs.list_tasks(cluster="my-cluster")["taskArns"]
    return arn


def test_exec_follows_the_service_and_its_deployments(ecs, lesson, cloud):
    ecs.create_service(cluster="my-cluster", serviceName="my-service", taskDefinition="my-task:1", desiredCount=1,
                       launchType="FARGATE", networkConfiguration=NETWORK)
    steady(ecs)
    before = only_task(ecs)
    assert refused(ecs, before) == ("InvalidParameterException", NOT_ENABLED)

    updated = ecs.update_service(cluster="my-cluster", service="my-service", enableExecuteCommand=True)["service"]
    assert updated["enableExecuteCommand"] is True
    assert len(updated["deployments"]) == 1  # no new deployment: the running task keeps its setting
    assert ecs.describe_tasks(cluster="my-cluster", tasks=[before])["tasks"][0]["enableExecuteCommand"] is False
    assert refused(ecs, before) == ("InvalidParameterException", NOT_ENABLED)

    ecs.update_service(cluster="my-cluster", service="my-service", forceNewDeployment=True)
    wait_for(lambda: only_task(ecs) != before if len(ecs.list_tasks(cluster="my-cluster")["taskArns"]) == 1 else None,
             what="the replacement task")
    steady(ecs)
    after = only_task(ecs)
    task = ecs.describe_tasks(cluster="my-cluster", tasks=[after])["tasks"][0]
    assert task["enableExecuteCommand"] is True
    assert task["containers"][0]["managedAgents"][0]["name"] == "ExecuteCommandAgent"
    assert task["containers"][0]["managedAgents"][0]["lastStatus"] == "RUNNING"
    answer = exec_in(ecs, after)
    assert (answer["taskArn"], answer["containerName"], answer["interactive"]) == (after, "my-container", True)
    assert answer["session"]["sessionId"].startswith("ecs-execute-command-")
    assert answer["session"]["streamUrl"].startswith(f"ws://127.0.0.1:{cloud.port}/")  # never a real AWS endpoint


def test_exec_refusals(ecs, lesson):
    task = ecs.run_task(cluster="my-cluster", taskDefinition="my-task:1", launchType="FARGATE",
                        networkConfiguration=NETWORK, enableExecuteCommand=True)["tasks"][0]["taskArn"]
    wait_for(lambda: ecs.describe_tasks(cluster="my-cluster", tasks=[task])["tasks"][0]["lastStatus"] == "RUNNING",
             what="RUNNING")
    assert exec_in(ecs, task)["containerName"] == "my-container"
    assert exec_in(ecs, task, container=None)["containerName"] == "my-container"  # one container: no name needed
    assert refused(ecs, task, interactive=False) == ("InvalidParameterException",
                                                     "Interactive is the only mode supported currently.")
    assert refused(ecs, task, container="other")[0] == "InvalidParameterException"
    assert refused(ecs, "0123456789abcdef0123456789abcdef") == ("InvalidParameterException",
                                                                "The referenced task was not found.")
    assert refused(ecs, task, cluster="nope") == ("ClusterNotFoundException", "Cluster not found.")
    # initProcessEnabled is recommended for ECS Exec, not required: a task without it is accepted (as on ECS)
    ecs.register_task_definition(**task_definition(container={"linuxParameters": {"initProcessEnabled": True}}))
    ecs.stop_task(cluster="my-cluster", task=task)
    wait_for(lambda: ecs.describe_tasks(cluster="my-cluster", tasks=[task])["tasks"][0]["lastStatus"] == "STOPPED",
             what="STOPPED")
    assert refused(ecs, task) == ("InvalidParameterException", NOT_ENABLED)
