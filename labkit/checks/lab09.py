"""Checks of lab 09 (lesson sections 6.3, 9.1, 9.2 and 9.3; day19's deployment strategies), AWS part:
App Runner, its update, ECS Express Mode, and a canary over two ECS services behind an ALB. The GCP
part's step (Cloud Run from source) is labkit/checks/lab09_gcp.py, included in LAB below.

Every condition reads state only, through fresh boto3 clients (App Runner, ECS, ELBv2, ECR, IAM,
CloudWatch Logs), and, for "it answers", HTTP GETs of the service URLs through the cloud the checks
grade (`labkit.net.get(url, endpoint=ctx.endpoint)`): what a student's `requests.get` sees.

The canary's split is read where AWS users read it too, after the fact: each version's own log.
The section 9.1 app (Flask) logs one line per request; while the listener forwarded 90/10, v1 took
bursts of requests and v2 about one in ten of them. The promotion (0/100) later leaves v1 with
only its health checks, so "v2's share while v1 was taking traffic" is the split the student saw.
"""
from __future__ import annotations

import math
import re

from labkit.checks import lab09_gcp, service_urls
from labkit.checks.core import CheckContext, Lab, Result, Step, condition

REGION = "ap-northeast-2"
ACCOUNT = "123456789012"
REPOSITORY, TAG = "my-app", "latest"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:{TAG}"
ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)(?::([^@]+))?(?:@(.+))?$")
APP_PORT = 8080
V1, V2 = "AWS", "AWS-v2"   # CLOUD_PROVIDER of each version: the app answers "Hello from AWS!" / "Hello from AWS-v2!"
APPRUNNER = "my-app"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/"
ACCESS_ROLE = "AppRunnerECRAccessRole"
EXECUTION_ROLE = "ecsTaskExecutionRole"
INFRASTRUCTURE_ROLE = "ecsInfrastructureRoleForExpressServices"
EXPRESS, EXPRESS_CLUSTER = "my-app-express", "default"
EXPRESS_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{EXPRESS_CLUSTER}/{EXPRESS}"
HEALTH_PATH = "/"
CANARY_SHARE = 0.10        # v2's weight at 90/10
MIN_OBSERVED = 100         # requests through the canary before a share means anything
BURST_GAP_S = 0.1          # v1's request lines closer than this are traffic (its health checks are ~1 s apart)
WINDOW_MARGIN_S = 0.5      # v2's lines this close to v1's traffic were sent with it (the two logs' clocks agree)
HEALTH_SLACK = 0.02        # health checks that fall inside the canary's window, in both logs
REQUEST_LINE = re.compile(r'"(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS) \S+ HTTP/[\d.]+" \d{3}')
HTTP_TIMEOUT_S = 3.0
PROMOTED_GETS = 20


def answer_text(provider: str) -> str:
    return f"Hello from {provider}!"


# -- shared readers --------------------------------------------------------------------------------

def _get(ctx: CheckContext, url: str):
    return service_urls.get(ctx, url, HTTP_TIMEOUT_S)


def _ask(ctx: CheckContext, url: str):
    """One GET, asked again while the URL may still be starting (service_urls.ask)."""
    return service_urls.ask(ctx, url, HTTP_TIMEOUT_S)


def _parse_image(image: str) -> tuple[str, str, str, str | None, str | None] | None:
    found = ECR_IMAGE.match(image or "")
    return found.groups() if found else None


def _pushed(ctx: CheckContext, image: str) -> bool:
    """Whether this cloud's ECR holds the image (by tag or digest) that a service names."""
    def fetch():
        parsed = _parse_image(image)
        if parsed is None:
            return False
        _account, region, repository, tag, digest = parsed
        ecr = ctx.client("ecr", region=region)
        image_id = {"imageDigest": digest} if digest else {"imageTag": tag or "latest"}
        try:
            return bool(ecr.describe_images(repositoryName=repository, imageIds=[image_id])["imageDetails"])
        except (ecr.exceptions.ImageNotFoundException, ecr.exceptions.RepositoryNotFoundException):
            return False
    return ctx.cached(f"pushed:{image}", fetch)


def _role_exists(ctx: CheckContext, name: str) -> bool:
    def fetch():
        iam = ctx.client("iam")
        try:
            iam.get_role(RoleName=name)
            return True
        except iam.exceptions.NoSuchEntityException:
            return False
    return ctx.cached(f"role:{name}", fetch)


def _role_name(arn: str | None) -> str:
    return (arn or "").rsplit("/", 1)[-1]


# -- App Runner ------------------------------------------------------------------------------------

def _apprunner(ctx: CheckContext) -> dict | None:
    """The App Runner service my-app as describe-service reports it (deleted ones are not listed)."""
    def fetch():
        client = ctx.client("apprunner", region=REGION)
        token = None
        while True:
            page = client.list_services(**({"NextToken": token} if token else {}))
            for summary in page.get("ServiceSummaryList", []):
                if summary.get("ServiceName") == APPRUNNER:
                    return client.describe_service(ServiceArn=summary["ServiceArn"])["Service"]
            token = page.get("NextToken")
            if not token:
                return None
    return ctx.cached("apprunner", fetch)


def _operations(ctx: CheckContext) -> list[dict]:
    """The service's operations, newest first (ListOperations)."""
    def fetch():
        service = _apprunner(ctx)
        if service is None:
            return []
        client = ctx.client("apprunner", region=REGION)
        found, token = [], None
        while True:
            page = client.list_operations(ServiceArn=service["ServiceArn"], **({"NextToken": token} if token else {}))
            found += page.get("OperationSummaryList", [])
            token = page.get("NextToken")
            if not token:
                return found
    return ctx.cached("apprunner_operations", fetch)


def _updated(ctx: CheckContext) -> bool:
    """Step 2 done: an UPDATE_SERVICE operation of this service succeeded."""
    return any(o.get("Type") == "UPDATE_SERVICE" and o.get("Status") == "SUCCEEDED" for o in _operations(ctx))


def _image_repository(service: dict) -> dict:
    return (service.get("SourceConfiguration") or {}).get("ImageRepository") or {}


def _apprunner_env(service: dict) -> dict:
    return (_image_repository(service).get("ImageConfiguration") or {}).get("RuntimeEnvironmentVariables") or {}


def _service_log_group(service: dict) -> str:
    return f"/aws/apprunner/{service.get('ServiceName')}/{service.get('ServiceId')}/service"


# -- step 1: App Runner ---------------------------------------------------------------------------------

@condition(points=1)
def apprunner_exists(ctx: CheckContext) -> list[Result]:
    ok = _apprunner(ctx) is not None
    return [Result("apprunner.exists", ok, "lab09.apprunner.exists.ok" if ok else "lab09.apprunner.exists.missing",
                   params={"name": APPRUNNER})]


@condition(points=1)
def apprunner_running(ctx: CheckContext) -> list[Result]:
    service = _apprunner(ctx)
    if service is None:
        return [Result("apprunner.running", False, "lab09.apprunner.running.no_service")]
    status = service.get("Status")
    if status == "RUNNING":
        return [Result("apprunner.running", True, "lab09.apprunner.running.ok")]
    if status == "CREATE_FAILED":
        return [Result("apprunner.running", False, "lab09.apprunner.running.failed",
                       params={"group": _service_log_group(service)})]
    if status == "OPERATION_IN_PROGRESS":
        return [Result("apprunner.running", False, "lab09.apprunner.running.in_progress")]
    return [Result("apprunner.running", False, "lab09.apprunner.running.other", params={"status": status})]


@condition(points=1)
def apprunner_image(ctx: CheckContext) -> list[Result]:
    service = _apprunner(ctx)
    if service is None:
        return [Result("apprunner.image", False, "lab09.apprunner.image.no_service")]
    image = _image_repository(service).get("ImageIdentifier") or ""
    if not _pushed(ctx, image):
        return [Result("apprunner.image", False, "lab09.apprunner.image.not_pushed",
                       params={"found": image or "?", "image": IMAGE})]
    if image != IMAGE:
        return [Result("apprunner.image", False, "lab09.apprunner.image.other", params={"found": image, "image": IMAGE})]
    return [Result("apprunner.image", True, "lab09.apprunner.image.ok", params={"image": IMAGE})]


@condition(points=1)
def apprunner_config(ctx: CheckContext) -> list[Result]:
    """Port 8080 and CLOUD_PROVIDER=AWS (AWS-v2 once step 2's update succeeded)."""
    service = _apprunner(ctx)
    if service is None:
        return [Result("apprunner.config", False, "lab09.apprunner.config.no_service")]
    port = (_image_repository(service).get("ImageConfiguration") or {}).get("Port") or "8080"
    if str(port) != str(APP_PORT):
        return [Result("apprunner.config", False, "lab09.apprunner.config.port", params={"found": port, "port": APP_PORT})]
    provider = _apprunner_env(service).get("CLOUD_PROVIDER")
    allowed = (V1, V2) if _updated(ctx) else (V1,)
    if provider is None:
        return [Result("apprunner.config", False, "lab09.apprunner.config.no_env", params={"value": V1})]
    if provider not in allowed:
        return [Result("apprunner.config", False, "lab09.apprunner.config.env", params={"found": provider, "value": V1})]
    return [Result("apprunner.config", True, "lab09.apprunner.config.ok", params={"port": APP_PORT, "value": provider})]


@condition(points=1)
def apprunner_answers(ctx: CheckContext) -> list[Result]:
    service = _apprunner(ctx)
    if service is None:
        return [Result("apprunner.answers", False, "lab09.apprunner.answers.no_service")]
    if service.get("Status") not in ("RUNNING", "OPERATION_IN_PROGRESS"):
        return [Result("apprunner.answers", False, "lab09.apprunner.answers.not_running",
                       params={"status": service.get("Status")})]
    wanted = [answer_text(V1)] + ([answer_text(V2)] if _updated(ctx) else [])
    reply = _ask(ctx, service["ServiceUrl"])
    url = f"http://{service.get('ServiceUrl')}/"
    if reply is not None and reply[0] == 200 and reply[1] in wanted:
        return [Result("apprunner.answers", True, "lab09.apprunner.answers.ok", params={"url": url, "found": reply[1]})]
    return [Result("apprunner.answers", False, "lab09.apprunner.answers.wrong",
                   params={"url": url, "found": service_urls.shown(reply), "expected": wanted[0]})]


@condition(points=1)
def apprunner_access_role(ctx: CheckContext) -> list[Result]:
    service = _apprunner(ctx)
    if service is None:
        return [Result("apprunner.access_role", False, "lab09.apprunner.access_role.no_service")]
    arn = ((service.get("SourceConfiguration") or {}).get("AuthenticationConfiguration") or {}).get("AccessRoleArn")
    if arn != ROLE + ACCESS_ROLE:
        return [Result("apprunner.access_role", False, "lab09.apprunner.access_role.other",
                       params={"found": arn or "-", "role": ROLE + ACCESS_ROLE})]
    if not _role_exists(ctx, ACCESS_ROLE):
        return [Result("apprunner.access_role", False, "lab09.apprunner.access_role.no_role", params={"name": ACCESS_ROLE})]
    return [Result("apprunner.access_role", True, "lab09.apprunner.access_role.ok", params={"name": ACCESS_ROLE})]


# -- step 2: the update ---------------------------------------------------------------------------------

@condition(points=1)
def update_operation(ctx: CheckContext) -> list[Result]:
    service = _apprunner(ctx)
    if service is None:
        return [Result("update.operation", False, "lab09.update.operation.no_service")]
    if service.get("Status") == "CREATE_FAILED":
        return [Result("update.operation", False, "lab09.update.operation.failed_service")]
    updates = [o for o in _operations(ctx) if o.get("Type") == "UPDATE_SERVICE"]
    if any(o.get("Status") == "SUCCEEDED" for o in updates):
        return [Result("update.operation", True, "lab09.update.operation.ok")]
    if not updates:
        return [Result("update.operation", False, "lab09.update.operation.missing")]
    latest = updates[0].get("Status")
    if latest in ("ROLLBACK_SUCCEEDED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "FAILED"):
        return [Result("update.operation", False, "lab09.update.operation.rolled_back",
                       params={"status": latest, "group": _service_log_group(service)})]
    return [Result("update.operation", False, "lab09.update.operation.in_progress", params={"status": latest})]


@condition(points=1)
def update_env(ctx: CheckContext) -> list[Result]:
    service = _apprunner(ctx)
    if service is None:
        return [Result("update.env", False, "lab09.update.env.no_service")]
    provider = _apprunner_env(service).get("CLOUD_PROVIDER")
    ok = provider == V2
    return [Result("update.env", ok, "lab09.update.env.ok" if ok else "lab09.update.env.other",
                   params={"found": provider or "-", "value": V2})]


@condition(points=1)
def update_answers(ctx: CheckContext) -> list[Result]:
    service = _apprunner(ctx)
    if service is None:
        return [Result("update.answers", False, "lab09.update.answers.no_service")]
    url = f"http://{service.get('ServiceUrl')}/"
    wanted = answer_text(V2)
    replies = [_ask(ctx, service["ServiceUrl"])] + [_get(ctx, url) for _ in range(2)]  # the new version alone answers
    bad = next((r for r in replies if r is None or r != (200, wanted)), None)
    if bad is None:
        return [Result("update.answers", True, "lab09.update.answers.ok", params={"url": url, "expected": wanted})]
    return [Result("update.answers", False, "lab09.update.answers.wrong",
                   params={"url": url, "found": service_urls.shown(bad), "expected": wanted})]


# -- step 3: ECS Express Mode ------------------------------------------------------------------------------

def _express(ctx: CheckContext) -> dict | None:
    def fetch():
        ecs = ctx.client("ecs", region=REGION)
        try:
            return ecs.describe_express_gateway_service(serviceArn=EXPRESS_ARN)["service"]
        except (ecs.exceptions.ServiceNotFoundException, ecs.exceptions.ClusterNotFoundException):
            return None
    return ctx.cached("express", fetch)


def _active_express(ctx: CheckContext) -> dict | None:
    service = _express(ctx)
    return service if service and (service.get("status") or {}).get("statusCode") == "ACTIVE" else None


def _express_config(service: dict) -> dict:
    return (service.get("activeConfigurations") or [{}])[0]


def _env_list(entries) -> dict:
    return {e.get("name"): e.get("value") for e in entries or [] if isinstance(e, dict)}


@condition(points=1)
def express_exists(ctx: CheckContext) -> list[Result]:
    service = _express(ctx)
    if service is None:
        return [Result("express.exists", False, "lab09.express.exists.missing", params={"name": EXPRESS})]
    status = (service.get("status") or {}).get("statusCode")
    if status != "ACTIVE":
        return [Result("express.exists", False, "lab09.express.exists.inactive", params={"name": EXPRESS, "status": status})]
    return [Result("express.exists", True, "lab09.express.exists.ok", params={"name": EXPRESS})]


@condition(points=1)
def express_container(ctx: CheckContext) -> list[Result]:
    service = _active_express(ctx)
    if service is None:
        return [Result("express.container", False, "lab09.express.container.no_service")]
    container = _express_config(service).get("primaryContainer") or {}
    image = container.get("image") or ""
    if image != IMAGE or not _pushed(ctx, image):
        return [Result("express.container", False, "lab09.express.container.image", params={"found": image, "image": IMAGE})]
    port = container.get("containerPort") or 80
    if port != APP_PORT:
        return [Result("express.container", False, "lab09.express.container.port", params={"found": port, "port": APP_PORT})]
    provider = _env_list(container.get("environment")).get("CLOUD_PROVIDER")
    if provider != V1:
        return [Result("express.container", False, "lab09.express.container.env",
                       params={"found": provider or "-", "value": V1})]
    return [Result("express.container", True, "lab09.express.container.ok", params={"port": APP_PORT, "value": V1})]


@condition(points=1)
def express_health(ctx: CheckContext) -> list[Result]:
    service = _active_express(ctx)
    if service is None:
        return [Result("express.health", False, "lab09.express.health.no_service")]
    path = _express_config(service).get("healthCheckPath") or "/ping"
    ok = path == HEALTH_PATH
    return [Result("express.health", ok, "lab09.express.health.ok" if ok else "lab09.express.health.path",
                   params={"found": path, "path": HEALTH_PATH})]


@condition(points=1)
def express_answers(ctx: CheckContext) -> list[Result]:
    service = _active_express(ctx)
    if service is None:
        return [Result("express.answers", False, "lab09.express.answers.no_service")]
    paths = _express_config(service).get("ingressPaths") or []
    endpoint = next((p.get("endpoint") for p in paths if p.get("endpoint")), None)
    if endpoint is None:
        return [Result("express.answers", False, "lab09.express.answers.no_endpoint")]
    wanted = answer_text(V1)
    reply = _ask(ctx, endpoint)
    url = f"http://{endpoint}/"
    if reply == (200, wanted):
        return [Result("express.answers", True, "lab09.express.answers.ok", params={"url": url, "expected": wanted})]
    return [Result("express.answers", False, "lab09.express.answers.wrong",
                   params={"url": url, "found": service_urls.shown(reply), "expected": wanted})]


@condition(points=1)
def express_resources(ctx: CheckContext) -> list[Result]:
    """What Express Mode made, where `describe-services` and `elbv2 describe-*` show it."""
    service = _active_express(ctx)
    if service is None:
        return [Result("express.resources", False, "lab09.express.resources.no_service")]
    ecs = ctx.client("ecs", region=REGION)
    found = ecs.describe_services(cluster=EXPRESS_CLUSTER, services=[EXPRESS])["services"]
    ecs_service = next((s for s in found if s.get("status") == "ACTIVE"), None)
    if ecs_service is None or ecs_service.get("runningCount", 0) < 1:
        return [Result("express.resources", False, "lab09.express.resources.no_tasks", params={"name": EXPRESS})]
    groups = [lb.get("targetGroupArn") for lb in ecs_service.get("loadBalancers") or [] if lb.get("targetGroupArn")]
    elbv2 = ctx.client("elbv2", region=REGION)
    target_groups = elbv2.describe_target_groups(TargetGroupArns=groups[:1])["TargetGroups"] if groups else []
    if not target_groups:
        return [Result("express.resources", False, "lab09.express.resources.no_target_group", params={"name": EXPRESS})]
    balancers = target_groups[0].get("LoadBalancerArns") or []
    albs = elbv2.describe_load_balancers(LoadBalancerArns=balancers[:1])["LoadBalancers"] if balancers else []
    if not albs or albs[0].get("Type") != "application":
        return [Result("express.resources", False, "lab09.express.resources.no_load_balancer", params={"name": EXPRESS})]
    return [Result("express.resources", True, "lab09.express.resources.ok",
                   params={"name": EXPRESS, "group": target_groups[0].get("TargetGroupName"),
                           "alb": albs[0].get("LoadBalancerName")})]


@condition(points=1)
def express_roles(ctx: CheckContext) -> list[Result]:
    service = _active_express(ctx)
    if service is None:
        return [Result("express.roles", False, "lab09.express.roles.no_service")]
    wanted = {"execution": (_express_config(service).get("executionRoleArn"), EXECUTION_ROLE),
              "infrastructure": (service.get("infrastructureRoleArn"), INFRASTRUCTURE_ROLE)}
    for kind, (arn, name) in wanted.items():
        if arn != ROLE + name:
            return [Result("express.roles", False, "lab09.express.roles.other",
                           params={"found": arn or "-", "role": ROLE + name})]
        if not _role_exists(ctx, name):
            return [Result("express.roles", False, "lab09.express.roles.no_role", params={"name": name})]
    return [Result("express.roles", True, "lab09.express.roles.ok",
                   params={"execution": EXECUTION_ROLE, "infrastructure": INFRASTRUCTURE_ROLE})]


# -- step 4: the canary ----------------------------------------------------------------------------------------

def _balanced_services(ctx: CheckContext) -> list[dict]:
    """Every ACTIVE ECS service that registers its tasks in a target group (the Express one aside), with
    its container's CLOUD_PROVIDER, image and log configuration from its task definition."""
    def fetch():
        ecs = ctx.client("ecs", region=REGION)
        found = []
        for cluster in ecs.list_clusters().get("clusterArns", []):
            arns = []
            for page in ecs.get_paginator("list_services").paginate(cluster=cluster):
                arns += page.get("serviceArns", [])
            for start in range(0, len(arns), 10):
                for service in ecs.describe_services(cluster=cluster, services=arns[start:start + 10])["services"]:
                    if service.get("status") != "ACTIVE" or service.get("serviceArn") == EXPRESS_ARN:
                        continue
                    for lb in service.get("loadBalancers") or []:
                        if lb.get("targetGroupArn"):
                            found.append(_describe_balanced(ecs, cluster, service, lb))
        return found
    return ctx.cached("balanced_services", fetch)


def _describe_balanced(ecs, cluster: str, service: dict, lb: dict) -> dict:
    td = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    containers = td.get("containerDefinitions") or []
    container = next((c for c in containers if c.get("name") == lb.get("containerName")), containers[0] if containers else {})
    return {"name": service.get("serviceName"), "cluster": cluster, "target_group": lb["targetGroupArn"],
            "running": service.get("runningCount", 0), "provider": _env_list(container.get("environment")).get("CLOUD_PROVIDER"),
            "image": container.get("image"), "container": container.get("name"),
            "logs": (container.get("logConfiguration") or {})}


def _versions(ctx: CheckContext) -> dict[str, dict]:
    """{"v1": service, "v2": service} by CLOUD_PROVIDER (AWS, AWS-v2), the first found of each."""
    found = {}
    for service in _balanced_services(ctx):
        for version, provider in (("v1", V1), ("v2", V2)):
            if service["provider"] == provider and version not in found:
                found[version] = service
    return found


def _weighted_listeners(ctx: CheckContext) -> list[dict]:
    """Every forward action over two or more target groups, on any ALB listener (default action or rule):
    {"alb": name, "dns": DNS name, "port": listener port, "weights": {target group ARN: weight}}."""
    def fetch():
        elbv2 = ctx.client("elbv2", region=REGION)
        found = []
        for page in elbv2.get_paginator("describe_load_balancers").paginate():
            for alb in page.get("LoadBalancers", []):
                if alb.get("Type") != "application":
                    continue
                for listener in elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"]).get("Listeners", []):
                    rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"]).get("Rules", [])
                    actions = [a for rule in rules for a in rule.get("Actions", [])] or listener.get("DefaultActions", [])
                    for action in actions:
                        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
                        if action.get("Type") == "forward" and len(groups) >= 2:
                            found.append({"alb": alb["LoadBalancerName"], "dns": alb["DNSName"], "port": listener["Port"],
                                          "weights": {g["TargetGroupArn"]: g.get("Weight", 1) for g in groups}})
        return found
    return ctx.cached("weighted_listeners", fetch)


def _canary_listener(ctx: CheckContext) -> dict | None:
    """The weighted forward over v1's and v2's target groups."""
    versions = _versions(ctx)
    if set(versions) != {"v1", "v2"}:
        return None
    wanted = {versions["v1"]["target_group"], versions["v2"]["target_group"]}
    return next((w for w in _weighted_listeners(ctx) if wanted <= set(w["weights"])), None)


def _listener_url(listener: dict) -> str:
    return listener["dns"] if listener["port"] == 80 else f"{listener['dns']}:{listener['port']}"


@condition(points=1)
def canary_services(ctx: CheckContext) -> list[Result]:
    balanced = _balanced_services(ctx)
    if not balanced:
        return [Result("canary.services", False, "lab09.canary.services.none")]
    versions = _versions(ctx)
    for version, provider in (("v1", V1), ("v2", V2)):
        if version not in versions:
            return [Result("canary.services", False, "lab09.canary.services.missing",
                           params={"version": version, "value": provider,
                                   "found": ", ".join(f"{s['name']} ({s['provider'] or '-'})" for s in balanced)})]
    for version in ("v1", "v2"):
        service = versions[version]
        if service["image"] != IMAGE:
            return [Result("canary.services", False, "lab09.canary.services.image",
                           params={"name": service["name"], "found": service["image"] or "-", "image": IMAGE})]
        if service["running"] < 1:
            return [Result("canary.services", False, "lab09.canary.services.not_running", params={"name": service["name"]})]
    return [Result("canary.services", True, "lab09.canary.services.ok",
                   params={"v1": versions["v1"]["name"], "v2": versions["v2"]["name"]})]


@condition(points=1)
def canary_forward(ctx: CheckContext) -> list[Result]:
    versions = _versions(ctx)
    if set(versions) != {"v1", "v2"}:
        return [Result("canary.forward", False, "lab09.canary.forward.no_services")]
    listener = _canary_listener(ctx)
    if listener is None:
        if _weighted_listeners(ctx):
            return [Result("canary.forward", False, "lab09.canary.forward.other_groups")]
        return [Result("canary.forward", False, "lab09.canary.forward.missing")]
    return [Result("canary.forward", True, "lab09.canary.forward.ok",
                   params={"alb": listener["alb"], "port": listener["port"]})]


def _request_times(ctx: CheckContext, service: dict) -> list[float] | None:
    """Epoch seconds of every request line the service's app logged (all its tasks' streams), or None
    when its task definition sends its output nowhere this check can read."""
    logs = service["logs"]
    options = logs.get("options") or {}
    group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
    if logs.get("logDriver") != "awslogs" or not group:
        return None
    client = ctx.client("logs", region=options.get("awslogs-region") or REGION)
    stream = f"{prefix}/{service['container']}/" if prefix else ""
    task_ids = _task_ids(ctx, service)
    times = []
    try:
        for page in client.get_paginator("filter_log_events").paginate(
                logGroupName=group, **({"logStreamNamePrefix": stream} if stream else {})):
            for event in page.get("events", []):
                if event.get("logStreamName", "").rsplit("/", 1)[-1] in task_ids and \
                        REQUEST_LINE.search(event.get("message", "")):
                    times.append(event["timestamp"] / 1000)
    except client.exceptions.ResourceNotFoundException:
        return None
    return sorted(times)


def _task_ids(ctx: CheckContext, service: dict) -> set[str]:
    ecs = ctx.client("ecs", region=REGION)
    ids = set()
    for status in ("RUNNING", "STOPPED"):
        for page in ecs.get_paginator("list_tasks").paginate(cluster=service["cluster"], serviceName=service["name"],
                                                             desiredStatus=status):
            ids |= {arn.rsplit("/", 1)[-1] for arn in page.get("taskArns", [])}
    return ids


def observed_split(v1_times: list[float], v2_times: list[float]) -> tuple[int, int]:
    """(v1 requests, v2 requests) while v1 took traffic: v1's lines in bursts (a neighbour closer than
    BURST_GAP_S; its health checks alone are about a second apart), and v2's lines within
    WINDOW_MARGIN_S of those bursts. After the promotion v1 takes no traffic, so v2's later
    requests fall outside every window."""
    burst = [t for i, t in enumerate(v1_times)
             if (i > 0 and t - v1_times[i - 1] < BURST_GAP_S) or (i + 1 < len(v1_times) and v1_times[i + 1] - t < BURST_GAP_S)]
    windows: list[list[float]] = []
    for t in burst:
        if windows and t - windows[-1][1] <= 2 * WINDOW_MARGIN_S:
            windows[-1][1] = t
        else:
            windows.append([t, t])
    in_window = 0
    for t in v2_times:
        if any(start - WINDOW_MARGIN_S <= t <= end + WINDOW_MARGIN_S for start, end in windows):
            in_window += 1
    return len(burst), in_window


def tolerance(n: int) -> float:
    """How far from 10% v2's observed share may be: 4.5 standard deviations of a binomial share
    (false alarms about 1 in 100,000), at least 3 points, plus the health checks inside the window."""
    return max(0.03, 4.5 * math.sqrt(CANARY_SHARE * (1 - CANARY_SHARE) / max(n, 1))) + HEALTH_SLACK


@condition(points=2)
def canary_split(ctx: CheckContext) -> list[Result]:
    versions = _versions(ctx)
    if set(versions) != {"v1", "v2"}:
        return [Result("canary.split", False, "lab09.canary.split.no_services", points=2.0)]
    v1_times, v2_times = (_request_times(ctx, versions[v]) for v in ("v1", "v2"))
    if v1_times is None or v2_times is None:
        return [Result("canary.split", False, "lab09.canary.split.no_logs", points=2.0)]
    v1, v2 = observed_split(v1_times, v2_times)
    total = v1 + v2
    if total < MIN_OBSERVED:
        return [Result("canary.split", False, "lab09.canary.split.not_observed", points=2.0,
                       params={"count": total, "minimum": MIN_OBSERVED})]
    share = v2 / total
    params = {"share": f"{100 * share:.1f}", "count": total, "v2": v2}
    ok = abs(share - CANARY_SHARE) <= tolerance(total)
    return [Result("canary.split", ok, "lab09.canary.split.ok" if ok else "lab09.canary.split.off", points=2.0,
                   params=params)]


@condition(points=1)
def canary_promoted(ctx: CheckContext) -> list[Result]:
    versions = _versions(ctx)
    listener = _canary_listener(ctx)
    if listener is None:
        return [Result("canary.promoted", False, "lab09.canary.promoted.no_listener")]
    v1 = listener["weights"].get(versions["v1"]["target_group"], 0)
    v2 = listener["weights"].get(versions["v2"]["target_group"], 0)
    if v1 != 0 or v2 <= 0:
        return [Result("canary.promoted", False, "lab09.canary.promoted.weights", params={"v1": v1, "v2": v2})]
    wanted = answer_text(V2)
    url = _listener_url(listener)
    replies = [_ask(ctx, url)] + [_get(ctx, url) for _ in range(PROMOTED_GETS - 1)]
    bad = next((r for r in replies if r != (200, wanted)), None)
    if bad is not None:
        return [Result("canary.promoted", False, "lab09.canary.promoted.answers",
                       params={"url": f"http://{url}/", "found": service_urls.shown(bad), "expected": wanted})]
    return [Result("canary.promoted", True, "lab09.canary.promoted.ok", params={"count": PROMOTED_GETS, "expected": wanted})]


@condition(points=1)
def canary_health(ctx: CheckContext) -> list[Result]:
    """Both target groups hold their service's running task as a healthy target."""
    versions = _versions(ctx)
    if set(versions) != {"v1", "v2"}:
        return [Result("canary.health", False, "lab09.canary.health.no_services")]
    elbv2 = ctx.client("elbv2", region=REGION)
    for version in ("v1", "v2"):
        service = versions[version]
        found = elbv2.describe_target_health(TargetGroupArn=service["target_group"])["TargetHealthDescriptions"]
        states = [d["TargetHealth"]["State"] for d in found]
        if "healthy" not in states:
            return [Result("canary.health", False, "lab09.canary.health.unhealthy",
                           params={"name": service["name"], "state": ", ".join(states) or "-"})]
    return [Result("canary.health", True, "lab09.canary.health.ok")]


LAB = Lab(id="lab09", steps=[
    Step("apprunner", "lab09.step.apprunner",
         [apprunner_exists, apprunner_running, apprunner_image, apprunner_config, apprunner_answers],
         hidden=[apprunner_access_role]),
    Step("apprunner_update", "lab09.step.apprunner_update", [update_operation, update_env, update_answers]),
    Step("express", "lab09.step.express",
         [express_exists, express_container, express_health, express_answers, express_resources],
         hidden=[express_roles]),
    Step("canary", "lab09.step.canary", [canary_services, canary_forward, canary_split, canary_promoted],
         hidden=[canary_health]),
    lab09_gcp.STEP,
])
