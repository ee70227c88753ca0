"""Lab 09's checks (AWS part) against states a student can really leave behind, made through boto3 on
a fresh local cloud: an empty cloud, an App Runner service on an image never pushed, an Express service
with Express Mode's own defaults, a listener at 90/10 not yet promoted, and the canary's split read
from request lines in each version's log. The happy path with apps really answering is proved by the
notebook test and the grader samples; here, what fails, with which message, and never as the
checker's own problem."""
from __future__ import annotations

import json

import pytest

from labkit.checks import lab09, service_urls
from labkit.checks.core import INFRA
from labkit.checks.registry import get_lab
from labkit.messages import catalogue

ACCOUNT, REGION = "123456789012", "ap-northeast-2"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/"
SOURCE = {
    "ImageRepository": {
        "ImageIdentifier": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-app:latest", "ImageRepositoryType": "ECR",
        "ImageConfiguration": {"Port": "8080", "RuntimeEnvironmentVariables": {"CLOUD_PROVIDER": "AWS"}}},
    "AuthenticationConfiguration": {"AccessRoleArn": ROLE + "AppRunnerECRAccessRole"},
}


def outcomes(ctx) -> dict[str, tuple[bool, str, dict]]:
    results = get_lab("lab09").run(ctx, include_hidden=True)
    assert not [r for r in results if r.kind == INFRA], [(r.condition, r.params) for r in results if r.kind == INFRA]
    return {r.condition: (r.passed, r.key, r.params) for r in results}


def wait_for(predicate, timeout=20.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_an_empty_cloud_fails_every_condition_saying_what_to_do_first(ctx):
    found = outcomes(ctx)
    assert not any(passed for passed, _, _ in found.values())
    assert found["apprunner.exists"][1] == "lab09.apprunner.exists.missing"
    assert found["apprunner.answers"][1] == "lab09.apprunner.answers.no_service"
    assert found["update.operation"][1] == "lab09.update.operation.no_service"
    assert found["express.exists"][1] == "lab09.express.exists.missing"
    assert found["express.roles"][1] == "lab09.express.roles.no_service"
    assert found["canary.services"][1] == "lab09.canary.services.none"
    assert found["canary.split"][1] == "lab09.canary.split.no_services"
    assert found["canary.promoted"][1] == "lab09.canary.promoted.no_listener"
    # every failure a student can meet says what to do (a hint), unless it only waits for an earlier one
    for passed, key, _ in found.values():
        assert passed or key.endswith(("no_service", "no_services", "no_listener")) or f"{key}.hint" in catalogue("en"), key


def test_app_runner_on_an_image_never_pushed_fails_with_its_log_group(ctx, aws):
    source = json.loads(json.dumps(SOURCE))
    source["ImageRepository"]["ImageIdentifier"] = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-app:v1.0"
    service = aws("apprunner").create_service(ServiceName="my-app", SourceConfiguration=source)["Service"]
    assert wait_for(lambda: aws("apprunner").describe_service(ServiceArn=service["ServiceArn"])["Service"]["Status"]
                    == "CREATE_FAILED")
    found = outcomes(ctx)
    assert found["apprunner.exists"][0]
    assert found["apprunner.running"] == (False, "lab09.apprunner.running.failed",
                                          {"group": f"/aws/apprunner/my-app/{service['ServiceId']}/service"})
    assert found["apprunner.image"][:2] == (False, "lab09.apprunner.image.not_pushed")
    assert found["apprunner.image"][2]["found"].endswith("my-app:v1.0")
    assert found["apprunner.config"][0]  # the port and CLOUD_PROVIDER are the lesson's
    assert found["apprunner.answers"] == (False, "lab09.apprunner.answers.not_running", {"status": "CREATE_FAILED"})
    assert found["apprunner.access_role"] == (False, "lab09.apprunner.access_role.no_role",
                                              {"name": "AppRunnerECRAccessRole"})  # nobody ran the setup's IAM cell
    assert found["update.operation"][1] == "lab09.update.operation.failed_service"
    assert found["update.env"] == (False, "lab09.update.env.other", {"found": "AWS", "value": "AWS-v2"})


def test_an_express_service_with_express_modes_defaults(ctx, aws, monkeypatch):
    """No port, no health check path: Express Mode's 80 and /ping, neither the app's."""
    monkeypatch.setattr(service_urls, "GRACE_S", 0.5)  # nothing will answer: its image was never pushed
    iam = aws("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName="ecsTaskExecutionRole", AssumeRolePolicyDocument=trust)
    ecs = aws("ecs")
    ecs.create_express_gateway_service(
        serviceName="my-app-express", executionRoleArn=ROLE + "ecsTaskExecutionRole",
        infrastructureRoleArn=ROLE + "ecsInfrastructureRoleForExpressServices",
        primaryContainer={"image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-app:latest",
                          "environment": [{"name": "CLOUD_PROVIDER", "value": "AWS"}]})
    found = outcomes(ctx)
    assert found["express.exists"][0]
    # the image was never pushed in this cloud: that is what the container check says first
    assert found["express.container"][:2] == (False, "lab09.express.container.image")
    assert found["express.health"] == (False, "lab09.express.health.path", {"found": "/ping", "path": "/"})
    assert found["express.roles"] == (False, "lab09.express.roles.no_role",
                                      {"name": "ecsInfrastructureRoleForExpressServices"})
    assert found["express.answers"][:2] == (False, "lab09.express.answers.wrong")
    # Express Mode's own service is not a canary version
    assert found["canary.services"][1] == "lab09.canary.services.none"


def _canary(aws, v1_weight: int, v2_weight: int) -> dict:
    """Two ECS services (CLOUD_PROVIDER AWS and AWS-v2; image never pushed, so no task runs) in two
    target groups, and a listener forwarding over both with these weights."""
    ec2, elbv2, ecs = aws("ec2"), aws("elbv2"), aws("ecs")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[
        {"Name": "vpc-id", "Values": [vpc]}, {"Name": "default-for-az", "Values": ["true"]}])["Subnets"][:2]]
    alb = elbv2.create_load_balancer(Name="my-alb", Subnets=subnets)["LoadBalancers"][0]
    groups = {v: elbv2.create_target_group(Name=f"my-app-{v}", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")
              ["TargetGroups"][0]["TargetGroupArn"] for v in ("v1", "v2")}
    actions = [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": groups["v1"], "Weight": v1_weight}, {"TargetGroupArn": groups["v2"], "Weight": v2_weight}]}}]
    listener = elbv2.create_listener(LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                     DefaultActions=actions)["Listeners"][0]
    ecs.create_cluster(clusterName="my-cluster")
    for version, provider in (("v1", "AWS"), ("v2", "AWS-v2")):
        ecs.register_task_definition(
            family=f"my-app-{version}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", executionRoleArn=ROLE + "ecsTaskExecutionRole",
            containerDefinitions=[{"name": "my-container", "image": lab09.IMAGE, "essential": True,
                                   "portMappings": [{"containerPort": 8080}],
                                   "environment": [{"name": "CLOUD_PROVIDER", "value": provider}]}])
        ecs.create_service(cluster="my-cluster", serviceName=f"my-app-{version}", taskDefinition=f"my-app-{version}",
                           desiredCount=1, launchType="FARGATE",
                           networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}},
                           loadBalancers=[{"targetGroupArn": groups[version], "containerName": "my-container",
                                           "containerPort": 8080}])
    return {"groups": groups, "listener": listener["ListenerArn"]}


def test_a_canary_not_yet_promoted_and_without_logs(ctx, aws):
    _canary(aws, 90, 10)
    found = outcomes(ctx)
    assert found["canary.services"] == (False, "lab09.canary.services.not_running", {"name": "my-app-v1"})
    assert found["canary.forward"] == (True, "lab09.canary.forward.ok", {"alb": "my-alb", "port": 80})
    assert found["canary.split"][:2] == (False, "lab09.canary.split.no_logs")  # no awslogs in these definitions
    assert found["canary.promoted"] == (False, "lab09.canary.promoted.weights", {"v1": 90, "v2": 10})
    assert found["canary.health"][:2] == (False, "lab09.canary.health.unhealthy")


def test_a_listener_over_other_target_groups_is_not_the_canary(ctx, aws):
    setup = _canary(aws, 0, 100)
    elbv2 = aws("elbv2")
    vpc = elbv2.describe_target_groups(TargetGroupArns=[setup["groups"]["v1"]])["TargetGroups"][0]["VpcId"]
    others = [elbv2.create_target_group(Name=f"other-{i}", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")
              ["TargetGroups"][0]["TargetGroupArn"] for i in (1, 2)]
    elbv2.modify_listener(ListenerArn=setup["listener"], DefaultActions=[{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": others[0], "Weight": 50}, {"TargetGroupArn": others[1], "Weight": 50}]}}])
    found = outcomes(ctx)
    assert found["canary.forward"][:2] == (False, "lab09.canary.forward.other_groups")
    assert found["canary.promoted"][:2] == (False, "lab09.canary.promoted.no_listener")


# -- the split, from request lines ------------------------------------------------------------------------

def _burst(start: float, count: int, every: float) -> list[float]:
    return [start + i * every for i in range(count)]


def test_the_split_counts_v2_while_v1_took_traffic():
    # health checks a second apart in both logs, a canary of 1000 requests (about 90/10) in ~2 s at 10 s,
    # then the promotion: 100 requests to v2 alone at 15 s
    health = _burst(0, 30, 1.0)
    v1 = sorted(health + _burst(10.0, 900, 2.0 / 900))
    v2 = sorted([t + 0.3 for t in health] + _burst(10.001, 100, 2.0 / 100) + _burst(15.0, 100, 0.005))
    n1, n2 = lab09.observed_split(v1, v2)
    assert 900 <= n1 <= 903 and 100 <= n2 <= 103  # at most the health checks inside the window
    assert abs(n2 / (n1 + n2) - 0.10) < 0.01


def test_the_split_ignores_a_v2_that_only_ever_took_traffic_alone():
    v1 = _burst(0, 30, 1.0)                      # health checks only: v1 never took traffic
    v2 = _burst(0, 30, 1.0) + _burst(12.0, 1000, 0.002)
    assert lab09.observed_split(v1, v2) == (0, 0)


@pytest.mark.parametrize("n,ok_share,bad_share", [(1000, 0.135, 0.20), (200, 0.18, 0.30)])
def test_the_tolerance_accepts_chance_and_refuses_other_weights(n, ok_share, bad_share):
    assert abs(ok_share - 0.10) <= lab09.tolerance(n) < abs(bad_share - 0.10)


def test_a_split_read_from_the_logs_passes_and_a_50_50_one_fails(ctx, aws, monkeypatch):
    """canary.split reads each version's request lines from CloudWatch Logs (stubbed here: no app runs)."""
    _canary(aws, 90, 10)
    lines = {"v1": _burst(100.0, 900, 0.002), "v2": _burst(100.001, 100, 0.018)}
    monkeypatch.setattr(lab09, "_request_times", lambda ctx, service: lines[service["name"][-2:]])
    assert outcomes(ctx)["canary.split"] == (True, "lab09.canary.split.ok", {"share": "10.0", "count": 1000, "v2": 100})
    lines["v2"] = _burst(100.001, 900, 0.002)
    ctx.cache.clear()
    assert outcomes(ctx)["canary.split"] == (False, "lab09.canary.split.off", {"share": "50.0", "count": 1800, "v2": 900})
    lines["v1"], lines["v2"] = _burst(100.0, 30, 0.002), _burst(100.001, 3, 0.018)
    ctx.cache.clear()
    assert outcomes(ctx)["canary.split"][:2] == (False, "lab09.canary.split.not_observed")


# -- step 5, GCP part: Cloud Run from source ----------------------------------------------------------------

def _push_stand_in(endpoint: str, repository: str) -> str:
    """The tests' small web app (answers $TEXT) pushed to Artifact Registry's `repository` as my-app:latest
    (the repository made first), with gcloud's docker credentials; its URI by digest, as gcloud deploys it."""
    import hashlib

    from google.cloud import artifactregistry_v1 as ar

    from labkit import gcp
    from labkit.cloud.gcp.project import ACCESS_TOKEN
    from tests.cloud.gcp.run.conftest import APP, AR_HOST, PARENT
    from tests.cloud.helpers import Registry
    from tests.cloud.runtime.images import stand_in_image

    gcp.artifact_registry_client(transport="rest", endpoint=endpoint).create_repository(
        parent=PARENT, repository_id=repository,
        repository=ar.Repository(format_=ar.Repository.Format.DOCKER)).result(timeout=30)
    manifest, blobs = stand_in_image({"/app/app.py": APP}, Cmd=["python", "app.py"])
    registry = Registry(endpoint, ("oauth2accesstoken", ACCESS_TOKEN), host=AR_HOST)
    name = f"labkit-project/{repository}/my-app"
    for data in blobs.values():
        assert registry.push_blob(name, data).status_code == 201
    answer = registry.push_manifest(name, "latest", manifest, "application/vnd.docker.distribution.manifest.v2+json")
    assert answer.status_code == 201, answer.text
    return f"{AR_HOST}/{name}@sha256:{hashlib.sha256(manifest).hexdigest()}"


def _cloud_run(ctx, image: str, env: dict, public: bool):
    """The Cloud Run service my-app in asia-northeast3 running `image` with `env`, made through the
    official client (what `labkit gcloud run deploy` sends), allUsers roles/run.invoker if `public`."""
    from google.cloud import run_v2
    from google.iam.v1 import policy_pb2

    from labkit import gcp

    services = gcp.run_client(transport="rest", endpoint=ctx.endpoint)
    container = run_v2.Container(image=image, env=[run_v2.EnvVar(name=k, value=v) for k, v in env.items()])
    service = services.create_service(parent="projects/labkit-project/locations/asia-northeast3", service_id="my-app",
                                      service=run_v2.Service(template=run_v2.RevisionTemplate(containers=[container])))
    service = service.result(timeout=60)
    if public:
        policy = policy_pb2.Policy(bindings=[policy_pb2.Binding(role="roles/run.invoker", members=["allUsers"])])
        services.set_iam_policy(request={"resource": service.name, "policy": policy})
    return service


def test_cloud_run_on_an_empty_cloud_says_to_deploy_from_source(ctx):
    found = outcomes(ctx)
    assert found["cloudrun.ready"] == (False, "lab09.cloudrun.ready.missing", {"name": "my-app", "region": "asia-northeast3"})
    assert "--source=." in catalogue("en")["lab09.cloudrun.ready.missing.hint"]
    for condition in ("source", "env", "public", "answers"):
        assert found[f"cloudrun.{condition}"][:2] == (False, f"lab09.cloudrun.{condition}.no_service")


def test_cloud_run_from_an_image_private_and_with_the_wrong_provider(ctx):
    """Deployed with --image from lesson 02's my-repo, without --allow-unauthenticated, CLOUD_PROVIDER=gcp:
    it is Ready, and every other condition says what is wrong."""
    image = _push_stand_in(ctx.endpoint, "my-repo")
    _cloud_run(ctx, image, {"CLOUD_PROVIDER": "gcp", "TEXT": "Hello from gcp!"}, public=False)
    found = outcomes(ctx)
    assert found["cloudrun.ready"][:2] == (True, "lab09.cloudrun.ready.ok")
    assert found["cloudrun.source"] == (False, "lab09.cloudrun.source.image",
                                        {"found": image, "repository": "cloud-run-source-deploy"})
    assert found["cloudrun.env"] == (False, "lab09.cloudrun.env.other", {"found": "gcp", "value": "GCP"})
    assert found["cloudrun.public"][:2] == (False, "lab09.cloudrun.public.private")
    url = found["cloudrun.answers"][2]["url"]
    assert found["cloudrun.answers"] == (False, "lab09.cloudrun.answers.forbidden", {"url": url})
    assert url == "https://my-app-123456789012.asia-northeast3.run.app"


def test_cloud_run_built_from_source_public_and_answering_passes(ctx):
    """What `gcloud run deploy my-app --source=.` leaves: the image in cloud-run-source-deploy, by digest."""
    image = _push_stand_in(ctx.endpoint, "cloud-run-source-deploy")
    _cloud_run(ctx, image, {"CLOUD_PROVIDER": "GCP", "TEXT": "Hello from GCP!"}, public=True)
    found = outcomes(ctx)
    assert {c: found[c][0] for c in found if c.startswith("cloudrun.")} == dict.fromkeys(
        ["cloudrun.ready", "cloudrun.source", "cloudrun.env", "cloudrun.public", "cloudrun.answers"], True)
    assert found["cloudrun.answers"][2]["found"] == "Hello from GCP!"
    # an image the repository does not hold (deleted since) proves no build from source
    from labkit.checks import lab09_gcp
    assert lab09_gcp._image_in_registry(ctx, image[:-4] + "0000") is False


def test_the_gcp_step_is_the_labs_fifth_and_its_keys_have_text():
    import inspect
    import re

    from labkit.checks import lab09_gcp

    lab = get_lab("lab09")
    assert [s.id for s in lab.steps][-1] == "cloudrun" and lab.step("cloudrun").max_points() == 5
    keys = set(re.findall(r'"(lab09\.[a-z0-9_.]+)"', inspect.getsource(lab09_gcp)))
    assert len(keys) > 15 and not [k for k in keys if k not in catalogue("en") or k not in catalogue("ko")]
    failures = [k for k in keys if not k.endswith((".ok", "no_service")) and k != "lab09.step.cloudrun"]
    assert not [k for k in failures if f"{k}.hint" not in catalogue("en")]
