"""ECS's state and rules: clusters, task definitions, services (with their deployments and events),
tasks (with their containers), kept per account, then per region. No HTTP here (api.py), no
running of anything (scheduler.py moves tasks through their lifecycle with the runtime).

Obtain the backend with `backend(state)`; `CloudState.reset()` drops it (its scheduler then stops).
Times come from `state.clock`, ids from `state.ids`; every public method holds `state.lock`.
"""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field

from labkit.cloud.aws.ecs import errors, exec_sessions, load_balancers, taskdefs
from labkit.cloud.state import locked as _locked

SERVICE = "ecs"
PLATFORM_VERSIONS = {"LATEST": "1.4.0", "1.4.0": "1.4.0", "1.3.0": "1.3.0"}  # Fargate Linux
CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
LAUNCH_TYPES = ("EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES")
MAX_DESIRED = 5000          # ECS's quota "tasks per service"
MAX_EVENTS = 100            # describe-services shows the latest 100 events
STOPPED_TASKS_KEPT = 100    # per cluster; real ECS shows stopped tasks for about an hour
DEFAULT_DEPLOYMENT = {"deploymentCircuitBreaker": {"enable": False, "rollback": False},
                      "maximumPercent": 200, "minimumHealthyPercent": 100}
PENDING_STATES = ("PROVISIONING", "PENDING", "ACTIVATING")
ROOT = "arn:aws:iam::{account}:root"

NO_CONTAINER_INSTANCES = "No Container Instances were found in your cluster."


def backend(state) -> "EcsBackend":
    """The cloud's one ECS backend (created on first use, dropped by state.reset())."""
    return state.service(SERVICE, EcsBackend)


def arn(account: str, region: str, resource: str) -> str:
    return f"arn:aws:ecs:{region}:{account}:{resource}"


def short_name(ref: str, kind: str) -> str:
    """'my-cluster' or 'arn:aws:ecs:R:A:cluster/my-cluster' -> 'my-cluster'; for services and tasks
    the last path part ('service/CLUSTER/NAME', 'task/CLUSTER/ID', or the old forms without CLUSTER)."""
    if isinstance(ref, str) and ref.startswith("arn:"):
        resource = ref.split(":", 5)[-1]
        if resource.startswith(kind + "/"):
            return resource.split("/")[-1]
    return ref


# -- state ------------------------------------------------------------------------------------

@dataclass
class Cluster:
    account: str
    region: str
    name: str
    created_at: float
    capacity_providers: list[str] = field(default_factory=list)
    default_strategy: list[dict] = field(default_factory=list)
    settings: list[dict] = field(default_factory=lambda: [{"name": "containerInsights", "value": "disabled"}])
    configuration: dict | None = None
    service_connect_defaults: dict | None = None
    tags: list[dict] = field(default_factory=list)
    status: str = "ACTIVE"
    services: dict[str, "Service"] = field(default_factory=dict)   # the current service of each name
    tasks: dict[str, "Task"] = field(default_factory=dict)          # by task id

    @property
    def arn(self) -> str:
        return arn(self.account, self.region, f"cluster/{self.name}")


@dataclass
class TaskDefinition:
    account: str
    region: str
    family: str
    revision: int
    doc: dict                  # as taskdefs.normalise() returns it
    registered_at: float
    registered_by: str
    tags: list[dict] = field(default_factory=list)
    status: str = "ACTIVE"
    deregistered_at: float | None = None

    @property
    def arn(self) -> str:
        return arn(self.account, self.region, f"task-definition/{self.family}:{self.revision}")

    @property
    def containers(self) -> list[dict]:
        return self.doc["containerDefinitions"]

    @property
    def fargate_ok(self) -> bool:
        return "FARGATE" in self.doc["compatibilities"]


@dataclass
class Deployment:
    id: str
    task_definition: TaskDefinition
    desired_count: int
    created_at: float
    updated_at: float
    launch_type: str | None
    capacity_provider_strategy: list[dict] | None
    platform_version: str | None
    network_configuration: dict | None
    service_connect_configuration: dict | None
    service_connect_resources: list[dict] = field(default_factory=list)  # Cloud Map services (cloudmap.py)
    status: str = "PRIMARY"            # PRIMARY | ACTIVE | INACTIVE
    rollout_state: str = "IN_PROGRESS"  # IN_PROGRESS | COMPLETED | FAILED
    rollout_state_reason: str = ""
    failed_tasks: int = 0


@dataclass
class Service:
    account: str
    region: str
    cluster: Cluster
    name: str
    created_at: float
    desired_count: int
    task_definition: TaskDefinition
    launch_type: str | None
    capacity_provider_strategy: list[dict] | None
    platform_version: str | None
    network_configuration: dict | None
    deployment_configuration: dict
    created_by: str
    tags: list[dict] = field(default_factory=list)
    load_balancers: list[dict] = field(default_factory=list)
    service_registries: list[dict] = field(default_factory=list)
    scheduling_strategy: str = "REPLICA"
    deployment_controller: dict = field(default_factory=lambda: {"type": "ECS"})
    enable_ecs_managed_tags: bool = False
    propagate_tags: str = "NONE"
    enable_execute_command: bool = False
    health_check_grace_period: int | None = None
    service_connect_configuration: dict | None = None
    service_connect_resources: list[dict] = field(default_factory=list)
    status: str = "ACTIVE"             # ACTIVE | DRAINING | INACTIVE
    deployments: list[Deployment] = field(default_factory=list)  # PRIMARY first
    events: list[dict] = field(default_factory=list)            # newest first
    # the scheduler's bookkeeping
    start_failures: int = 0
    next_start_at: float = 0.0
    steady: bool = False

    @property
    def arn(self) -> str:
        return arn(self.account, self.region, f"service/{self.cluster.name}/{self.name}")

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]

    def tasks(self) -> list["Task"]:
        return [t for t in self.cluster.tasks.values() if t.service is self]


@dataclass
class TaskContainer:
    name: str
    arn: str
    image: str
    essential: bool
    definition: dict
    runtime_name: str
    last_status: str = "PENDING"
    exit_code: int | None = None
    reason: str | None = None
    image_digest: str | None = None
    runtime_id: str | None = None
    address: str | None = None
    bindings: list[dict] = field(default_factory=list)
    started: bool = False    # runtime.start() returned
    exited: bool = False     # the runtime reported its exit (or it never started)


@dataclass
class Task:
    account: str
    region: str
    id: str
    cluster: Cluster
    task_definition: TaskDefinition
    created_at: float
    launch_type: str
    capacity_provider: str | None
    platform_version: str | None
    group: str
    started_by: str | None
    network_configuration: dict | None
    overrides: dict
    enable_execute_command: bool
    containers: list[TaskContainer]
    tags: list[dict] = field(default_factory=list)
    service: Service | None = None
    deployment: Deployment | None = None
    last_status: str = "PROVISIONING"
    desired_status: str = "RUNNING"
    version: int = 1
    eni_id: str = ""
    attachment_id: str = ""
    mac: str = ""
    pull_started_at: float | None = None
    pull_stopped_at: float | None = None
    started_at: float | None = None
    connectivity_at: float | None = None
    stopping_at: float | None = None
    stopped_at: float | None = None
    execution_stopped_at: float | None = None
    stop_code: str | None = None
    stopped_reason: str | None = None
    private_address: str | None = None
    failed_to_start: bool = False
    stop_issued: bool = False   # runtime.stop() was called for its containers
    history: list[str] = field(default_factory=lambda: ["PROVISIONING"])  # every lastStatus it had, in order

    @property
    def arn(self) -> str:
        return arn(self.account, self.region, f"task/{self.cluster.name}/{self.id}")

    @property
    def subnet(self) -> str | None:
        subnets = ((self.network_configuration or {}).get("awsvpcConfiguration") or {}).get("subnets") or []
        return subnets[0] if subnets else None

    def set_status(self, status: str) -> None:
        if status != self.last_status:
            self.last_status = status
            self.history.append(status)
            self.version += 1

    def request_stop(self, code: str, reason: str, now: float) -> bool:
        """Ask the task to stop (first reason wins, as ECS keeps the first stopCode). True if it was running."""
        if self.desired_status == "STOPPED":
            return False
        self.desired_status = "STOPPED"
        self.stop_code, self.stopped_reason = code, reason
        self.stopping_at = now
        self.version += 1
        return True


@dataclass
class Region:
    clusters: dict[str, Cluster] = field(default_factory=dict)
    families: dict[str, list[TaskDefinition]] = field(default_factory=dict)


# -- the backend ---------------------------------------------------------------------------------

class EcsBackend:
    def __init__(self, state):
        self.state = state
        self.clock = state.clock
        self.ids = state.ids
        self.lock = state.lock
        self._regions: dict[str, dict[str, Region]] = {}
        self._scheduler = None
        self.exec_sessions = exec_sessions.Sessions()

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def scheduler(self):
        if self._scheduler is None:
            from labkit.cloud.aws.ecs.scheduler import Scheduler

            self._scheduler = Scheduler(self)
        return self._scheduler

    def wake(self) -> None:
        """Something changed that the scheduler must act on."""
        self.scheduler.wake()

    def is_current(self) -> bool:
        """False once CloudState.reset() dropped this backend (its scheduler and callbacks then stop)."""
        return self.state.services.get(SERVICE) is self

    def region(self, account: str, region: str) -> Region:
        return self._regions.setdefault(account, {}).setdefault(region, Region())

    def regions(self):
        for by_region in list(self._regions.values()):
            yield from list(by_region.values())

    def new_uuid(self) -> str:
        raw = self.ids()
        try:
            return str(uuid.UUID(hex=raw))
        except ValueError:
            return str(uuid.uuid5(uuid.NAMESPACE_OID, raw))

    def new_hex(self) -> str:
        return self.new_uuid().replace("-", "")

    def _deployment_id(self) -> str:
        return "ecs-svc/" + str(int(self.new_hex(), 16) % 10 ** 19).rjust(19, "1")

    # -- clusters ------------------------------------------------------------------------------
    def cluster(self, account: str, region: str, ref: str | None) -> Cluster:
        name = short_name(ref or "default", "cluster")
        cluster = self.region(account, region).clusters.get(name)
        if cluster is None or cluster.status != "ACTIVE":
            raise errors.ClusterNotFound()
        return cluster

    @_locked
    def create_cluster(self, account: str, region: str, name: str | None, *, tags=None, settings=None,
                       configuration=None, capacity_providers=None, default_strategy=None,
                       service_connect_defaults=None) -> Cluster:
        name = name or "default"
        if not isinstance(name, str) or not taskdefs.FAMILY.match(name):
            raise errors.InvalidParameter("Cluster name can only contain letters, numbers, underscores, "
                                          "and hyphens, and be up to 255 characters long.")
        providers = list(capacity_providers or [])
        for provider in providers:
            _check_provider(provider)
        strategy = _check_strategy(default_strategy or [], providers)
        existing = self.region(account, region).clusters.get(name)
        if existing is not None and existing.status == "ACTIVE":
            return existing  # CreateCluster is idempotent for a name in use
        service_connect_defaults = _service_connect_defaults(account, region, service_connect_defaults)
        cluster = Cluster(account=account, region=region, name=name, created_at=self.clock(),
                          capacity_providers=providers, default_strategy=strategy,
                          configuration=configuration, service_connect_defaults=service_connect_defaults,
                          tags=_tags(tags))
        if settings:
            cluster.settings = [dict(s) for s in settings]
        self.region(account, region).clusters[name] = cluster
        return cluster

    @_locked
    def describe_clusters(self, account: str, region: str, refs) -> tuple[list[Cluster], list[dict]]:
        found, failures = [], []
        for ref in refs or ["default"]:
            cluster = self.region(account, region).clusters.get(short_name(ref, "cluster"))
            if cluster is None:
                failures.append({"arn": arn(account, region, f"cluster/{short_name(ref, 'cluster')}"),
                                 "reason": "MISSING"})
            else:
                found.append(cluster)
        return found, failures

    @_locked
    def list_clusters(self, account: str, region: str) -> list[Cluster]:
        """Deleted (INACTIVE) clusters too: ECS keeps listing them for a while (gruntwork-io/cloud-nuke#145,
        which had to filter ListClusters' answer by DescribeClusters' status)."""
        return list(self.region(account, region).clusters.values())

    @_locked
    def delete_cluster(self, account: str, region: str, ref: str) -> Cluster:
        cluster = self.cluster(account, region, ref)
        if any(s.status in ("ACTIVE", "DRAINING") for s in cluster.services.values()):
            raise errors.ClusterContainsServices()
        if any(t.last_status != "STOPPED" for t in cluster.tasks.values()):
            raise errors.ClusterContainsTasks()
        cluster.status = "INACTIVE"
        return cluster

    @_locked
    def put_cluster_capacity_providers(self, account, region, ref, providers, strategy) -> Cluster:
        cluster = self.cluster(account, region, ref)
        for provider in providers:
            _check_provider(provider)
        cluster.capacity_providers = list(providers)
        cluster.default_strategy = _check_strategy(strategy or [], cluster.capacity_providers)
        return cluster

    # -- task definitions ----------------------------------------------------------------------
    @_locked
    def register_task_definition(self, account: str, region: str, params: dict) -> TaskDefinition:
        doc = taskdefs.normalise(params)
        revisions = self.region(account, region).families.setdefault(doc["family"], [])
        td = TaskDefinition(account=account, region=region, family=doc["family"], revision=len(revisions) + 1,
                            doc=doc, registered_at=self.clock(), registered_by=ROOT.format(account=account),
                            tags=_tags(params.get("tags")))
        revisions.append(td)
        return td

    def task_definition(self, account: str, region: str, ref, *, missing=None) -> TaskDefinition:
        """'family' (latest ACTIVE revision), 'family:3' or its ARN."""
        missing = missing or (lambda: errors.ClientError("Unable to describe task definition."))
        if not isinstance(ref, str) or not ref:
            raise missing()
        text = ref.split(":", 5)[-1][len("task-definition/"):] if ref.startswith("arn:") else ref
        family, _, revision = text.partition(":")
        revisions = self.region(account, region).families.get(family, [])
        if revision:
            if not revision.isdigit() or not 1 <= int(revision) <= len(revisions):
                raise missing()
            return revisions[int(revision) - 1]
        active = [td for td in revisions if td.status == "ACTIVE"]
        if not active:
            raise missing()
        return active[-1]

    @_locked
    def describe_task_definition(self, account, region, ref) -> TaskDefinition:
        return self.task_definition(account, region, ref)

    @_locked
    def list_task_definitions(self, account, region, family_prefix=None, status="ACTIVE",
                              sort="ASC") -> list[TaskDefinition]:
        found = [td for family, revisions in sorted(self.region(account, region).families.items())
                 if not family_prefix or family == family_prefix
                 for td in revisions if td.status == (status or "ACTIVE")]
        return list(reversed(found)) if sort == "DESC" else found

    @_locked
    def list_task_definition_families(self, account, region, prefix=None, status="ACTIVE") -> list[str]:
        families = []
        for family, revisions in sorted(self.region(account, region).families.items()):
            if prefix and not family.startswith(prefix):
                continue
            active = any(td.status == "ACTIVE" for td in revisions)
            if status == "ALL" or (status == "INACTIVE" and not active) or (status in (None, "ACTIVE") and active):
                families.append(family)
        return families

    @_locked
    def deregister_task_definition(self, account, region, ref) -> TaskDefinition:
        if not isinstance(ref, str) or ":" not in ref.split("/")[-1]:
            raise errors.InvalidParameter("Invalid revision number. Number: ")
        td = self.task_definition(account, region, ref,
                                  missing=lambda: errors.ClientError("The specified task definition does not exist."))
        if td.status == "ACTIVE":
            td.status, td.deregistered_at = "INACTIVE", self.clock()
        return td

    # -- placement rules shared by services and RunTask --------------------------------------------
    def _placement(self, cluster: Cluster, td: TaskDefinition, launch_type, strategy, platform_version,
                   network_configuration) -> tuple[str | None, list[dict] | None, str | None]:
        """(launchType, capacityProviderStrategy, platformVersion) as ECS settles them, or its error."""
        if launch_type and strategy:
            raise errors.InvalidParameter("Specifying both a launch type and capacity provider strategy is not "
                                          "supported. Remove one and try again.")
        if launch_type is not None and launch_type not in LAUNCH_TYPES:
            raise errors.InvalidParameter(f"Invalid launch type: {launch_type}")
        if not launch_type and not strategy:
            if cluster.default_strategy:
                strategy = [dict(item) for item in cluster.default_strategy]
            else:
                launch_type = "EC2"
        if strategy:
            strategy = _check_strategy(strategy, cluster.capacity_providers)
        fargate = launch_type == "FARGATE" or bool(strategy)
        if launch_type == "FARGATE" and "FARGATE" not in td.doc["compatibilities"]:
            raise errors.InvalidParameter("Task definition does not support launch_type FARGATE.")
        if strategy and "FARGATE" not in td.doc["compatibilities"]:
            raise errors.InvalidParameter("Task definition does not support launch_type FARGATE.")
        if launch_type == "EC2" and platform_version is not None:
            raise errors.InvalidParameter("The platform version must be null when specifying an EC2 launch type.")
        if fargate:
            platform_version = platform_version or "LATEST"
            if platform_version not in PLATFORM_VERSIONS:
                raise errors.PlatformUnknown()
        awsvpc = td.doc["networkMode"] == "awsvpc"
        if awsvpc and not network_configuration:
            raise errors.InvalidParameter("Network Configuration must be provided when networkMode 'awsvpc' is "
                                          "specified.")
        if network_configuration:
            if not awsvpc:
                raise errors.InvalidParameter("Network Configuration is not valid for the given networkMode of "
                                              "this task definition.")
            _check_network(network_configuration)
        return launch_type, strategy, platform_version

    # -- services --------------------------------------------------------------------------------
    def service(self, cluster: Cluster, ref, *, active: bool = False) -> Service:
        service = cluster.services.get(short_name(ref, "service")) if isinstance(ref, str) else None
        if service is None:
            raise errors.ServiceNotFound()
        if active and service.status != "ACTIVE":
            raise errors.ServiceNotActive()
        return service

    @_locked
    def create_service(self, account: str, region: str, p: dict) -> Service:
        cluster = self.cluster(account, region, p.get("cluster"))
        name = p.get("serviceName")
        if not isinstance(name, str) or not taskdefs.FAMILY.match(name):
            raise errors.InvalidParameter("Service name can only contain letters, numbers, underscores, and "
                                          "hyphens, and be up to 255 characters long.")
        current = cluster.services.get(name)
        if current is not None and current.status != "INACTIVE":
            raise errors.InvalidParameter("Creation of service was not idempotent.")
        if p.get("taskDefinition") is None:
            raise errors.InvalidParameter("TaskDefinition can not be blank.")
        td = self.task_definition(account, region, p["taskDefinition"],
                                  missing=lambda: errors.InvalidParameter("TaskDefinition not found."))
        if td.status != "ACTIVE":
            raise errors.InvalidParameter("TaskDefinition is inactive")
        strategy_name = p.get("schedulingStrategy") or "REPLICA"
        desired = _desired_count(p.get("desiredCount"), default=0)
        launch_type, strategy, platform = self._placement(cluster, td, p.get("launchType"),
                                                          p.get("capacityProviderStrategy"),
                                                          p.get("platformVersion"), p.get("networkConfiguration"))
        if strategy_name == "DAEMON":
            if launch_type != "EC2":
                raise errors.InvalidParameter("Daemon services are not supported with the Fargate launch type.")
            desired = 0  # one task per container instance, and there are none (Fargate only)
        deployment_configuration = _deployment_configuration(p.get("deploymentConfiguration"))
        service_connect, resources = _service_connect(p.get("serviceConnectConfiguration"), td, cluster)
        if p.get("loadBalancers"):
            load_balancers.validate(account, region, p["loadBalancers"], td.doc)
        now = self.clock()
        service = Service(account=account, region=region, cluster=cluster, name=name, created_at=now,
                          desired_count=desired, task_definition=td, launch_type=launch_type,
                          capacity_provider_strategy=strategy, platform_version=platform,
                          network_configuration=p.get("networkConfiguration"),
                          deployment_configuration=deployment_configuration,
                          created_by=ROOT.format(account=account), tags=_tags(p.get("tags")),
                          load_balancers=list(p.get("loadBalancers") or []),
                          service_registries=list(p.get("serviceRegistries") or []),
                          scheduling_strategy=strategy_name,
                          deployment_controller=dict(p.get("deploymentController") or {"type": "ECS"}),
                          enable_ecs_managed_tags=bool(p.get("enableECSManagedTags")),
                          propagate_tags=p.get("propagateTags") or "NONE",
                          enable_execute_command=bool(p.get("enableExecuteCommand")),
                          health_check_grace_period=p.get("healthCheckGracePeriodSeconds"),
                          service_connect_configuration=service_connect, service_connect_resources=resources)
        service.deployments.append(self._new_deployment(service))
        cluster.services[name] = service
        self.wake()
        return service

    def _new_deployment(self, service: Service) -> Deployment:
        now = self.clock()
        deployment_id = self._deployment_id()
        return Deployment(id=deployment_id, task_definition=service.task_definition,
                          desired_count=service.desired_count, created_at=now, updated_at=now,
                          launch_type=service.launch_type, capacity_provider_strategy=service.capacity_provider_strategy,
                          platform_version=service.platform_version,
                          network_configuration=service.network_configuration,
                          service_connect_configuration=service.service_connect_configuration,
                          service_connect_resources=[dict(r) for r in service.service_connect_resources],
                          rollout_state_reason=f"ECS deployment {deployment_id} in progress.")

    @_locked
    def update_service(self, account: str, region: str, p: dict) -> Service:
        cluster = self.cluster(account, region, p.get("cluster"))
        service = self.service(cluster, p.get("service"), active=True)
        new_deployment = bool(p.get("forceNewDeployment"))
        td = service.task_definition
        if p.get("taskDefinition") is not None:
            td = self.task_definition(account, region, p["taskDefinition"],
                                      missing=lambda: errors.InvalidParameter("TaskDefinition not found."))
            if td.status != "ACTIVE":
                raise errors.InvalidParameter("TaskDefinition is inactive")
            new_deployment |= td is not service.task_definition
        launch_type, strategy = service.launch_type, service.capacity_provider_strategy
        if p.get("capacityProviderStrategy") is not None:
            launch_type, strategy = None, p["capacityProviderStrategy"]
            new_deployment = True
        platform = p.get("platformVersion", service.platform_version)
        new_deployment |= platform != service.platform_version
        network = p.get("networkConfiguration") or service.network_configuration
        new_deployment |= network != service.network_configuration
        launch_type, strategy, platform = self._placement(cluster, td, launch_type, strategy, platform, network)
        desired = service.desired_count
        if p.get("desiredCount") is not None:
            desired = _desired_count(p["desiredCount"], default=desired)
        balancers = p["loadBalancers"] if p.get("loadBalancers") is not None else service.load_balancers
        if balancers and (p.get("loadBalancers") is not None or td is not service.task_definition):
            load_balancers.validate(account, region, balancers, td.doc)
        service_connect, resources = service.service_connect_configuration, service.service_connect_resources
        if p.get("serviceConnectConfiguration") is not None:
            service_connect, resources = _service_connect(p["serviceConnectConfiguration"], td, cluster)
            new_deployment = True
        if p.get("deploymentConfiguration") is not None:
            service.deployment_configuration = _deployment_configuration(p["deploymentConfiguration"],
                                                                         service.deployment_configuration)
        # enableExecuteCommand alone starts no deployment: running tasks keep theirs until a new
        # deployment (`--force-new-deployment`) replaces them, as ECS does.
        if p.get("enableExecuteCommand") is not None:
            service.enable_execute_command = bool(p["enableExecuteCommand"])
        for key, attr in (("enableECSManagedTags", "enable_ecs_managed_tags"), ("propagateTags", "propagate_tags"),
                          ("healthCheckGracePeriodSeconds", "health_check_grace_period")):
            if p.get(key) is not None:
                setattr(service, attr, p[key])
        if p.get("loadBalancers") is not None:
            service.load_balancers = list(p["loadBalancers"])
            new_deployment = True
        service.task_definition, service.launch_type = td, launch_type
        service.capacity_provider_strategy, service.platform_version = strategy, platform
        service.network_configuration, service.service_connect_configuration = network, service_connect
        service.service_connect_resources = resources
        service.desired_count = desired
        service.primary.desired_count = desired
        service.primary.updated_at = self.clock()
        if new_deployment:
            for old in service.deployments:
                old.status = "ACTIVE"
            service.deployments.insert(0, self._new_deployment(service))
            service.steady = False
            service.start_failures, service.next_start_at = 0, 0.0
        elif desired != sum(1 for t in service.tasks() if t.desired_status == "RUNNING"):
            service.steady = False
        self.wake()
        return service

    @_locked
    def describe_services(self, account, region, cluster_ref, refs) -> tuple[list[Service], list[dict]]:
        cluster = self.cluster(account, region, cluster_ref)
        found, failures = [], []
        for ref in refs:
            service = cluster.services.get(short_name(ref, "service"))
            if service is None:
                # The old short form even where services have the long one, as ECS answers (seen in
                # aws-actions/amazon-ecs-deploy-task-definition#369: "arn:aws:ecs:…:service/NAME is MISSING").
                failures.append({"arn": arn(account, region, f"service/{short_name(ref, 'service')}"),
                                 "reason": "MISSING"})
            else:
                found.append(service)
        return found, failures

    @_locked
    def list_services(self, account, region, cluster_ref, launch_type=None) -> list[Service]:
        cluster = self.cluster(account, region, cluster_ref)
        return [s for s in cluster.services.values() if s.status != "INACTIVE"
                and (launch_type is None or s.launch_type == launch_type)]

    @_locked
    def delete_service(self, account, region, cluster_ref, ref, force: bool = False) -> Service:
        cluster = self.cluster(account, region, cluster_ref)
        service = self.service(cluster, ref)
        if service.status == "INACTIVE":
            raise errors.ServiceNotActive()
        if service.desired_count > 0 and not force:
            raise errors.InvalidParameter("The service cannot be stopped while it is scaled above 0.")
        service.desired_count = 0
        for deployment in service.deployments:
            deployment.desired_count = 0
        service.status = "DRAINING"
        self.wake()
        return service

    # -- tasks -----------------------------------------------------------------------------------
    def new_task(self, cluster: Cluster, td: TaskDefinition, *, launch_type, capacity_provider, platform_version,
                 group, started_by, network_configuration, overrides=None, enable_execute_command=False,
                 tags=None, service=None, deployment=None) -> Task:
        task_id = self.new_hex()
        account, region = cluster.account, cluster.region
        container_overrides = {o.get("name"): o for o in (overrides or {}).get("containerOverrides", [])}
        containers = []
        for definition in td.containers:
            definition = dict(definition)
            override = container_overrides.get(definition["name"]) or {}
            if override.get("command") is not None:
                definition["command"] = override["command"]
            if override.get("environment"):
                definition["environment"] = list(definition.get("environment", [])) + list(override["environment"])
            containers.append(TaskContainer(
                name=definition["name"], image=definition["image"], essential=bool(definition.get("essential", True)),
                arn=arn(account, region, f"container/{cluster.name}/{task_id}/{self.new_uuid()}"),
                definition=definition, runtime_name=f"ecs/{cluster.name}/{task_id}/{definition['name']}"))
        task = Task(account=account, region=region, id=task_id, cluster=cluster, task_definition=td,
                    created_at=self.clock(), launch_type=launch_type, capacity_provider=capacity_provider,
                    platform_version=PLATFORM_VERSIONS.get(platform_version) if platform_version else None,
                    group=group, started_by=started_by, network_configuration=network_configuration,
                    overrides=overrides or {"containerOverrides": [{"name": c.name} for c in containers],
                                            "inferenceAcceleratorOverrides": []},
                    enable_execute_command=enable_execute_command, containers=containers, tags=_tags(tags),
                    service=service, deployment=deployment)
        if td.doc["networkMode"] == "awsvpc":
            task.attachment_id = self.new_uuid()
            task.eni_id = "eni-" + self.new_hex()[:17]
            raw = self.new_hex()
            task.mac = ":".join(["0a"] + [raw[i:i + 2] for i in range(0, 10, 2)])
        cluster.tasks[task_id] = task
        _forget_old_stopped(cluster)
        return task

    @_locked
    def run_task(self, account, region, p: dict) -> tuple[list[Task], list[dict]]:
        cluster = self.cluster(account, region, p.get("cluster"))
        td = self.task_definition(account, region, p.get("taskDefinition"),
                                  missing=lambda: errors.InvalidParameter("TaskDefinition not found."))
        if td.status != "ACTIVE":
            raise errors.InvalidParameter("TaskDefinition is inactive")
        count = p.get("count") or 1
        if not isinstance(count, int) or not 1 <= count <= 10:
            raise errors.InvalidParameter("Count must be between 1 and 10.")
        launch_type, strategy, platform = self._placement(cluster, td, p.get("launchType"),
                                                          p.get("capacityProviderStrategy"),
                                                          p.get("platformVersion"), p.get("networkConfiguration"))
        if launch_type == "EC2" or launch_type in ("EXTERNAL", "MANAGED_INSTANCES"):
            raise errors.InvalidParameter(NO_CONTAINER_INSTANCES)
        tasks = []
        for _ in range(count):
            provider = pick_provider(strategy, [t.capacity_provider for t in tasks]) if strategy else None
            tasks.append(self.new_task(cluster, td, launch_type="FARGATE", capacity_provider=provider,
                                       platform_version=platform, group=p.get("group") or f"family:{td.family}",
                                       started_by=p.get("startedBy"),
                                       network_configuration=p.get("networkConfiguration"),
                                       overrides=p.get("overrides"),
                                       enable_execute_command=bool(p.get("enableExecuteCommand")),
                                       tags=p.get("tags")))
        self.wake()
        return tasks, []

    def task(self, cluster: Cluster, ref) -> Task | None:
        return cluster.tasks.get(short_name(ref, "task")) if isinstance(ref, str) else None

    @_locked
    def describe_tasks(self, account, region, cluster_ref, refs) -> tuple[list[Task], list[dict]]:
        cluster = self.cluster(account, region, cluster_ref)
        if not refs:
            raise errors.InvalidParameter("Tasks cannot be empty.")
        found, failures = [], []
        for ref in refs:
            task = self.task(cluster, ref)
            if task is None:
                failures.append({"arn": ref if str(ref).startswith("arn:")
                                 else arn(account, region, f"task/{cluster.name}/{ref}"), "reason": "MISSING"})
            else:
                found.append(task)
        return found, failures

    @_locked
    def list_tasks(self, account, region, p: dict) -> list[Task]:
        cluster = self.cluster(account, region, p.get("cluster"))
        service = None
        if p.get("serviceName"):
            service = self.service(cluster, p["serviceName"])
        desired = p.get("desiredStatus") or "RUNNING"
        found = []
        for task in sorted(cluster.tasks.values(), key=lambda t: t.created_at):
            if service is not None and task.service is not service:
                continue
            if p.get("family") and task.task_definition.family != p["family"]:
                continue
            if p.get("startedBy") and task.started_by != p["startedBy"]:
                continue
            if p.get("launchType") and task.launch_type != p["launchType"]:
                continue
            if desired == "STOPPED" and task.desired_status != "STOPPED":
                continue
            if desired in ("RUNNING", "PENDING") and task.desired_status != "RUNNING":
                continue
            found.append(task)
        return found

    @_locked
    def stop_task(self, account, region, cluster_ref, ref, reason: str | None = None) -> Task:
        cluster = self.cluster(account, region, cluster_ref)
        task = self.task(cluster, ref)
        if task is None:
            raise errors.InvalidParameter("The referenced task was not found.")
        task.request_stop("UserInitiated", reason or "Task stopped by user", self.clock())
        self.wake()
        return task

    @_locked
    def interrupt_spot(self, account, region, cluster_ref, ref) -> Task:
        """A FARGATE_SPOT interruption of one task (student-triggered: real Spot capacity is reclaimed
        with a two-minute warning, SIGTERM then SIGKILL). Known gap: no warning period."""
        cluster = self.cluster(account, region, cluster_ref)
        task = self.task(cluster, ref)
        if task is None:
            raise errors.InvalidParameter("The referenced task was not found.")
        if task.capacity_provider != "FARGATE_SPOT":
            raise errors.InvalidParameter("Only tasks on the FARGATE_SPOT capacity provider can be interrupted.")
        task.request_stop("SpotInterruption", "Your Spot Task was interrupted.", self.clock())
        self.wake()
        return task

    @_locked
    def execute_command(self, account, region, p: dict) -> tuple[Task, TaskContainer, exec_sessions.Session]:
        """ECS Exec's checks, in the order ECS reports them, then the session (exec_sessions.py) that
        `labkit ecs exec` uses to run the command (the AWS CLI would hand it to the Session Manager plugin)."""
        task, container = self._exec_target(account, region, p)
        session = self.exec_sessions.open(f"ecs-execute-command-{self.new_hex()[:17]}", self.new_hex(), task,
                                          container, str(p.get("command")), self.clock())
        return task, container, session

    def _exec_target(self, account, region, p: dict) -> tuple[Task, TaskContainer]:
        cluster = self.cluster(account, region, p.get("cluster"))
        if not p.get("interactive"):
            raise errors.InvalidParameter("Interactive is the only mode supported currently.")
        task = self.task(cluster, p.get("task"))
        if task is None:
            raise errors.InvalidParameter("The referenced task was not found.")
        if not task.enable_execute_command or task.last_status != "RUNNING":
            raise errors.InvalidParameter(EXEC_NOT_ENABLED)
        name = p.get("container")
        if name is None:
            if len(task.containers) > 1:
                raise errors.InvalidParameter("Task has multiple containers. Specify a container name and try "
                                              "again.")
            return task, task.containers[0]
        for container in task.containers:
            if container.name == name:
                if container.last_status != "RUNNING":
                    raise errors.InvalidParameter(EXEC_NOT_ENABLED)
                return task, container
        raise errors.InvalidParameter(f"The container {name} does not exist in the task.")

    # -- tags ------------------------------------------------------------------------------------
    def _taggable(self, resource_arn: str):
        if not isinstance(resource_arn, str) or not resource_arn.startswith("arn:aws:ecs:"):
            raise errors.InvalidParameter("The ARN provided is invalid.")
        parts = resource_arn.split(":", 5)
        region, account, resource = parts[3], parts[4], parts[5]
        kind, _, rest = resource.partition("/")
        reg = self.region(account, region)
        if kind == "cluster":
            cluster = reg.clusters.get(rest)
            if cluster is not None:
                return cluster
        elif kind == "task-definition":
            try:
                return self.task_definition(account, region, resource_arn)
            except errors.EcsError:
                pass
        elif kind in ("service", "task"):
            pieces = rest.split("/")
            for cluster in reg.clusters.values():
                if len(pieces) == 2 and pieces[0] != cluster.name:
                    continue
                found = (cluster.services.get(pieces[-1]) if kind == "service" else cluster.tasks.get(pieces[-1]))
                if found is not None:
                    return found
        raise errors.InvalidParameter("The specified resource could not be found.")

    @_locked
    def tag_resource(self, resource_arn: str, tags) -> None:
        resource = self._taggable(resource_arn)
        merged = {t["key"]: t.get("value", "") for t in resource.tags}
        for tag in _tags(tags):
            merged[tag["key"]] = tag["value"]
        if len(merged) > 50:
            raise errors.InvalidParameter("Too many tags: a resource can have up to 50 tags.")
        resource.tags = [{"key": k, "value": v} for k, v in merged.items()]

    @_locked
    def untag_resource(self, resource_arn: str, keys) -> None:
        resource = self._taggable(resource_arn)
        resource.tags = [t for t in resource.tags if t["key"] not in set(keys or [])]

    @_locked
    def list_tags_for_resource(self, resource_arn: str) -> list[dict]:
        return [dict(t) for t in self._taggable(resource_arn).tags]


EXEC_NOT_ENABLED = ("The execute command failed because execute command was not enabled when the task was run or "
                    "the execute command agent isn\u2019t running. Wait and try again or run a new task with execute "
                    "command enabled and try again.")


# -- small rules --------------------------------------------------------------------------------

def _tags(tags) -> list[dict]:
    result = []
    for tag in tags or []:
        if not isinstance(tag, dict) or not tag.get("key"):
            raise errors.InvalidParameter("Tag keys must be non-empty.")
        if tag["key"].lower().startswith("aws:"):
            raise errors.InvalidParameter("Tag keys prefixed with 'aws:' are reserved for AWS use.")
        result.append({"key": tag["key"], "value": tag.get("value", "")})
    return result


def _check_provider(name) -> None:
    if name not in CAPACITY_PROVIDERS:
        # Known gap: Auto Scaling group capacity providers (CreateCapacityProvider) are not emulated.
        raise errors.InvalidParameter(f"The specified capacity provider '{name}' is not in an ACTIVE state. "
                                      f"Specify a valid capacity provider and try again.")


def _check_strategy(strategy, providers) -> list[dict]:
    result = []
    for item in strategy:
        name = item.get("capacityProvider")
        if name not in providers:
            raise errors.InvalidParameter(
                "The specified capacity provider strategy cannot contain a capacity provider that is not "
                "associated with the cluster. Associate the capacity provider with the cluster or specify a "
                "valid capacity provider and try again.")
        weight, base = item.get("weight", 0), item.get("base", 0)
        if not 0 <= int(weight) <= 1000 or not 0 <= int(base) <= 100000:
            raise errors.InvalidParameter("The capacity provider strategy weight must be between 0 and 1000 and "
                                          "its base between 0 and 100000.")
        result.append({"capacityProvider": name, "weight": int(weight), "base": int(base)})
    if sum(1 for item in result if item["base"]) > 1:
        raise errors.InvalidParameter("Only one capacity provider in a strategy can have a base defined.")
    if result and not any(item["weight"] for item in result):
        raise errors.InvalidParameter("At least one capacity provider in a strategy must have a weight greater "
                                      "than zero.")
    return result


def pick_provider(strategy: list[dict], placed: list[str | None]) -> str:
    """The capacity provider of the next task: bases first, then by weight (ECS's rule)."""
    counts = {item["capacityProvider"]: placed.count(item["capacityProvider"]) for item in strategy}
    for item in strategy:
        if counts[item["capacityProvider"]] < item["base"]:
            return item["capacityProvider"]
    weighted = [item for item in strategy if item["weight"] > 0]
    return min(weighted, key=lambda item: (counts[item["capacityProvider"]] - item["base"] + 1) / item["weight"]
               )["capacityProvider"]


def _check_network(network: dict) -> None:
    vpc = (network or {}).get("awsvpcConfiguration")
    if not vpc:
        raise errors.InvalidParameter("Network Configuration must be provided when networkMode 'awsvpc' is "
                                      "specified.")
    if not vpc.get("subnets"):
        raise errors.InvalidParameter("subnets can not be empty.")
    if len(vpc["subnets"]) > 16:
        raise errors.InvalidParameter("subnets can have at most 16 items.")
    if len(vpc.get("securityGroups") or []) > 5:
        raise errors.InvalidParameter("securityGroups can have at most 5 items.")


def _desired_count(value, default: int) -> int:
    if value is None:
        return default
    if not isinstance(value, int) or value < 0 or value > MAX_DESIRED:
        raise errors.InvalidParameter(f"The desired count must be between 0 and {MAX_DESIRED}.")
    return value


def _deployment_configuration(given, current: dict | None = None) -> dict:
    config = {k: (dict(v) if isinstance(v, dict) else v) for k, v in (current or DEFAULT_DEPLOYMENT).items()}
    for key, value in (given or {}).items():
        if value is not None:
            config[key] = value
    maximum, minimum = config.get("maximumPercent", 200), config.get("minimumHealthyPercent", 100)
    if not isinstance(minimum, int) or not 0 <= minimum <= 100:
        raise errors.InvalidParameter("The minimumHealthyPercent must be between 0 and 100.")
    if not isinstance(maximum, int) or maximum < 100 and maximum <= minimum or maximum > 200:
        raise errors.InvalidParameter("The maximumPercent must be greater than minimumHealthyPercent and at most 200.")
    return config


def _service_connect(config, td: TaskDefinition, cluster: Cluster) -> tuple[dict | None, list[dict]]:
    """Service Connect's configuration, kept as given, and its Cloud Map services (cloudmap.py): a
    portName must name a port mapping of the task definition; the namespace (else the cluster's
    default) must exist in Cloud Map. Known gap: no proxy (docs/fidelity.md)."""
    if config is None or not config.get("enabled"):
        return config, []
    names = taskdefs.port_names(td.doc)
    for entry in config.get("services") or []:
        port_name = entry.get("portName")
        if port_name not in names:
            raise errors.InvalidParameter(
                f"Service Connect portName '{port_name}' does not match any named port mapping in the "
                f"task definition {td.family}:{td.revision}. Add a name to a portMappings entry and try again.")
    namespace_ref = config.get("namespace") or (cluster.service_connect_defaults or {}).get("namespace")
    if not namespace_ref:
        raise errors.InvalidParameter("Service Connect requires a namespace: name one in "
                                      "serviceConnectConfiguration or set the cluster's serviceConnectDefaults.")
    from labkit.cloud.aws.ecs import cloudmap

    namespace = cloudmap.find_namespace(cluster.account, cluster.region, namespace_ref)
    if namespace is None:
        raise errors.NamespaceNotFound(f"Failed to retrieve namespace for {namespace_ref}")
    resources = []
    for entry in config.get("services") or []:
        discovery = entry.get("discoveryName") or entry["portName"]
        found = cloudmap.ensure_service(cluster.account, cluster.region, namespace["id"], discovery)
        resources.append({"discoveryName": discovery, "discoveryArn": found["arn"], "serviceId": found["id"],
                          "port": names[entry["portName"]]})
    return config, resources


def _service_connect_defaults(account: str, region: str, defaults) -> dict | None:
    """CreateCluster's serviceConnectDefaults: a new namespace name makes an HTTP namespace in Cloud Map."""
    if not defaults or not defaults.get("namespace"):
        return defaults
    from labkit.cloud.aws.ecs import cloudmap

    namespace = cloudmap.ensure_http_namespace(account, region, defaults["namespace"])
    if namespace is None:
        raise errors.NamespaceNotFound(f"Failed to retrieve namespace for {defaults['namespace']}")
    return {"namespace": namespace["arn"]}


def _forget_old_stopped(cluster: Cluster) -> None:
    stopped = [t for t in cluster.tasks.values() if t.last_status == "STOPPED"]
    for task in sorted(stopped, key=lambda t: t.stopped_at or 0)[:max(0, len(stopped) - STOPPED_TASKS_KEPT)]:
        del cluster.tasks[task.id]


def percent_of(desired: int, percent: int, up: bool) -> int:
    value = desired * percent / 100
    return math.ceil(value) if up else math.floor(value)
