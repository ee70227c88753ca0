"""An ECS service behind an Application Load Balancer: CreateService checks its `loadBalancers` as ECS
does, and each RUNNING task is an `ip` target (its address, the containerPort) of the target group
until it stops (labkit/cloud/aws/ecs/load_balancers.py, scheduler.py `_load_balancing`)."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.cloud.ecs.conftest import error_of, steady, wait_for
from tests.cloud.ecs.lesson import NETWORK, task_definition


@pytest.fixture
def elbv2(cloud, _clients):
    return _clients("elbv2")


@pytest.fixture
def ec2(cloud, _clients):
    return _clients("ec2")


@pytest.fixture
def balancer(elbv2, ec2):
    """An ALB in the default VPC with an HTTP listener forwarding to an `ip` target group on 8080."""
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["VpcId"] == vpc][:2]
    lb = elbv2.create_load_balancer(Name="my-alb", Subnets=subnets)["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="my-tg", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip",
                                      HealthCheckPath="/")["TargetGroups"][0]
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}])
    return {"vpc": vpc, "lb": lb, "group": group["TargetGroupArn"]}


@pytest.fixture
def web_task(ecs, lesson):
    """my-task:2 with containerPort 8080 (the lab's fix), the container that the service balances."""
    doc = task_definition(container={"portMappings": [{"containerPort": 8080, "protocol": "tcp"}]})
    return ecs.register_task_definition(**doc)["taskDefinition"]["taskDefinitionArn"]


def _service(ecs, task, group, **changes):
    params = dict(cluster="my-cluster", serviceName="my-service", taskDefinition=task, desiredCount=2,
                  launchType="FARGATE", networkConfiguration=NETWORK,
                  loadBalancers=[{"targetGroupArn": group, "containerName": "my-container", "containerPort": 8080}])
    params.update(changes)
    return ecs.create_service(**params)["service"]


def _targets(elbv2, group) -> set:
    return {(d["Target"]["Id"], d["Target"]["Port"])
            for d in elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]}


def test_running_tasks_are_targets_of_the_group_until_they_stop(ecs, elbv2, balancer, web_task):
    service = _service(ecs, web_task, balancer["group"])
    assert service["loadBalancers"][0]["targetGroupArn"] == balancer["group"]
    steady(ecs, count=2)
    tasks = ecs.describe_tasks(cluster="my-cluster", tasks=ecs.list_tasks(cluster="my-cluster")["taskArns"])["tasks"]
    addresses = {(a["privateIpv4Address"], 8080) for t in tasks for a in t["containers"][0]["networkInterfaces"]}
    assert wait_for(lambda: _targets(elbv2, balancer["group"]) == addresses, 5, "both tasks registered")
    ecs.update_service(cluster="my-cluster", service="my-service", desiredCount=0)
    assert wait_for(lambda: not {t for t in _targets(elbv2, balancer["group"])}
                    or all(d["TargetHealth"]["State"] in ("draining", "unused") for d in
                           elbv2.describe_target_health(TargetGroupArn=balancer["group"])["TargetHealthDescriptions"]),
                    10, "targets deregistered")


@pytest.mark.parametrize("change,message", [
    (lambda b: {"loadBalancers": [{"targetGroupArn": b["group"], "containerName": "nope", "containerPort": 8080}]},
     "The container nope does not exist in the task definition."),
    (lambda b: {"loadBalancers": [{"targetGroupArn": b["group"], "containerName": "my-container",
                                   "containerPort": 80}]},
     "The container my-container did not have a container port 80 defined."),
])
def test_the_container_and_port_must_be_in_the_task_definition(ecs, balancer, web_task, change, message):
    with pytest.raises(ClientError) as excinfo:
        _service(ecs, web_task, balancer["group"], **change(balancer))
    assert error_of(excinfo) == ("InvalidParameterException", message)


def test_the_target_group_must_be_behind_a_load_balancer_and_of_type_ip(ecs, elbv2, balancer, web_task):
    lonely = elbv2.create_target_group(Name="lonely", Protocol="HTTP", Port=8080, VpcId=balancer["vpc"],
                                       TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    with pytest.raises(ClientError) as excinfo:
        _service(ecs, web_task, lonely)
    assert error_of(excinfo) == ("InvalidParameterException", f"The target group with targetGroupArn {lonely} "
                                                               f"does not have an associated load balancer.")
    instance = elbv2.create_target_group(Name="instances", Protocol="HTTP", Port=8080, VpcId=balancer["vpc"],
                                         TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(LoadBalancerArn=balancer["lb"]["LoadBalancerArn"], Protocol="HTTP", Port=8081,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": instance}])
    with pytest.raises(ClientError) as excinfo:
        _service(ecs, web_task, instance)
    assert error_of(excinfo) == ("InvalidParameterException", f"The provided target group {instance} has target "
                                 f"type instance, which is incompatible with the awsvpc network mode specified in "
                                 f"the task definition.")
