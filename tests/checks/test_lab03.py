"""Lab 03's checks against states a student can really leave behind, made through boto3 on a
fresh local cloud (its ECS, CloudWatch Logs and Cloud Map). The happy path and the lesson's
port 80 are proved by the notebook tests and the grader samples (tasks really running); here,
the mistakes that need no running app: what fails, with which message, and never as the
checker's own problem."""
from __future__ import annotations

import copy

from labkit.checks.core import INFRA
from labkit.checks.registry import get_lab

ACCOUNT, REGION = "123456789012", "ap-northeast-2"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-app:latest"
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-xxx"], "securityGroups": ["sg-xxx"], "assignPublicIp": "ENABLED"}}
LESSON_TASK = {
    "family": "my-task", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
    "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole",
    "containerDefinitions": [{
        "name": "my-container", "image": IMAGE, "essential": True,
        "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/ecs/my-task", "awslogs-region": REGION, "awslogs-stream-prefix": "ecs"}}}],
}


def outcomes(ctx) -> dict[str, tuple[bool, str, dict]]:
    results = get_lab("lab03").run(ctx, include_hidden=True)
    assert not [r for r in results if r.kind == INFRA], [(r.condition, r.params) for r in results if r.kind == INFRA]
    return {r.condition: (r.passed, r.key, r.params) for r in results}


def task(**changes) -> dict:
    td = copy.deepcopy(LESSON_TASK)
    td.update({k: v for k, v in changes.items() if k != "container"})
    td["containerDefinitions"][0].update(changes.get("container", {}))
    return td


def test_an_empty_cloud_fails_every_condition_saying_what_to_do_first(ctx):
    found = outcomes(ctx)
    assert not any(passed for passed, _, _ in found.values())
    assert found["cluster.exists"][1] == "lab03.cluster.exists.missing"
    assert found["taskdef.registered"][1] == "lab03.taskdef.registered.missing"
    assert found["service.exists"][1] == "lab03.service.exists.no_cluster"
    assert found["port.answers"][1] == "lab03.port.answers.no_service"
    assert found["service_connect.namespace"][1] == "lab03.service_connect.namespace.missing"
    assert found["service_connect.port_name"][1] == "lab03.service_connect.port_name.missing"


def test_a_cluster_without_fargate_spot(ctx, aws):
    aws("ecs").create_cluster(clusterName="my-cluster", capacityProviders=["FARGATE"])
    found = outcomes(ctx)
    assert found["cluster.exists"][0]
    assert found["cluster.providers"][:2] == (False, "lab03.cluster.providers.missing")
    assert found["cluster.providers"][2] == {"name": "FARGATE_SPOT", "found": "FARGATE"}
    aws("ecs").put_cluster_capacity_providers(cluster="my-cluster", capacityProviders=["FARGATE", "FARGATE_SPOT"],
                                              defaultCapacityProviderStrategy=[])
    ctx.cache.clear()
    assert outcomes(ctx)["cluster.providers"][0]


def test_a_task_definition_other_than_the_lessons(ctx, aws):
    aws("ecs").register_task_definition(**task(memory="1024", container={
        "image": "nginx:latest", "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/other", "awslogs-stream-prefix": "x"}}}))
    found = outcomes(ctx)
    assert found["taskdef.registered"][0]
    assert found["taskdef.fargate"][:2] == (False, "lab03.taskdef.fargate.size")
    assert found["taskdef.container"][:2] == (False, "lab03.taskdef.container.image")
    assert found["taskdef.logging"][:2] == (False, "lab03.taskdef.logging.bad")
    assert found["taskdef.log_group"][:2] == (False, "lab03.taskdef.log_group.missing")


def test_the_lessons_task_definition_and_its_revisions(ctx, aws):
    ecs = aws("ecs")
    aws("logs").create_log_group(logGroupName="/ecs/my-task")
    ecs.register_task_definition(**LESSON_TASK)
    found = outcomes(ctx)
    assert all(found[c][0] for c in ("taskdef.registered", "taskdef.fargate", "taskdef.container", "taskdef.log_group",
                                     "taskdef.logging"))
    assert found["port.revision"][:2] == (False, "lab03.port.revision.missing")
    ecs.register_task_definition(**LESSON_TASK)  # revision 2, still the lesson's port 80
    ctx.cache.clear()
    assert outcomes(ctx)["port.revision"] == (False, "lab03.port.revision.wrong_port",
                                              {"revision": 2, "found": "80", "port": 8080})
    ecs.register_task_definition(**task(container={"portMappings": [{"name": "http", "containerPort": 80}]}))
    ctx.cache.clear()
    found = outcomes(ctx)
    assert found["service_connect.port_name"] == (False, "lab03.service_connect.port_name.wrong_port",
                                                  {"revision": 3, "found": 80, "port": 8080})
    ecs.register_task_definition(**task(container={"portMappings": [{"name": "http", "containerPort": 8080}]}))
    ctx.cache.clear()
    found = outcomes(ctx)
    assert found["port.revision"] == (True, "lab03.port.revision.ok", {"revision": 4, "port": 8080})
    assert found["service_connect.port_name"][:2] == (True, "lab03.service_connect.port_name.ok")


def test_a_service_of_one_task_without_exec(ctx, aws):
    ecs = aws("ecs")
    ecs.create_cluster(clusterName="my-cluster", capacityProviders=["FARGATE", "FARGATE_SPOT"])
    ecs.register_task_definition(**LESSON_TASK)
    ecs.create_service(cluster="my-cluster", serviceName="my-service", taskDefinition="my-task:1", desiredCount=1,
                       launchType="FARGATE", networkConfiguration=NETWORK)
    found = outcomes(ctx)
    assert found["service.exists"][0]
    assert found["service.settings"] == (False, "lab03.service.settings.count", {"found": 1, "count": 2})
    assert found["service.logs"][:2] == (False, "lab03.service.logs.no_group")  # its tasks cannot even start
    assert found["port.deployed"][:2] == (False, "lab03.port.deployed.old_revision")
    assert found["exec.service"][:2] == (False, "lab03.exec.service.off")


def test_service_connect_without_the_lessons_names(ctx, aws):
    ecs = aws("ecs")
    ecs.create_cluster(clusterName="my-cluster", capacityProviders=["FARGATE", "FARGATE_SPOT"])
    ecs.register_task_definition(**task(container={"portMappings": [{"name": "http", "containerPort": 8080}]}))
    aws("servicediscovery").create_http_namespace(Name="my-app-namespace")
    ecs.create_service(cluster="my-cluster", serviceName="backend-service", taskDefinition="my-task:1", desiredCount=0,
                       launchType="FARGATE", networkConfiguration=NETWORK,
                       serviceConnectConfiguration={"enabled": True, "namespace": "my-app-namespace", "services": [
                           {"portName": "http", "discoveryName": "api",
                            "clientAliases": [{"port": 8080, "dnsName": "api.local"}]}]})
    found = outcomes(ctx)
    assert found["service_connect.namespace"][0]
    assert found["service_connect.service"] == (False, "lab03.service_connect.service.alias", {"name": "backend-service"})
