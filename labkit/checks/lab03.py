"""Checks of lab 03 (Amazon ECS on Fargate: lesson sections 3.2-3.4 and 6.1).

Every condition reads state only, through fresh boto3 clients (ECS, CloudWatch Logs, Cloud Map),
and, for "the tasks answer", an HTTP GET to each task's address and port as `describe-tasks`
reports them: what a student's `curl` (or a load balancer's health check) would see.
"""
from __future__ import annotations

import time
import urllib.error
import urllib.request

from labkit.checks.core import CheckContext, Lab, Result, Step, condition

REGION = "ap-northeast-2"
ACCOUNT = "123456789012"
CLUSTER = "my-cluster"
PROVIDERS = ("FARGATE", "FARGATE_SPOT")
FAMILY = "my-task"
CONTAINER = "my-container"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-app:latest"
CPU, MEMORY = "256", "512"
LESSON_PORT, APP_PORT = 80, 8080
LOG_GROUP = "/ecs/my-task"
LOG_PREFIX = "ecs"
SERVICE = "my-service"
DESIRED = 2
BACKEND = "backend-service"
NAMESPACE = "my-app-namespace"
PORT_NAME = "http"
DISCOVERY_NAME = "backend"
ALIAS = ("backend.local", 80)
APP_ANSWER = b"Hello from "  # the section 9.1 app's page
APP_STARTED = "Running on"   # what Flask prints when it listens
HTTP_TIMEOUT_S = 2.0
STARTUP_GRACE_S = 8.0  # how long after a task's start the app may take to listen


# -- reading state ---------------------------------------------------------------------------------

def _ecs(ctx: CheckContext):
    return ctx.client("ecs", region=REGION)


def _cluster(ctx: CheckContext) -> dict | None:
    def fetch():
        found = _ecs(ctx).describe_clusters(clusters=[CLUSTER])["clusters"]
        return next((c for c in found if c.get("status") == "ACTIVE"), None)
    return ctx.cached("cluster", fetch)


def _revisions(ctx: CheckContext) -> dict[int, dict]:
    """revision -> task definition of the family my-task (every ACTIVE revision)."""
    def fetch():
        ecs = _ecs(ctx)
        found = {}
        arns = ecs.list_task_definitions(familyPrefix=FAMILY)["taskDefinitionArns"]
        for arn in arns:
            td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            found[td["revision"]] = td
        return found
    return ctx.cached("revisions", fetch)


def _service(ctx: CheckContext, name: str) -> dict | None:
    def fetch():
        if _cluster(ctx) is None:
            return None
        found = _ecs(ctx).describe_services(cluster=CLUSTER, services=[name])["services"]
        return next((s for s in found if s.get("status") == "ACTIVE"), None)
    return ctx.cached(f"service:{name}", fetch)


def _tasks(ctx: CheckContext, name: str, status: str = "RUNNING") -> list[dict]:
    """The service's tasks of that desired status (RUNNING: the ones it keeps; STOPPED: the ones it stopped)."""
    def fetch():
        if _service(ctx, name) is None:
            return []
        ecs = _ecs(ctx)
        arns = ecs.list_tasks(cluster=CLUSTER, serviceName=name, desiredStatus=status)["taskArns"]
        tasks = []
        for start in range(0, len(arns), 100):
            tasks += ecs.describe_tasks(cluster=CLUSTER, tasks=arns[start:start + 100])["tasks"]
        return tasks
    return ctx.cached(f"tasks:{name}:{status}", fetch)


def _running(ctx: CheckContext, name: str) -> list[dict]:
    return [t for t in _tasks(ctx, name) if t.get("lastStatus") == "RUNNING"]


def _container(td: dict) -> dict | None:
    return next((c for c in td.get("containerDefinitions", []) if c.get("name") == CONTAINER), None)


def _ports(td: dict) -> list[int]:
    container = _container(td) or {}
    return [m.get("containerPort") for m in container.get("portMappings", [])]


def _revision_of(service: dict) -> int | None:
    arn = service.get("taskDefinition") or ""
    family, _, revision = arn.rsplit("/", 1)[-1].partition(":")
    return int(revision) if family == FAMILY and revision.isdigit() else None


def answer(address: str, port: int) -> tuple[int, bytes] | None:
    """An HTTP GET of http://ADDRESS:PORT/ (no proxy: it is this machine), or None if nothing answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{address}:{port}/", timeout=HTTP_TIMEOUT_S) as reply:
            return reply.status, reply.read(4096)
    except urllib.error.HTTPError as error:
        return error.code, b""
    except (OSError, ValueError):
        return None


def _endpoint(task: dict) -> tuple[str, int, int] | None:
    """(address, port, containerPort) a client uses for the task: its networkBindings, as
    `describe-tasks` reports them (the address of its network interface if the binding has none)."""
    for container in task.get("containers", []):
        if container.get("name") != CONTAINER:
            continue
        for binding in container.get("networkBindings") or []:
            address = binding.get("bindIP")
            if not address or address == "0.0.0.0":
                interfaces = container.get("networkInterfaces") or [{}]
                address = interfaces[0].get("privateIpv4Address")
            port = binding.get("hostPort") or binding.get("containerPort")
            if address and port:
                return address, int(port), int(binding.get("containerPort") or port)
    return None


def _serves_page(reply) -> bool:
    return bool(reply) and reply[0] == 200 and reply[1].startswith(APP_ANSWER)


def _answers(ctx: CheckContext, name: str) -> list[tuple[dict, tuple | None, tuple | None]]:
    """(task, endpoint, reply) for each RUNNING task of the service. RUNNING means the container's
    process runs, not that the app listens yet: a task that started moments ago is asked again
    until STARTUP_GRACE_S after its start (as a health check's grace period allows)."""
    def fetch():
        found = []
        for task in _running(ctx, name):
            endpoint = _endpoint(task)
            reply = answer(endpoint[0], endpoint[1]) if endpoint else None
            started = task.get("startedAt")
            started = started.timestamp() if hasattr(started, "timestamp") else None
            while endpoint and not _serves_page(reply) and started and time.time() < started + STARTUP_GRACE_S:
                time.sleep(0.25)
                reply = answer(endpoint[0], endpoint[1])
            found.append((task, endpoint, reply))
        return found
    return ctx.cached(f"answers:{name}", fetch)


def short_id(task: dict) -> str:
    return task.get("taskArn", "").rsplit("/", 1)[-1][:8]


# -- step 1: the cluster -----------------------------------------------------------------------------

@condition(points=1)
def cluster_exists(ctx: CheckContext) -> list[Result]:
    ok = _cluster(ctx) is not None
    return [Result("cluster.exists", ok, "lab03.cluster.exists.ok" if ok else "lab03.cluster.exists.missing",
                   params={"name": CLUSTER})]


@condition(points=1)
def cluster_providers(ctx: CheckContext) -> list[Result]:
    cluster = _cluster(ctx)
    if cluster is None:
        return [Result("cluster.providers", False, "lab03.cluster.providers.no_cluster")]
    have = cluster.get("capacityProviders") or []
    missing = [p for p in PROVIDERS if p not in have]
    if not missing:
        return [Result("cluster.providers", True, "lab03.cluster.providers.ok")]
    if not have:
        return [Result("cluster.providers", False, "lab03.cluster.providers.none")]
    return [Result("cluster.providers", False, "lab03.cluster.providers.missing",
                   params={"name": missing[0], "found": ", ".join(have)})]


# -- step 2: the task definition -----------------------------------------------------------------------

def _first(ctx: CheckContext) -> dict | None:
    return _revisions(ctx).get(1)


@condition(points=1)
def taskdef_registered(ctx: CheckContext) -> list[Result]:
    ok = _first(ctx) is not None
    return [Result("taskdef.registered", ok, "lab03.taskdef.registered.ok" if ok else "lab03.taskdef.registered.missing")]


@condition(points=1)
def taskdef_fargate(ctx: CheckContext) -> list[Result]:
    td = _first(ctx)
    if td is None:
        return [Result("taskdef.fargate", False, "lab03.taskdef.fargate.no_taskdef")]
    if "FARGATE" not in (td.get("requiresCompatibilities") or []):
        return [Result("taskdef.fargate", False, "lab03.taskdef.fargate.not_fargate")]
    if (td.get("cpu"), td.get("memory")) != (CPU, MEMORY):
        return [Result("taskdef.fargate", False, "lab03.taskdef.fargate.size",
                       params={"found": f"{td.get('cpu')} CPU / {td.get('memory')} MiB"})]
    return [Result("taskdef.fargate", True, "lab03.taskdef.fargate.ok")]


@condition(points=1)
def taskdef_container(ctx: CheckContext) -> list[Result]:
    td = _first(ctx)
    if td is None:
        return [Result("taskdef.container", False, "lab03.taskdef.container.no_taskdef")]
    container = _container(td)
    if container is None:
        return [Result("taskdef.container", False, "lab03.taskdef.container.missing", params={"name": CONTAINER})]
    if container.get("image") != IMAGE:
        return [Result("taskdef.container", False, "lab03.taskdef.container.image",
                       params={"found": container.get("image") or "?", "image": IMAGE})]
    if LESSON_PORT not in _ports(td):
        return [Result("taskdef.container", False, "lab03.taskdef.container.port",
                       params={"port": LESSON_PORT})]
    return [Result("taskdef.container", True, "lab03.taskdef.container.ok", params={"image": IMAGE})]


def _log_group_exists(ctx: CheckContext) -> bool:
    def fetch():
        logs = ctx.client("logs", region=REGION)
        groups = logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
        return any(g["logGroupName"] == LOG_GROUP for g in groups)
    return ctx.cached("log_group", fetch)


@condition(points=1)
def log_group_exists(ctx: CheckContext) -> list[Result]:
    ok = _log_group_exists(ctx)
    return [Result("taskdef.log_group", ok, "lab03.taskdef.log_group.ok" if ok else "lab03.taskdef.log_group.missing",
                   params={"name": LOG_GROUP})]


@condition(points=1)
def taskdef_logging(ctx: CheckContext) -> list[Result]:
    td = _first(ctx)
    if td is None:
        return [Result("taskdef.logging", False, "lab03.taskdef.logging.no_taskdef")]
    log = (_container(td) or {}).get("logConfiguration") or {}
    options = log.get("options") or {}
    ok = (log.get("logDriver") == "awslogs" and options.get("awslogs-group") == LOG_GROUP
          and options.get("awslogs-region", REGION) == REGION and options.get("awslogs-stream-prefix") == LOG_PREFIX)
    return [Result("taskdef.logging", ok, "lab03.taskdef.logging.ok" if ok else "lab03.taskdef.logging.bad",
                   params={"name": LOG_GROUP})]


# -- step 3: the service -------------------------------------------------------------------------------

@condition(points=1)
def service_exists(ctx: CheckContext) -> list[Result]:
    if _cluster(ctx) is None:
        return [Result("service.exists", False, "lab03.service.exists.no_cluster", params={"name": CLUSTER})]
    ok = _service(ctx, SERVICE) is not None
    return [Result("service.exists", ok, "lab03.service.exists.ok" if ok else "lab03.service.exists.missing",
                   params={"name": SERVICE})]


@condition(points=1)
def service_settings(ctx: CheckContext) -> list[Result]:
    service = _service(ctx, SERVICE)
    if service is None:
        return [Result("service.settings", False, "lab03.service.settings.no_service")]
    if service.get("desiredCount") != DESIRED:
        return [Result("service.settings", False, "lab03.service.settings.count",
                       params={"found": service.get("desiredCount", 0), "count": DESIRED})]
    fargate = service.get("launchType") == "FARGATE" or any(
        s.get("capacityProvider") in PROVIDERS for s in service.get("capacityProviderStrategy") or [])
    if not fargate:
        return [Result("service.settings", False, "lab03.service.settings.launch_type")]
    return [Result("service.settings", True, "lab03.service.settings.ok", params={"count": DESIRED})]


@condition(points=1)
def service_running(ctx: CheckContext) -> list[Result]:
    if _service(ctx, SERVICE) is None:
        return [Result("service.running", False, "lab03.service.running.no_service")]
    running = len(_running(ctx, SERVICE))
    if running >= DESIRED:
        return [Result("service.running", True, "lab03.service.running.ok", params={"count": running})]
    return [Result("service.running", False, "lab03.service.running.few", params={"found": running, "count": DESIRED})]


def _log_lines(ctx: CheckContext) -> list[str]:
    """Every line the containers of my-task wrote into the log group (its streams ecs/my-container/*)."""
    def fetch():
        if not _log_group_exists(ctx):
            return []
        logs = ctx.client("logs", region=REGION)
        lines = []
        for page in logs.get_paginator("filter_log_events").paginate(
                logGroupName=LOG_GROUP, logStreamNamePrefix=f"{LOG_PREFIX}/{CONTAINER}/"):
            lines += [e.get("message", "") for e in page.get("events", [])]
        return lines
    return ctx.cached("log_lines", fetch)


@condition(points=1)
def service_logs(ctx: CheckContext) -> list[Result]:
    lines = _log_lines(ctx)
    ok = any(APP_STARTED in line for line in lines)
    if ok:
        return [Result("service.logs", True, "lab03.service.logs.ok", params={"name": LOG_GROUP})]
    if not _log_group_exists(ctx):
        return [Result("service.logs", False, "lab03.service.logs.no_group", params={"name": LOG_GROUP})]
    return [Result("service.logs", False, "lab03.service.logs.empty", params={"name": LOG_GROUP})]


# -- step 4: the port, revision 2, the rolling deployment -------------------------------------------------

def _fixed_revisions(ctx: CheckContext) -> list[int]:
    return sorted(r for r, td in _revisions(ctx).items() if r >= 2 and APP_PORT in _ports(td))


@condition(points=1)
def port_revision(ctx: CheckContext) -> list[Result]:
    revisions = _revisions(ctx)
    if _fixed_revisions(ctx):
        return [Result("port.revision", True, "lab03.port.revision.ok",
                       params={"revision": _fixed_revisions(ctx)[0], "port": APP_PORT})]
    later = sorted(r for r in revisions if r >= 2)
    if later:
        ports = _ports(revisions[later[-1]])
        if not ports:
            return [Result("port.revision", False, "lab03.port.revision.no_port",
                           params={"revision": later[-1], "port": APP_PORT})]
        return [Result("port.revision", False, "lab03.port.revision.wrong_port",
                       params={"revision": later[-1], "found": ", ".join(str(p) for p in ports), "port": APP_PORT})]
    return [Result("port.revision", False, "lab03.port.revision.missing", params={"port": APP_PORT})]


@condition(points=1)
def port_deployed(ctx: CheckContext) -> list[Result]:
    service = _service(ctx, SERVICE)
    if service is None:
        return [Result("port.deployed", False, "lab03.port.deployed.no_service")]
    revision = _revision_of(service)
    td = _revisions(ctx).get(revision or 0) or {}
    if APP_PORT not in _ports(td):
        return [Result("port.deployed", False, "lab03.port.deployed.old_revision",
                       params={"revision": revision or 0, "port": APP_PORT})]
    deployments = service.get("deployments") or []
    old = [t for t in _running(ctx, SERVICE) if t.get("taskDefinitionArn") != service.get("taskDefinition")]
    if len(deployments) > 1 or old:
        return [Result("port.deployed", False, "lab03.port.deployed.in_progress", params={"revision": revision})]
    return [Result("port.deployed", True, "lab03.port.deployed.ok", params={"revision": revision})]


# Every outcome of "the tasks answer", per service (keys written out in full, so they can be found).
PORT_ANSWERS = {"ok": "lab03.port.answers.ok", "no_service": "lab03.port.answers.no_service",
                "no_port": "lab03.port.answers.no_port", "wrong_port": "lab03.port.answers.wrong_port",
                "silent": "lab03.port.answers.silent", "few": "lab03.port.answers.few"}
BACKEND_ANSWERS = {"ok": "lab03.service_connect.answers.ok", "no_service": "lab03.service_connect.answers.no_service",
                   "no_port": "lab03.service_connect.answers.no_port",
                   "wrong_port": "lab03.service_connect.answers.wrong_port",
                   "silent": "lab03.service_connect.answers.silent", "few": "lab03.service_connect.answers.few"}


def _answer_results(ctx: CheckContext, name: str, condition_id: str, keys: dict[str, str]) -> Result:
    """Whether every RUNNING task of the service (at least DESIRED) answers the app's page."""
    if _service(ctx, name) is None:
        return Result(condition_id, False, keys["no_service"], params={"name": name})
    replies = _answers(ctx, name)
    good = [t for t, _, reply in replies if _serves_page(reply)]
    if len(good) >= DESIRED and len(good) == len(replies):
        return Result(condition_id, True, keys["ok"], params={"count": len(good), "name": name})
    silent = [(t, endpoint) for t, endpoint, reply in replies if not _serves_page(reply)]
    if silent:
        task, endpoint = silent[0]
        if endpoint is None:
            return Result(condition_id, False, keys["no_port"], params={"task": short_id(task), "name": name})
        address, port, container_port = endpoint
        key = keys["wrong_port"] if container_port != APP_PORT else keys["silent"]
        return Result(condition_id, False, key, params={"task": short_id(task), "address": f"{address}:{port}",
                                                        "port": container_port, "name": name})
    return Result(condition_id, False, keys["few"], params={"found": len(good), "count": DESIRED, "name": name})


@condition(points=2)
def port_answers(ctx: CheckContext) -> list[Result]:
    result = _answer_results(ctx, SERVICE, "port.answers", PORT_ANSWERS)
    result.points = 2.0
    return [result]


@condition(points=1)
def port_replaced(ctx: CheckContext) -> list[Result]:
    """The rolling deployment stopped the old tasks (ECS's scheduler, not the student, stopped them)."""
    if _service(ctx, SERVICE) is None:
        return [Result("port.replaced", False, "lab03.port.replaced.no_service")]
    first = [t for t in _tasks(ctx, SERVICE, "STOPPED") if t.get("taskDefinitionArn", "").endswith(f"/{FAMILY}:1")]
    by_deployment = [t for t in first if t.get("stopCode") == "ServiceSchedulerInitiated"]
    still = [t for t in _running(ctx, SERVICE) if t.get("taskDefinitionArn", "").endswith(f"/{FAMILY}:1")]
    ok = bool(by_deployment) and not still
    return [Result("port.replaced", ok, "lab03.port.replaced.ok" if ok else "lab03.port.replaced.not_yet")]


# -- step 5: ECS Exec ------------------------------------------------------------------------------------

@condition(points=1)
def exec_service(ctx: CheckContext) -> list[Result]:
    service = _service(ctx, SERVICE)
    if service is None:
        return [Result("exec.service", False, "lab03.exec.service.no_service")]
    ok = bool(service.get("enableExecuteCommand"))
    return [Result("exec.service", ok, "lab03.exec.service.ok" if ok else "lab03.exec.service.off")]


@condition(points=1)
def exec_tasks(ctx: CheckContext) -> list[Result]:
    service = _service(ctx, SERVICE)
    if service is None:
        return [Result("exec.tasks", False, "lab03.exec.tasks.no_service")]
    running = _running(ctx, SERVICE)
    without = [t for t in running if not t.get("enableExecuteCommand")]
    if running and not without:
        return [Result("exec.tasks", True, "lab03.exec.tasks.ok", params={"count": len(running)})]
    if not running:
        return [Result("exec.tasks", False, "lab03.exec.tasks.none")]
    return [Result("exec.tasks", False, "lab03.exec.tasks.old", params={"found": len(without), "count": len(running)})]


# -- step 6: Service Connect ------------------------------------------------------------------------------

def _namespace(ctx: CheckContext) -> dict | None:
    def fetch():
        cloud_map = ctx.client("servicediscovery", region=REGION)
        for page in cloud_map.get_paginator("list_namespaces").paginate():
            for namespace in page.get("Namespaces", []):
                if namespace.get("Name") == NAMESPACE:
                    return namespace
        return None
    return ctx.cached("namespace", fetch)


@condition(points=1)
def sc_namespace(ctx: CheckContext) -> list[Result]:
    ok = _namespace(ctx) is not None
    return [Result("service_connect.namespace", ok,
                   "lab03.service_connect.namespace.ok" if ok else "lab03.service_connect.namespace.missing",
                   params={"name": NAMESPACE})]


def _named_port(td: dict) -> dict | None:
    container = _container(td) or {}
    return next((m for m in container.get("portMappings", []) if m.get("name") == PORT_NAME), None)


@condition(points=1)
def sc_port_name(ctx: CheckContext) -> list[Result]:
    named = {r: _named_port(td) for r, td in _revisions(ctx).items() if _named_port(td)}
    good = sorted(r for r, mapping in named.items() if mapping.get("containerPort") == APP_PORT)
    if good:
        return [Result("service_connect.port_name", True, "lab03.service_connect.port_name.ok",
                       params={"revision": good[0], "port": APP_PORT})]
    if named:
        revision = max(named)
        return [Result("service_connect.port_name", False, "lab03.service_connect.port_name.wrong_port",
                       params={"revision": revision, "found": named[revision].get("containerPort", 0),
                               "port": APP_PORT})]
    return [Result("service_connect.port_name", False, "lab03.service_connect.port_name.missing",
                   params={"port": APP_PORT})]


@condition(points=1)
def sc_service(ctx: CheckContext) -> list[Result]:
    service = _service(ctx, BACKEND)
    if service is None:
        return [Result("service_connect.service", False, "lab03.service_connect.service.missing",
                       params={"name": BACKEND})]
    config = (service.get("deployments") or [{}])[0].get("serviceConnectConfiguration") \
        or service.get("serviceConnectConfiguration") or {}
    entries = config.get("services") or []
    entry = next((e for e in entries if e.get("portName") == PORT_NAME), None)
    namespace = config.get("namespace") or ""
    namespace_ok = namespace == NAMESPACE or namespace.endswith(f"/{NAMESPACE}") or (
        _namespace(ctx) is not None and namespace in (_namespace(ctx).get("Arn"), _namespace(ctx).get("Id")))
    aliases = {(a.get("dnsName"), a.get("port")) for a in (entry or {}).get("clientAliases") or []}
    if not config.get("enabled") or entry is None or not namespace_ok:
        return [Result("service_connect.service", False, "lab03.service_connect.service.not_enabled",
                       params={"name": BACKEND})]
    if entry.get("discoveryName") != DISCOVERY_NAME or ALIAS not in aliases:
        return [Result("service_connect.service", False, "lab03.service_connect.service.alias",
                       params={"name": BACKEND})]
    return [Result("service_connect.service", True, "lab03.service_connect.service.ok", params={"name": BACKEND})]


@condition(points=1)
def sc_answers(ctx: CheckContext) -> list[Result]:
    return [_answer_results(ctx, BACKEND, "service_connect.answers", BACKEND_ANSWERS)]


LAB = Lab(id="lab03", steps=[
    Step("cluster", "lab03.step.cluster", [cluster_exists, cluster_providers]),
    Step("task_definition", "lab03.step.task_definition",
         [taskdef_registered, taskdef_fargate, taskdef_container, log_group_exists], hidden=[taskdef_logging]),
    Step("service", "lab03.step.service", [service_exists, service_settings, service_running], hidden=[service_logs]),
    Step("port", "lab03.step.port", [port_revision, port_deployed, port_answers], hidden=[port_replaced]),
    Step("exec", "lab03.step.exec", [exec_service, exec_tasks]),
    Step("service_connect", "lab03.step.service_connect", [sc_namespace, sc_port_name, sc_service],
         hidden=[sc_answers]),
])
