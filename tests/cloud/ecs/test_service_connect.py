"""Service Connect and AWS Cloud Map (lesson 3.3): the namespace must exist (or the cluster's
serviceConnectDefaults creates it, an HTTP namespace), each discoveryName is a Cloud Map service, and
its instances are the service's RUNNING tasks (address and named port), kept up to date as tasks
start and stop; seen with `aws servicediscovery` as a student sees it."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.cloud.ecs.conftest import aws, error_of, steady, wait_for
from tests.cloud.ecs.lesson import NETWORK, SERVICE_CONNECT, task_definition

NAMED_PORT = {"portMappings": [{"name": "http", "containerPort": 80, "protocol": "tcp"}]}


def _create(ecs, **changes):
    params = {"cluster": "my-cluster", "serviceName": "backend-service", "taskDefinition": "my-task:2",
              "serviceConnectConfiguration": SERVICE_CONNECT, "desiredCount": 2, "launchType": "FARGATE",
              "networkConfiguration": NETWORK}
    params.update(changes)
    return ecs.create_service(**params)["service"]


def _instances(servicediscovery, name: str = "backend") -> dict[str, dict]:
    (service,) = [s for s in servicediscovery.list_services()["Services"] if s["Name"] == name]
    return {i["Id"]: i["Attributes"] for i in servicediscovery.list_instances(ServiceId=service["Id"])["Instances"]}


def _running(ecs) -> dict[str, dict]:
    arns = ecs.list_tasks(cluster="my-cluster", serviceName="backend-service")["taskArns"]
    tasks = ecs.describe_tasks(cluster="my-cluster", tasks=arns)["tasks"] if arns else []
    return {t["taskArn"].rsplit("/", 1)[1]: t for t in tasks if t["lastStatus"] == "RUNNING"}


def test_the_namespace_must_exist(ecs, lesson, servicediscovery):
    ecs.register_task_definition(**task_definition(container=NAMED_PORT))
    with pytest.raises(ClientError) as excinfo:
        _create(ecs)
    assert error_of(excinfo) == ("NamespaceNotFoundException", "Failed to retrieve namespace for my-app-namespace")
    assert servicediscovery.list_namespaces()["Namespaces"] == []  # a service never creates one
    with pytest.raises(ClientError) as excinfo:  # enabled, no namespace, no cluster default
        _create(ecs, serviceConnectConfiguration={"enabled": True})
    assert error_of(excinfo)[0] == "InvalidParameterException"


def test_a_cluster_default_creates_an_http_namespace(ecs, lesson, servicediscovery, cli_env):
    cluster = ecs.create_cluster(clusterName="sc-cluster",
                                 serviceConnectDefaults={"namespace": "my-app-namespace"})["cluster"]
    listed = json.loads(aws(cli_env, "servicediscovery", "list-namespaces").stdout)["Namespaces"]
    assert [(n["Name"], n["Type"]) for n in listed] == [("my-app-namespace", "HTTP")]
    assert cluster["serviceConnectDefaults"] == {"namespace": listed[0]["Arn"]}
    # a service of that cluster that names no namespace uses the cluster's
    ecs.register_task_definition(**task_definition(container=NAMED_PORT))
    created = _create(ecs, cluster="sc-cluster", serviceConnectConfiguration={
        "enabled": True, "services": [{"portName": "http"}]}, desiredCount=0)
    (resource,) = created["deployments"][0]["serviceConnectResources"]
    assert resource["discoveryName"] == "http"  # no discoveryName: the portName
    services = servicediscovery.list_services()["Services"]
    assert [(s["Name"], s["Arn"]) for s in services] == [("http", resource["discoveryArn"])]


def test_the_running_tasks_are_the_cloud_map_instances(ecs, lesson, servicediscovery):
    servicediscovery.create_http_namespace(Name="my-app-namespace")
    ecs.register_task_definition(**task_definition(container=NAMED_PORT))
    created = _create(ecs)
    (resource,) = created["deployments"][0]["serviceConnectResources"]
    assert resource["discoveryName"] == "backend" and ":servicediscovery:" in resource["discoveryArn"]
    steady(ecs, "backend-service")
    running = _running(ecs)
    assert len(running) == 2
    instances = wait_for(lambda: _instances(servicediscovery) if len(_instances(servicediscovery)) == 2 else None,
                         what="2 instances")
    assert set(instances) == set(running)
    for task_id, attributes in instances.items():
        address = running[task_id]["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
        assert (attributes["AWS_INSTANCE_IPV4"], attributes["AWS_INSTANCE_PORT"]) == (address, "80")
        assert attributes["ECS_SERVICE_NAME"] == "backend-service"

    gone = next(iter(running))
    ecs.stop_task(cluster="my-cluster", task=gone)
    wait_for(lambda: gone not in _instances(servicediscovery), what="the stopped task to be deregistered")
    steady(ecs, "backend-service")
    wait_for(lambda: set(_instances(servicediscovery)) == set(_running(ecs)) and len(_running(ecs)) == 2,
             what="the replacement to be registered")

    ecs.update_service(cluster="my-cluster", service="backend-service", desiredCount=0)
    wait_for(lambda: _instances(servicediscovery) == {}, what="every instance deregistered")
