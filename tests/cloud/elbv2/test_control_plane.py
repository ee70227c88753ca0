"""ELBv2's control plane: moto serves it, this project corrects what moto gets wrong for lab 09
(DNS names, validation, idempotent creates, the HTTP health check timeout, LoadBalancerArns)."""
from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from tests.cloud.elbv2.conftest import alb, forward, target_group


def error_of(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def test_a_load_balancer_as_aws_describes_it(cloud, elbv2, network):
    subnets, vpc = network
    lb = alb(elbv2, network)
    assert re.fullmatch(r"my-alb-\d{10}\.ap-northeast-2\.elb\.amazonaws\.com", lb["DNSName"]), lb["DNSName"]
    assert (lb["State"], lb["Type"], lb["Scheme"], lb["VpcId"]) == ({"Code": "provisioning"}, "application",
                                                                   "internet-facing", vpc)
    assert sorted(z["SubnetId"] for z in lb["AvailabilityZones"]) == sorted(subnets)
    described = elbv2.describe_load_balancers(Names=["my-alb"])["LoadBalancers"][0]
    assert (described["DNSName"], described["State"]) == (lb["DNSName"], {"Code": "active"})
    internal = elbv2.create_load_balancer(Name="inside", Subnets=subnets, Scheme="internal")["LoadBalancers"][0]
    assert internal["DNSName"].startswith("internal-inside-")


def test_subnets_in_two_availability_zones(cloud, elbv2, network):
    subnets, _ = network
    assert error_of(elbv2.create_load_balancer, Name="one", Subnets=subnets[:1]) == (
        "ValidationError", "At least two subnets in two different Availability Zones must be specified")
    ec2 = cloud.client("ec2")
    zone = ec2.describe_subnets(SubnetIds=[subnets[0]])["Subnets"][0]
    vpc = zone["VpcId"]
    twin = ec2.create_subnet(VpcId=vpc, CidrBlock="172.31.200.0/24", AvailabilityZone=zone["AvailabilityZone"])
    code, message = error_of(elbv2.create_load_balancer, Name="twins",
                             Subnets=[subnets[0], twin["Subnet"]["SubnetId"]])
    assert (code, message) == ("InvalidConfigurationRequest",
                               "A load balancer cannot be attached to multiple subnets in the same Availability Zone")


def test_creating_again_returns_the_same_resource_or_says_why_not(cloud, elbv2, network):
    """A notebook cell run twice: same settings -> the existing resource (AWS's idempotency)."""
    subnets, vpc = network
    lb = alb(elbv2, network)
    assert alb(elbv2, network)["LoadBalancerArn"] == lb["LoadBalancerArn"]
    assert len(elbv2.describe_load_balancers()["LoadBalancers"]) == 1
    assert error_of(elbv2.create_load_balancer, Name="my-alb", Subnets=subnets, Scheme="internal") == (
        "DuplicateLoadBalancerName", "A load balancer with the same name 'my-alb' exists, but with different settings")

    tg = target_group(elbv2, network, "web")
    assert target_group(elbv2, network, "web") == tg
    assert error_of(elbv2.create_target_group, Name="web", Protocol="HTTP", Port=8080, VpcId=vpc) == (
        "DuplicateTargetGroupName", "A target group with the same name 'web' exists, but with different settings")

    listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                     DefaultActions=forward((tg, 1)))["Listeners"][0]
    again = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                  DefaultActions=forward((tg, 1)))["Listeners"][0]
    assert again["ListenerArn"] == listener["ListenerArn"]
    assert len(elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]) == 1
    other = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}]
    assert error_of(elbv2.create_listener, LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                    DefaultActions=other) == (
        "DuplicateListener", f"A listener already exists on this port for this load balancer '{lb['LoadBalancerArn']}'")


def test_target_groups_know_the_load_balancers_that_use_them(cloud, elbv2, network):
    lb = alb(elbv2, network)
    v1, v2 = target_group(elbv2, network, "v1"), target_group(elbv2, network, "v2")
    listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                     DefaultActions=forward((v1, 1)))["Listeners"][0]["ListenerArn"]
    elbv2.modify_listener(ListenerArn=listener, DefaultActions=forward((v1, 90), (v2, 10)))

    def users(arn):
        return elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0].get("LoadBalancerArns", [])
    assert users(v2) == [lb["LoadBalancerArn"]]
    names = [g["TargetGroupName"] for g in elbv2.describe_target_groups(
        LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]]
    assert names == ["v1", "v2"]
    missing = v2.replace("/v2/", "/v3/")
    assert error_of(elbv2.modify_listener, ListenerArn=listener, DefaultActions=forward((missing, 1))) == (
        "TargetGroupNotFound", f"Target group '{missing}' not found")
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    assert users(v1) == [] and users(v2) == []


def test_other_calls_and_classic_elb_reach_moto(cloud, elbv2, network):
    subnets, _ = network
    lb = alb(elbv2, network)
    elbv2.add_tags(ResourceArns=[lb["LoadBalancerArn"]], Tags=[{"Key": "course", "Value": "lab09"}])
    tags = elbv2.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
    assert tags == [{"Key": "course", "Value": "lab09"}]
    classic = cloud.client("elb")
    classic.create_load_balancer(LoadBalancerName="old-style", AvailabilityZones=["ap-northeast-2a"],
                                 Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}])
    assert [d["LoadBalancerName"] for d in classic.describe_load_balancers()["LoadBalancerDescriptions"]] == [
        "old-style"]
