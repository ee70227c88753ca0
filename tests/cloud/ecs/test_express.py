"""ECS Express Mode and ECS services behind an ALB, on the real runtime in a real cloud process, driven
by the AWS CLI as lab 09 drives them: the section 9.1 app built and pushed with `labkit docker`.

- create-express-gateway-service with the image and the two roles: the `default` cluster, a Fargate
  service, a target group and an ALB appear in ECS and ELBv2, and the endpoint answers `Hello from AWS!`;
  an update to CLOUD_PROVIDER=AWS-v2 takes over; delete drains the service and the endpoint goes.
- a canary as day19 teaches it: two ECS services (v1, v2) registered in two target groups, a listener
  forwarding 90/10 answers by those weights; 0/100 promotes v2.
"""
from __future__ import annotations

import json
import time

import pytest
import requests

from tests.cloud.ecs.conftest import AWS, wait_for
from tests.cloud.ecs.lesson import TASK_DEFINITION
from tests.cloud.ecs.test_on_runtime import IMAGE, student  # noqa: F401  (the module's cloud and student)

pytestmark = pytest.mark.skipif(AWS is None, reason="the aws CLI is not installed")
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
INFRASTRUCTURE_ROLE = "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForExpressServices"


def _get(student, host: str, timeout: float = 3.0) -> tuple[int, str] | None:
    """GET http://HOST/ as a student's kernel sends it: to the cloud's port, by Host."""
    try:
        answer = requests.get(f"http://127.0.0.1:{student.cloud.port}/", headers={"Host": host}, timeout=timeout)
        return answer.status_code, answer.text
    except requests.RequestException:
        return None


def _container(provider: str) -> str:
    return json.dumps({"image": IMAGE, "containerPort": 8080,
                       "environment": [{"name": "CLOUD_PROVIDER", "value": provider}]})


def test_an_express_service_answers_updates_and_goes(student):  # noqa: F811
    created = student.aws("ecs", "create-express-gateway-service", "--service-name", "my-express",
                          "--execution-role-arn", EXECUTION_ROLE, "--infrastructure-role-arn", INFRASTRUCTURE_ROLE,
                          "--primary-container", _container("AWS"), "--health-check-path", "/")["service"]
    assert created["status"]["statusCode"] == "ACTIVE" and created["cluster"].endswith(":cluster/default")
    config = created["activeConfigurations"][0]
    endpoint = config["ingressPaths"][0]["endpoint"]
    assert endpoint.startswith("my-express-") and endpoint.endswith(".ecs.ap-northeast-2.on.aws")
    assert (config["cpu"], config["memory"], config["healthCheckPath"]) == ("256", "512", "/")  # the API's defaults
    assert wait_for(lambda: _get(student, endpoint) == (200, "Hello from AWS!"), 30, "the endpoint to answer")

    # what Express Mode made, where a student looks for it
    service = student.aws("ecs", "describe-services", "--cluster", "default", "--services", "my-express")["services"][0]
    assert service["launchType"] == "FARGATE" and service["runningCount"] == 1
    group_arn = service["loadBalancers"][0]["targetGroupArn"]
    groups = student.aws("elbv2", "describe-target-groups", "--target-group-arns", group_arn)["TargetGroups"]
    assert groups[0]["TargetType"] == "ip" and groups[0]["HealthCheckPath"] == "/" and groups[0]["Port"] == 8080
    balancers = student.aws("elbv2", "describe-load-balancers")["LoadBalancers"]
    assert [b["LoadBalancerArn"] for b in balancers] == groups[0]["LoadBalancerArns"]
    # healthy, once Flask answers the checks (the first may fail while it starts: unhealthy, then healthy)
    assert wait_for(lambda: [d["TargetHealth"]["State"] for d in student.aws(
        "elbv2", "describe-target-health", "--target-group-arn", group_arn)["TargetHealthDescriptions"]] == ["healthy"],
        30, "the target to be healthy")

    updated = student.aws("ecs", "update-express-gateway-service", "--service-arn", created["serviceArn"],
                          "--primary-container", _container("AWS-v2"))["service"]
    assert updated["targetConfiguration"]["taskDefinitionArn"].endswith(":2")
    assert wait_for(lambda: all(_get(student, endpoint) == (200, "Hello from AWS-v2!") for _ in range(5)), 30,
                    "the new version to take over")
    described = student.aws("ecs", "describe-express-gateway-service", "--service-arn", created["serviceArn"])
    assert described["service"]["activeConfigurations"][0]["primaryContainer"]["environment"] == [
        {"name": "CLOUD_PROVIDER", "value": "AWS-v2"}]

    gone = student.aws("ecs", "delete-express-gateway-service", "--service-arn", created["serviceArn"])["service"]
    assert gone["status"]["statusCode"] == "DRAINING"
    assert _get(student, endpoint)[0] == 404
    assert wait_for(lambda: student.aws("ecs", "describe-express-gateway-service", "--service-arn",
                                        created["serviceArn"])["service"]["status"]["statusCode"] == "INACTIVE",
                    30, "the service to become INACTIVE")
    assert student.aws("elbv2", "describe-load-balancers")["LoadBalancers"] == []


def test_express_mode_refuses_what_ecs_refuses(student):  # noqa: F811
    missing = student.run(AWS, "ecs", "create-express-gateway-service", "--infrastructure-role-arn",
                          INFRASTRUCTURE_ROLE, "--primary-container", _container("AWS"), check=False)
    assert missing.returncode != 0 and "InvalidParameterException" in missing.stderr
    assert "executionRoleArn" in missing.stderr
    unknown = student.run(AWS, "ecs", "describe-express-gateway-service", "--service-arn",
                          "arn:aws:ecs:ap-northeast-2:123456789012:service/default/nope", check=False)
    assert unknown.returncode != 0 and "ServiceNotFoundException" in unknown.stderr


def test_a_canary_over_two_ecs_services_splits_by_weight_and_promotes(student, tmp_path):  # noqa: F811
    vpc = student.aws("ec2", "describe-vpcs", "--filters", "Name=isDefault,Values=true")["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in student.aws("ec2", "describe-subnets")["Subnets"] if s["VpcId"] == vpc][:2]
    lb = student.aws("elbv2", "create-load-balancer", "--name", "canary-alb", "--subnets", *subnets)["LoadBalancers"][0]
    groups = {}
    for version, provider in (("v1", "AWS"), ("v2", "AWS-v2")):
        groups[version] = student.aws("elbv2", "create-target-group", "--name", f"tg-{version}", "--protocol", "HTTP",
                                      "--port", "8080", "--vpc-id", vpc, "--target-type", "ip",
                                      "--health-check-path", "/")["TargetGroups"][0]["TargetGroupArn"]
    weights = lambda v1, v2: json.dumps([{"Type": "forward", "ForwardConfig": {"TargetGroups": [  # noqa: E731
        {"TargetGroupArn": groups["v1"], "Weight": v1}, {"TargetGroupArn": groups["v2"], "Weight": v2}]}}])
    listener = student.aws("elbv2", "create-listener", "--load-balancer-arn", lb["LoadBalancerArn"], "--protocol",
                           "HTTP", "--port", "80", "--default-actions", weights(90, 10))["Listeners"][0]
    for version, provider in (("v1", "AWS"), ("v2", "AWS-v2")):
        doc = json.loads(json.dumps(TASK_DEFINITION))
        doc["family"] = f"web-{version}"
        container = doc["containerDefinitions"][0]
        container["portMappings"][0]["containerPort"] = 8080
        container["environment"] = [{"name": "CLOUD_PROVIDER", "value": provider}]
        (tmp_path / f"{version}.json").write_text(json.dumps(doc))
        student.aws("ecs", "register-task-definition", "--cli-input-json", f"file://{version}.json", cwd=tmp_path)
        student.aws("ecs", "create-service", "--cluster", "my-cluster", "--service-name", f"web-{version}",
                    "--task-definition", f"web-{version}", "--desired-count", "1", "--launch-type", "FARGATE",
                    "--network-configuration", f"awsvpcConfiguration={{subnets=[{subnets[0]}]}}",
                    "--load-balancers", f"targetGroupArn={groups[version]},containerName=my-container,containerPort=8080")

    def healthy(version):
        found = student.aws("elbv2", "describe-target-health", "--target-group-arn", groups[version])
        return [d["TargetHealth"]["State"] for d in found["TargetHealthDescriptions"]] == ["healthy"]
    wait_for(lambda: healthy("v1") and healthy("v2"), 30, "both services' targets to be healthy")

    dns = lb["DNSName"]
    start = time.monotonic()
    answers = [_get(student, dns) for _ in range(400)]
    elapsed = time.monotonic() - start
    v2 = sum(1 for a in answers if a == (200, "Hello from AWS-v2!"))
    assert sum(1 for a in answers if a == (200, "Hello from AWS!")) + v2 == 400
    assert 20 <= v2 <= 64, v2  # 10% of 400 is 40; far outside a binomial's spread only if the split is wrong
    assert elapsed < 20, elapsed

    student.aws("elbv2", "modify-listener", "--listener-arn", listener["ListenerArn"], "--default-actions",
                weights(0, 100))
    assert {_get(student, dns) for _ in range(50)} == {(200, "Hello from AWS-v2!")}
