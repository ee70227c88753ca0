"""The lesson's commands (sections 3.2, 3.4, 6.1), unchanged, run with the AWS CLI as a student runs
them, against the cloud over HTTP; their effect read back through the CLI too."""
from __future__ import annotations

import json

from tests.cloud.ecs.conftest import aws, wait_for
from tests.cloud.ecs.lesson import NETWORK_CLI, TASK_DEFINITION


def ok(env, *args, cwd=None) -> dict:
    result = aws(env, *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_the_lessons_ecs_commands(cli_env, pushed_image, tmp_path):
    cluster = ok(cli_env, "ecs", "create-cluster", "--cluster-name", "my-cluster",
                 "--capacity-providers", "FARGATE", "FARGATE_SPOT")["cluster"]
    assert cluster["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]

    (tmp_path / "task-definition.json").write_text(json.dumps(TASK_DEFINITION, indent=4))
    td = ok(cli_env, "ecs", "register-task-definition", "--cli-input-json", "file://task-definition.json",
            cwd=tmp_path)["taskDefinition"]
    assert td["taskDefinitionArn"].endswith(":task-definition/my-task:1")

    ok(cli_env, "logs", "create-log-group", "--log-group-name", "/ecs/my-task")  # Fargate's awslogs needs it
    service = ok(cli_env, "ecs", "create-service", "--cluster", "my-cluster", "--service-name", "my-service",
                 "--task-definition", "my-task:1", "--desired-count", "2", "--launch-type", "FARGATE",
                 "--network-configuration", NETWORK_CLI)["service"]
    assert (service["desiredCount"], service["launchType"]) == (2, "FARGATE")
    assert service["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": ["subnet-xxx"], "securityGroups": ["sg-xxx"], "assignPublicIp": "ENABLED"}

    def running():
        described = ok(cli_env, "ecs", "describe-services", "--cluster", "my-cluster", "--services", "my-service")
        found = described["services"][0]
        return found if found["runningCount"] == 2 else None
    found = wait_for(running, timeout=15, what="2 running tasks")
    assert any("has started 2 tasks" in e["message"] for e in found["events"])

    fargate = ok(cli_env, "ecs", "create-service", "--cluster", "my-cluster", "--service-name", "my-fargate-service",
                 "--task-definition", "my-task:1", "--desired-count", "2", "--launch-type", "FARGATE",
                 "--platform-version", "LATEST", "--network-configuration", NETWORK_CLI)["service"]
    assert fargate["platformVersion"] == "LATEST"

    updated = ok(cli_env, "ecs", "update-service", "--cluster", "my-cluster", "--service", "my-service",
                 "--enable-execute-command")["service"]
    assert updated["enableExecuteCommand"] is True

    task = ok(cli_env, "ecs", "run-task", "--cluster", "my-cluster", "--task-definition", "my-task:1",
              "--launch-type", "FARGATE", "--network-configuration", NETWORK_CLI)["tasks"][0]
    assert task["lastStatus"] == "PROVISIONING"
    listed = ok(cli_env, "ecs", "list-tasks", "--cluster", "my-cluster")["taskArns"]
    assert task["taskArn"] in listed and len(listed) == 5
    only_service = ok(cli_env, "ecs", "list-tasks", "--cluster", "my-cluster", "--service-name", "my-service")
    assert len(only_service["taskArns"]) == 2

    def task_running():
        found = ok(cli_env, "ecs", "describe-tasks", "--cluster", "my-cluster", "--tasks", task["taskArn"])["tasks"][0]
        return found if found["lastStatus"] == "RUNNING" else None
    described = wait_for(task_running, timeout=15, what="the task to run")
    assert described["containers"][0]["networkInterfaces"][0]["privateIpv4Address"].startswith("127.")

    stopped = ok(cli_env, "ecs", "stop-task", "--cluster", "my-cluster", "--task", task["taskArn"])["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    assert task["taskArn"] not in ok(cli_env, "ecs", "list-tasks", "--cluster", "my-cluster")["taskArns"]

    task_id = described["taskArn"].rsplit("/", 1)[1]
    streams = ok(cli_env, "logs", "describe-log-streams", "--log-group-name", "/ecs/my-task")["logStreams"]
    assert f"ecs/my-container/{task_id}" in [s["logStreamName"] for s in streams]


def test_errors_carry_ecs_code_and_message(cli_env, tmp_path):
    bad = dict(TASK_DEFINITION, memory="4096")
    (tmp_path / "task-definition.json").write_text(json.dumps(bad))
    result = aws(cli_env, "ecs", "register-task-definition", "--cli-input-json", "file://task-definition.json",
                 cwd=tmp_path)
    assert result.returncode != 0
    assert ("An error occurred (ClientException) when calling the RegisterTaskDefinition operation: No Fargate "
            "configuration exists for given values: 256 CPU, 4096 memory. See the Amazon ECS documentation for the "
            "valid values.") in result.stderr
    missing = aws(cli_env, "ecs", "create-service", "--cluster", "my-cluster", "--service-name", "my-service",
                  "--task-definition", "my-task:1", "--desired-count", "2", "--launch-type", "FARGATE",
                  "--network-configuration", NETWORK_CLI)
    assert ("An error occurred (ClusterNotFoundException) when calling the CreateService operation: Cluster not "
            "found.") in missing.stderr
