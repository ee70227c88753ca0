"""Registering and deregistering targets, through the API and in process (what ECS and ECS Express
Mode call): draining for the (compressed) deregistration delay with no new traffic, then gone."""
from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from labkit.cloud.aws import elbv2 as local
from tests.cloud.elbv2.conftest import REGION, alb, forward, health_of, target_group, wait_for

ACCOUNT = "123456789012"


def test_deregistration_drains_then_forgets(cloud, elbv2, network, upstream):
    stays, leaves = upstream("stays"), upstream("leaves")
    lb = alb(elbv2, network)
    tg = target_group(elbv2, network, "pair", stays, leaves)
    elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "45"}])  # 1.5 s at 30x
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=forward((tg, 1)))
    assert sorted(s for _, s, _ in health_of(elbv2, tg)) == ["healthy", "healthy"]

    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": leaves.port},
                                                         {"Id": "127.0.0.1", "Port": 1}])  # not registered: no error
    gone_at = time.monotonic() + 1.5
    found = elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    draining = next(d for d in found if d["Target"]["Port"] == leaves.port)["TargetHealth"]
    assert draining == {"State": "draining", "Reason": "Target.DeregistrationInProgress",
                        "Description": "Target deregistration is in progress"}
    assert cloud.hit(lb["DNSName"], 40) == {"stays": 40}  # no new requests while draining

    wait_for(lambda: health_of(elbv2, tg) == [(stays.port, "healthy", None)], timeout=5, what="the delay to pass")
    assert time.monotonic() >= gone_at - 0.3
    asked = elbv2.describe_target_health(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": leaves.port}])
    assert asked["TargetHealthDescriptions"][0]["TargetHealth"]["State"] == "unused"  # the waiter's "deregistered"


def test_registration_errors_as_the_service_words_them(cloud, elbv2, network):
    tg = target_group(elbv2, network, "ips")
    with pytest.raises(ClientError) as missing:
        elbv2.register_targets(TargetGroupArn=tg.replace("/ips/", "/nope/"), Targets=[{"Id": "127.0.0.1"}])
    assert missing.value.response["Error"]["Code"] == "TargetGroupNotFound"
    with pytest.raises(ClientError) as not_ip:
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "i-0123456789abcdef0"}])
    assert not_ip.value.response["Error"]["Code"] == "InvalidTarget"
    with pytest.raises(ClientError) as bad_port:
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": 70000}])
    assert bad_port.value.response["Error"]["Code"] == "ValidationError"
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1"}])  # the group's port (80)
    assert [d["Target"] for d in elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]] == [
        {"Id": "127.0.0.1", "Port": 80}]


def test_a_target_this_cloud_cannot_reach_times_out_and_answers_504(cloud, elbv2, network):
    """Nothing leaves 127.0.0.1: a VPC address is never connected to."""
    lb = alb(elbv2, network)
    tg = target_group(elbv2, network, "vpc")
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "172.31.5.9", "Port": 8080}])
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=forward((tg, 1)))
    wait_for(lambda: health_of(elbv2, tg) == [(8080, "unhealthy", "Target.Timeout")], timeout=4, what="timeouts")
    assert cloud.get(lb["DNSName"]).status_code == 504  # fail open, to an address it will not reach


def test_in_process_register_deregister_and_sync_for_ecs(cloud, elbv2, network, upstream):
    v1 = upstream("task 1")
    lb = alb(elbv2, network)
    tg = target_group(elbv2, network, "service")
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=forward((tg, 1)))
    local.register_targets(cloud.state, ACCOUNT, REGION, tg, [("127.0.0.1", v1.port)])
    health = local.target_health(cloud.state, ACCOUNT, REGION, tg)
    assert [h["TargetHealth"]["State"] for h in health] == ["healthy"]
    assert health_of(elbv2, tg) == [(v1.port, "healthy", None)]  # the API sees what ECS registered
    assert cloud.hit(lb["DNSName"], 5) == {"task 1": 5}

    local.deregister_targets(cloud.state, ACCOUNT, REGION, tg, [("127.0.0.1", v1.port)])
    assert [h["TargetHealth"]["State"] for h in local.target_health(cloud.state, ACCOUNT, REGION, tg)] == ["draining"]
    with pytest.raises(local.Elbv2Error) as missing:
        local.register_targets(cloud.state, ACCOUNT, REGION, tg + "x", [("127.0.0.1", 80)])
    assert missing.value.code == "TargetGroupNotFound"


def test_express_mode_style_load_balancer_in_process(cloud, elbv2, upstream):
    app = upstream("Hello from AWS!")
    made = local.create_load_balancer(cloud.state, ACCOUNT, REGION, "express-my-app")
    assert made["DNSName"].startswith("express-my-app-") and made["State"] == {"Code": "provisioning"}
    tg = local.create_target_group(cloud.state, ACCOUNT, REGION, "express-my-app-tg", 8080, health_check_path="/health")
    listener = local.create_listener(cloud.state, ACCOUNT, REGION, made["LoadBalancerArn"], 80, tg["TargetGroupArn"])
    local.register_targets(cloud.state, ACCOUNT, REGION, tg["TargetGroupArn"], [("127.0.0.1", app.port)])
    # in process, registering does not wait for the first check (the API does): a new target gets no traffic
    wait_for(lambda: [h["TargetHealth"]["State"] for h in local.target_health(cloud.state, ACCOUNT, REGION,
                                                                             tg["TargetGroupArn"])] == ["healthy"],
             10, "the target to pass its first check")
    assert cloud.hit(made["DNSName"], 3) == {"Hello from AWS!": 3}
    described = elbv2.describe_load_balancers(Names=["express-my-app"])["LoadBalancers"][0]
    assert described["DNSName"] == made["DNSName"] and len(described["AvailabilityZones"]) == 2
    assert elbv2.describe_target_groups(LoadBalancerArn=made["LoadBalancerArn"])["TargetGroups"][0][
        "TargetGroupName"] == "express-my-app-tg"
    again = local.create_listener(cloud.state, ACCOUNT, REGION, made["LoadBalancerArn"], 80, tg["TargetGroupArn"])
    assert again["ListenerArn"] == listener["ListenerArn"]

    v2 = upstream("Hello from AWS-v2!")
    tg2 = local.create_target_group(cloud.state, ACCOUNT, REGION, "express-my-app-tg2", 8080)
    local.register_targets(cloud.state, ACCOUNT, REGION, tg2["TargetGroupArn"], [("127.0.0.1", v2.port)])
    local.forward(cloud.state, ACCOUNT, REGION, listener["ListenerArn"], [(tg["TargetGroupArn"], 0),
                                                                          (tg2["TargetGroupArn"], 1)])
    wait_for(lambda: cloud.hit(made["DNSName"], 5) == {"Hello from AWS-v2!": 5}, timeout=3, what="v2")
    local.delete_load_balancer(cloud.state, ACCOUNT, REGION, made["LoadBalancerArn"])
    assert cloud.state.ingress.routes() == []


def test_instance_targets_follow_their_instances(cloud, elbv2, network):
    """A stopped instance is `unused` Target.InvalidState, checked afresh once it runs again; a
    terminated one is deregistered (draining, then gone): what AWS answers in moto's AWS-verified
    tests/test_elbv2/test_elbv2_target_health.py::test_register_targets."""
    subnets, vpc = network
    ec2 = cloud.client("ec2")
    stopped, terminated = [i["InstanceId"] for i in ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=2, MaxCount=2, SubnetId=subnets[0])["Instances"]]
    lb = alb(elbv2, network)
    tg = elbv2.create_target_group(Name="vms", Protocol="HTTP", Port=80, VpcId=vpc,
                                   TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])  # 1 s at 30x
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=forward((tg, 1)))
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": stopped}, {"Id": terminated}])

    ec2.stop_instances(InstanceIds=[stopped])
    ec2.terminate_instances(InstanceIds=[terminated])
    found = elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    health = {d["Target"]["Id"]: d["TargetHealth"] for d in found}
    assert health[stopped] == {"State": "unused", "Reason": "Target.InvalidState",
                               "Description": "Target is in the stopped state"}
    assert health[terminated] == {"State": "draining", "Reason": "Target.DeregistrationInProgress",
                                  "Description": "Target deregistration is in progress"}
    wait_for(lambda: [d["Target"]["Id"] for d in elbv2.describe_target_health(TargetGroupArn=tg)[
        "TargetHealthDescriptions"]] == [stopped], timeout=4, what="the terminated instance to be gone")

    elbv2.modify_target_group(TargetGroupArn=tg, HealthCheckPath="/ready")  # a sync: the stopped one stays so
    assert health_of(elbv2, tg) == [(80, "unused", "Target.InvalidState")]
    ec2.start_instances(InstanceIds=[stopped])
    assert health_of(elbv2, tg)[0][1] == "initial"  # checked afresh (its VPC address is never reached here)
