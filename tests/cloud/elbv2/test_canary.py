"""Day 19's canary on the local cloud, typed as a student types it (the AWS CLI): an ALB listener
forwarding over two target groups weighted 90/10 really splits 1,000 requests by those weights (the
weighted pick seeded), and modify-listener to 0/100 promotes v2."""
from __future__ import annotations

import json

from tests.cloud.elbv2.conftest import aws


def ok(env, *args) -> dict:
    result = aws(env, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def forward_json(*weighted) -> str:
    return json.dumps([{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": arn, "Weight": weight} for arn, weight in weighted]}}])


def test_canary_90_10_then_promoted(cloud, cli_env, network, upstream):
    v1, v2 = upstream("Hello from v1"), upstream("Hello from v2")
    subnets, vpc = network
    lb = ok(cli_env, "elbv2", "create-load-balancer", "--name", "my-alb", "--subnets", *subnets)["LoadBalancers"][0]
    groups = {}
    for name, app in (("my-app-v1", v1), ("my-app-v2", v2)):
        groups[name] = ok(cli_env, "elbv2", "create-target-group", "--name", name, "--protocol", "HTTP",
                          "--port", "8080", "--vpc-id", vpc, "--target-type", "ip",
                          "--health-check-path", "/health")["TargetGroups"][0]["TargetGroupArn"]
        ok(cli_env, "elbv2", "register-targets", "--target-group-arn", groups[name],
           "--targets", f"Id=127.0.0.1,Port={app.port}")
    listener = ok(cli_env, "elbv2", "create-listener", "--load-balancer-arn", lb["LoadBalancerArn"],
                  "--protocol", "HTTP", "--port", "80", "--default-actions",
                  forward_json((groups["my-app-v1"], 90), (groups["my-app-v2"], 10)))["Listeners"][0]
    weights = [g["Weight"] for g in listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]]
    assert weights == [90, 10]

    health = ok(cli_env, "elbv2", "describe-target-health", "--target-group-arn", groups["my-app-v2"])
    assert [d["TargetHealth"]["State"] for d in health["TargetHealthDescriptions"]] == ["healthy"]  # one check

    cloud.plane.random.seed(19)
    answers = cloud.hit(lb["DNSName"], 1000)
    assert sum(answers.values()) == 1000 and set(answers) == {"Hello from v1", "Hello from v2"}
    assert abs(answers["Hello from v2"] / 1000 - 0.10) <= 0.03, answers
    assert (v1.seen, v2.seen) == (answers["Hello from v1"], answers["Hello from v2"])  # they really served them

    ok(cli_env, "elbv2", "modify-listener", "--listener-arn", listener["ListenerArn"], "--default-actions",
       forward_json((groups["my-app-v1"], 0), (groups["my-app-v2"], 100)))
    assert cloud.hit(lb["DNSName"], 200) == {"Hello from v2": 200}
    described = cloud.client("elbv2").describe_listeners(ListenerArns=[listener["ListenerArn"]])
    tuples = described["Listeners"][0]["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
    assert [(t["TargetGroupArn"], t["Weight"]) for t in tuples] == [(groups["my-app-v1"], 0),
                                                                   (groups["my-app-v2"], 100)]

