"""The lesson's ECS values (../shared/seeds/lesson.en.md, sections 3.2-3.4 and 6.1), unchanged."""
from __future__ import annotations

import copy

from tests.cloud.helpers import ACCOUNT, REGION

TASK_DEFINITION = {
    "family": "my-task",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole",
    "containerDefinitions": [
        {
            "name": "my-container",
            "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-app:latest",
            "essential": True,
            "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": "/ecs/my-task", "awslogs-region": REGION, "awslogs-stream-prefix": "ecs"},
            },
        }
    ],
}
NETWORK_CLI = "awsvpcConfiguration={subnets=[subnet-xxx],securityGroups=[sg-xxx],assignPublicIp=ENABLED}"
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-xxx"], "securityGroups": ["sg-xxx"], "assignPublicIp": "ENABLED"}}
SERVICE_CONNECT = {
    "enabled": True,
    "namespace": "my-app-namespace",
    "services": [{"portName": "http", "discoveryName": "backend",
                  "clientAliases": [{"port": 80, "dnsName": "backend.local"}]}],
}


def task_definition(**changes) -> dict:
    """The lesson's task definition with top-level `changes`; container changes via `container=`."""
    doc = copy.deepcopy(TASK_DEFINITION)
    container = changes.pop("container", None)
    doc.update(changes)
    if container:
        doc["containerDefinitions"][0].update(container)
    return {k: v for k, v in doc.items() if v is not None}
