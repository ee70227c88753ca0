"""RegisterTaskDefinition as ECS validates and stores it: the lesson's JSON, Fargate's rules with
ECS's error codes and texts, revisions, deregistration."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.cloud.ecs.conftest import error_of
from tests.cloud.ecs.lesson import NETWORK, TASK_DEFINITION, task_definition


def refused(ecs, **doc) -> tuple[str, str]:
    with pytest.raises(ClientError) as excinfo:
        ecs.register_task_definition(**doc)
    return error_of(excinfo)


def test_the_lessons_task_definition_is_stored_as_ecs_returns_it(ecs):
    td = ecs.register_task_definition(**TASK_DEFINITION)["taskDefinition"]
    assert td["taskDefinitionArn"] == "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/my-task:1"
    assert (td["revision"], td["status"], td["cpu"], td["memory"]) == (1, "ACTIVE", "256", "512")
    assert td["compatibilities"] == ["EC2", "FARGATE"] and td["requiresCompatibilities"] == ["FARGATE"]
    container = td["containerDefinitions"][0]
    assert container["portMappings"] == [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}]  # awsvpc: same port
    assert (container["cpu"], container["environment"], container["mountPoints"]) == (0, [], [])
    names = {a["name"] for a in td["requiresAttributes"]}
    assert {"ecs.capability.execution-role-awslogs", "ecs.capability.execution-role-ecr-pull",
            "ecs.capability.task-eni", "com.amazonaws.ecs.capability.logging-driver.awslogs"} <= names
    again = ecs.register_task_definition(**TASK_DEFINITION)["taskDefinition"]
    assert again["revision"] == 2
    latest = ecs.describe_task_definition(taskDefinition="my-task")["taskDefinition"]
    assert latest["revision"] == 2
    assert ecs.describe_task_definition(taskDefinition="my-task:1")["taskDefinition"]["revision"] == 1
    assert ecs.list_task_definitions(familyPrefix="my-task")["taskDefinitionArns"] == [
        "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/my-task:1",
        "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/my-task:2"]


def test_fargate_cpu_memory_table(ecs):
    assert refused(ecs, **task_definition(memory="4096")) == (
        "ClientException", "No Fargate configuration exists for given values: 256 CPU, 4096 memory. "
                           "See the Amazon ECS documentation for the valid values.")
    assert refused(ecs, **task_definition(cpu="1024", memory="1024"))[1].startswith(
        "No Fargate configuration exists for given values: 1024 CPU, 1024 memory.")
    for cpu, memory in (("256", "2048"), ("512", "4096"), ("4096", "30720"), ("8192", "61440")):
        assert ecs.register_task_definition(**task_definition(cpu=cpu, memory=memory))["taskDefinition"]["memory"] == memory
    units = ecs.register_task_definition(**task_definition(cpu="1 vCPU", memory="2 GB"))["taskDefinition"]
    assert (units["cpu"], units["memory"]) == ("1024", "2048")  # ECS stores unit strings as numbers
    assert refused(ecs, **task_definition(cpu="lots")) == ("ClientException", "Invalid 'cpu' setting for task.")


def test_fargate_requires_awsvpc_task_size_and_an_execution_role(ecs):
    assert refused(ecs, **task_definition(networkMode="bridge")) == (
        "ClientException", "Fargate only supports network mode \u2018awsvpc\u2019.")
    assert refused(ecs, **task_definition(cpu=None)) == (
        "ClientException", "Fargate requires that 'cpu' be defined at the task level.")
    assert refused(ecs, **task_definition(executionRoleArn=None)) == (
        "ClientException", "Fargate requires task definition to have execution role ARN to support ECR images.")
    public = {"image": "public.ecr.aws/nginx/nginx:latest"}
    assert refused(ecs, **task_definition(executionRoleArn=None, container=public)) == (
        "ClientException", "Fargate requires task definition to have execution role ARN to support log driver awslogs.")
    plain = task_definition(executionRoleArn=None, container={**public, "logConfiguration": None})
    plain["containerDefinitions"][0].pop("logConfiguration")
    assert ecs.register_task_definition(**plain)["taskDefinition"]["compatibilities"] == ["EC2", "FARGATE"]


def test_awsvpc_host_port_must_match(ecs):
    mapped = task_definition(container={"portMappings": [{"containerPort": 8080, "hostPort": 80}]})
    assert refused(ecs, **mapped) == (
        "ClientException", "When networkMode=awsvpc, the host ports and container ports in port mappings must match.")


def test_an_ec2_task_definition_needs_container_memory_and_does_not_run_on_fargate(ecs):
    ec2 = {"family": "ec2-task", "containerDefinitions": [{"name": "web", "image": "nginx"}]}
    assert refused(ecs, **ec2) == ("ClientException", "Invalid setting for container 'web'. At least one of 'memory' "
                                                       "or 'memoryReservation' must be specified.")
    ec2["containerDefinitions"][0]["memory"] = 256
    td = ecs.register_task_definition(**ec2)["taskDefinition"]
    assert (td["networkMode"], td["compatibilities"]) == ("bridge", ["EC2"])
    assert "requiresCompatibilities" not in td
    ecs.create_cluster(clusterName="my-cluster")
    with pytest.raises(ClientError) as excinfo:
        ecs.create_service(cluster="my-cluster", serviceName="web", taskDefinition="ec2-task:1", desiredCount=1,
                           launchType="FARGATE")
    assert error_of(excinfo) == ("InvalidParameterException", "Task definition does not support launch_type FARGATE.")
    with pytest.raises(ClientError) as excinfo:
        ecs.create_service(cluster="my-cluster", serviceName="web", taskDefinition="my-task:1", desiredCount=1,
                           launchType="FARGATE", networkConfiguration=NETWORK)
    assert error_of(excinfo) == ("InvalidParameterException", "TaskDefinition not found.")


def test_missing_revisions_and_deregistration(ecs):
    ecs.register_task_definition(**TASK_DEFINITION)
    ecs.register_task_definition(**TASK_DEFINITION)
    for missing in ("my-task:9", "other-task", "my-task:x"):
        with pytest.raises(ClientError) as excinfo:
            ecs.describe_task_definition(taskDefinition=missing)
        assert error_of(excinfo) == ("ClientException", "Unable to describe task definition.")
    gone = ecs.deregister_task_definition(taskDefinition="my-task:2")["taskDefinition"]
    assert gone["status"] == "INACTIVE" and "deregisteredAt" in gone
    assert ecs.describe_task_definition(taskDefinition="my-task")["taskDefinition"]["revision"] == 1
    assert ecs.describe_task_definition(taskDefinition="my-task:2")["taskDefinition"]["status"] == "INACTIVE"
    assert ecs.list_task_definitions(status="INACTIVE")["taskDefinitionArns"][0].endswith("my-task:2")
    assert ecs.list_task_definition_families()["families"] == ["my-task"]


def test_tags_of_a_task_definition(ecs):
    td = ecs.register_task_definition(**TASK_DEFINITION, tags=[{"key": "course", "value": "containers"}])
    assert td["tags"] == [{"key": "course", "value": "containers"}]
    arn = td["taskDefinition"]["taskDefinitionArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "lab", "value": "03"}])
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "course", "value": "containers"}, {"key": "lab", "value": "03"}]
    ecs.untag_resource(resourceArn=arn, tagKeys=["course"])
    assert ecs.describe_task_definition(taskDefinition="my-task:1", include=["TAGS"])["tags"] == [
        {"key": "lab", "value": "03"}]


def test_fargate_refuses_host_pid_mode_and_any_ipc_mode(ecs):
    assert refused(ecs, **task_definition(pidMode="host")) == (
        "ClientException", "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value "
                           "for pidMode is 'task'.")  # seen: aws/aws-cdk#29619
    assert refused(ecs, **task_definition(ipcMode="task")) == (
        "ClientException", "Tasks using the Fargate launch type do not support ipcMode.")  # cn-terraform/...-fargate#2
    shared = ecs.register_task_definition(**task_definition(pidMode="task"))["taskDefinition"]
    assert shared["pidMode"] == "task" and "FARGATE" in shared["compatibilities"]
    ec2 = ecs.register_task_definition(family="ec2-task", pidMode="host", ipcMode="host",
                                       containerDefinitions=[{"name": "web", "image": "nginx", "memory": 128}])
    assert ec2["taskDefinition"]["compatibilities"] == ["EC2"]


def test_an_efs_volume_without_a_root_directory_mounts_the_root(ecs):
    volume = {"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1234", "transitEncryption": "ENABLED"}}
    td = ecs.register_task_definition(**task_definition(volumes=[volume]))["taskDefinition"]
    assert td["volumes"] == [{"name": "data", "efsVolumeConfiguration": {
        "fileSystemId": "fs-1234", "transitEncryption": "ENABLED", "rootDirectory": "/"}}]
    kept = {"name": "logs", "efsVolumeConfiguration": {"fileSystemId": "fs-1234", "rootDirectory": "/logs"}}
    td = ecs.register_task_definition(**task_definition(volumes=[kept]))["taskDefinition"]
    assert td["volumes"][0]["efsVolumeConfiguration"]["rootDirectory"] == "/logs"
