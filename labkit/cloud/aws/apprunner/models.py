"""App Runner's state and rules: services (their configuration, status and operations), kept per
account, then per region. No HTTP here (api.py), no running of anything (deployer.py carries out
each operation on the runtime and moves the service to its next status).

    status                   set by
    OPERATION_IN_PROGRESS    every operation while it runs (create, update, deploy, pause, resume, delete)
    RUNNING                  a deployment whose container passed the health check (or rolled back)
    CREATE_FAILED            the first deployment failed (image missing, app exits, health check fails)
    PAUSED / DELETED         pause / delete done

Obtain the backend with `backend(state)`; `CloudState.reset()` drops it (its threads then end).
Times come from `state.clock`, ids from `state.ids`; every public method holds `state.lock`.
"""
from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass, field

from labkit.cloud.aws.apprunner import errors, validation
from labkit.cloud.state import locked as _locked

SERVICE = "apprunner"
MAX_SERVICES = 30  # services per account and region (App Runner's default quota; see docs/fidelity.md)
SERVICE_ARN = re.compile(r"arn:aws:apprunner:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):service/(?P<name>[^/]+)/"
                         r"(?P<id>[0-9a-f]{32})")
UNUSABLE = ("CREATE_FAILED", "DELETED", "DELETE_FAILED")
QUOTA = ("App Runner can't create this resource. You've reached your account quota for this resource type. For "
         "App Runner per-resource quotas, see App Runner endpoints and quotas in the Amazon Web Services General "
         "Reference.")
UPDATE_STATES = ("RUNNING", "PAUSED")
DELETE_STATES = ("RUNNING", "PAUSED", "CREATE_FAILED", "DELETE_FAILED")
BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def backend(state) -> "AppRunnerBackend":
    """The cloud's one App Runner backend (created on first use, dropped by state.reset())."""
    return state.service(SERVICE, AppRunnerBackend)


# -- state ------------------------------------------------------------------------------------

@dataclass
class Version:
    """What one deployment runs: the source, the instance size and the health check."""
    source: dict
    instance: dict
    health: dict


@dataclass
class Operation:
    id: str
    type: str              # CREATE_SERVICE, START_DEPLOYMENT, UPDATE_SERVICE, PAUSE_, RESUME_, DELETE_SERVICE
    target_arn: str
    started_at: float
    updated_at: float
    status: str = "PENDING"  # PENDING, IN_PROGRESS, SUCCEEDED, FAILED, ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCEEDED
    ended_at: float | None = None
    rollback: Version | None = None  # UPDATE_SERVICE: the configuration a failed update returns to

    def set(self, status: str, now: float) -> None:
        self.status, self.updated_at = status, now
        if status in ("SUCCEEDED", "FAILED", "ROLLBACK_SUCCEEDED", "ROLLBACK_FAILED"):
            self.ended_at = now


@dataclass
class Instance:
    """One running copy of the service's application (a container on the runtime)."""
    id: str
    container_name: str
    version: Version
    container: object = None   # the runtime's Container
    upstream: object = None    # ingress Upstream(address, host port)
    stopping: bool = False     # asked to stop: its exit is no failure


@dataclass
class Service:
    account: str
    region: str
    name: str
    id: str
    url: str
    created_at: float
    updated_at: float
    version: Version
    network: dict
    auto_scaling: dict
    encryption: dict | None = None
    observability: dict | None = None
    tags: list[dict] = field(default_factory=list)
    status: str = "OPERATION_IN_PROGRESS"
    deleted_at: float | None = None
    operations: list[Operation] = field(default_factory=list)   # newest first
    serving: Instance | None = None      # the instance the URL reaches
    deployed: Version | None = None      # the version last deployed successfully
    replacements: int = 0                # failed attempts to replace an instance that exited

    @property
    def arn(self) -> str:
        return f"arn:aws:apprunner:{self.region}:{self.account}:service/{self.name}/{self.id}"

    def log_group(self, kind: str) -> str:
        """'service' (App Runner's own events) or 'application' (the app's stdout/stderr)."""
        return f"/aws/apprunner/{self.name}/{self.id}/{kind}"

    def upstream(self):
        """Where a request for the URL goes now (None: nothing serves)."""
        instance = self.serving
        return instance.upstream if instance is not None and self.status in ("RUNNING", "OPERATION_IN_PROGRESS") \
            else None


@dataclass
class Region:
    services: dict[str, Service] = field(default_factory=dict)  # by ARN, deleted ones included


class AppRunnerBackend:
    def __init__(self, state):
        self.state = state
        self.clock = state.clock
        self.ids = state.ids
        self.lock = state.lock
        self._regions: dict[str, dict[str, Region]] = {}
        from labkit.cloud.aws.apprunner.deployer import Deployer
        from labkit.cloud.aws.apprunner.service_logs import ServiceLogs

        self.logs = ServiceLogs(self)
        self.deployer = Deployer(self)

    def is_current(self) -> bool:
        """False once CloudState.reset() dropped this backend (its threads and callbacks then stop)."""
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
            return str(uuid.uuid4())

    def new_hex(self) -> str:
        raw = self.ids()
        return raw if re.fullmatch(r"[0-9a-f]{32}", raw or "") else uuid.uuid4().hex

    def _subdomain(self) -> str:
        """Ten lower-case letters and digits, as App Runner's default domains (psbqam834h.us-east-1...)."""
        number = int(self.new_hex(), 16)
        out = ""
        for _ in range(10):
            number, digit = divmod(number, 36)
            out += BASE36[digit]
        return out

    # -- services --------------------------------------------------------------------------------
    @_locked
    def create_service(self, account: str, region: str, p: dict) -> tuple[Service, Operation]:
        name = validation.service_name(p.get("ServiceName"))
        if p.get("SourceConfiguration") is None:
            raise errors.InvalidRequest("SourceConfiguration is required.")
        source = validation.source_configuration(p["SourceConfiguration"])
        version = Version(source=source, instance=validation.instance_configuration(p.get("InstanceConfiguration")),
                          health=validation.health_check(p.get("HealthCheckConfiguration")))
        network = validation.network_configuration(p.get("NetworkConfiguration"))
        tags = validation.tags(p.get("Tags"))
        auto_scaling = self._auto_scaling(account, region, p.get("AutoScalingConfigurationArn"))
        encryption = p.get("EncryptionConfiguration")
        if encryption is not None and not (isinstance(encryption, dict) and encryption.get("KmsKey")):
            raise errors.InvalidRequest("EncryptionConfiguration.KmsKey is required.")
        observability = p.get("ObservabilityConfiguration")
        if observability is not None and not isinstance(observability, dict):
            raise errors.InvalidRequest("ObservabilityConfiguration must be an object.")
        services = self.region(account, region).services
        live = [s for s in services.values() if s.status != "DELETED"]
        if any(s.name == name for s in live):
            raise errors.InvalidRequest(f"Service with the provided name already exists: {name}")
        if len(live) >= MAX_SERVICES:
            raise errors.QuotaExceeded(QUOTA)
        now = self.clock()
        service = Service(account=account, region=region, name=name, id=self.new_hex(),
                          url=f"{self._subdomain()}.{region}.awsapprunner.com", created_at=now, updated_at=now,
                          version=version, network=network, auto_scaling=auto_scaling,
                          encryption=copy.deepcopy(encryption), observability=copy.deepcopy(observability), tags=tags)
        services[service.arn] = service
        self.deployer.open_route(service)
        operation = self._operation(service, "CREATE_SERVICE")
        self.logs.event(service, "Service creation started.")
        self.logs.event(service, "Service status is set to OPERATION_IN_PROGRESS.")
        self.deployer.run(service, operation)
        return service, operation

    def _auto_scaling(self, account: str, region: str, arn) -> dict:
        default = (f"arn:aws:apprunner:{region}:{account}:autoscalingconfiguration/DefaultConfiguration/1/"
                   f"00000000000000000000000000000001")
        if arn is not None:
            validation.resource_arn(arn, "autoScalingConfigurationArn")
            if f":{account}:autoscalingconfiguration/DefaultConfiguration" not in arn:
                # Known gap: only the default auto scaling configuration exists (its operations answer 501)
                raise errors.not_found(arn)
        return {"AutoScalingConfigurationArn": default, "AutoScalingConfigurationName": "DefaultConfiguration",
                "AutoScalingConfigurationRevision": 1, "Status": "ACTIVE", "CreatedAt": 0.0,
                "HasAssociatedService": True, "IsDefault": True}

    def _find(self, account: str, region: str, arn, where: str = "serviceArn") -> Service:
        validation.resource_arn(arn, where)
        service = self.region(account, region).services.get(arn)
        if service is None:
            raise errors.not_found(arn)
        return service

    @_locked
    def describe_service(self, account: str, region: str, arn) -> Service:
        return self._find(account, region, arn)

    @_locked
    def list_services(self, account: str, region: str) -> list[Service]:
        services = [s for s in self.region(account, region).services.values() if s.status != "DELETED"]
        return sorted(services, key=lambda s: s.created_at, reverse=True)

    @_locked
    def update_service(self, account: str, region: str, p: dict) -> tuple[Service, Operation]:
        service = self._find(account, region, p.get("ServiceArn"))
        keys = ("SourceConfiguration", "InstanceConfiguration", "AutoScalingConfigurationArn",
                "HealthCheckConfiguration", "NetworkConfiguration", "ObservabilityConfiguration")
        if all(p.get(k) is None for k in keys):
            raise errors.InvalidRequest("No configurations provided in the UpdateService request.")
        if service.status not in UPDATE_STATES:
            raise errors.InvalidState("Service status must be RUNNING or PAUSED to be updated")
        current = service.version
        version = Version(
            source=(validation.source_configuration(p["SourceConfiguration"], current.source)
                    if p.get("SourceConfiguration") is not None else current.source),
            instance=validation.instance_configuration(p.get("InstanceConfiguration"), current.instance),
            health=validation.health_check(p.get("HealthCheckConfiguration"), current.health))
        network = validation.network_configuration(p.get("NetworkConfiguration"), service.network)
        if p.get("AutoScalingConfigurationArn") is not None:
            self._auto_scaling(account, region, p["AutoScalingConfigurationArn"])
        operation = self._operation(service, "UPDATE_SERVICE")
        operation.rollback = current
        service.version, service.network = version, network
        if p.get("ObservabilityConfiguration") is not None:
            service.observability = copy.deepcopy(p["ObservabilityConfiguration"])
        paused = service.status == "PAUSED"
        self._begin(service, "Service update started." if not paused else "Service update started (the service is "
                                                                              "paused: the new configuration runs when "
                                                                              "it resumes).")
        self.deployer.run(service, operation, deploy=not paused)
        return service, operation

    @_locked
    def start_deployment(self, account: str, region: str, arn) -> Operation:
        service = self._find(account, region, arn)
        if service.status != "RUNNING":
            # StartDeployment's model has no InvalidStateException: App Runner refuses it as a bad request
            raise errors.InvalidRequest(f"Service status must be RUNNING to start a deployment. Current status: "
                                        f"{service.status}")
        operation = self._operation(service, "START_DEPLOYMENT")
        self._begin(service, "Deployment started.")
        self.deployer.run(service, operation)
        return operation

    @_locked
    def pause_service(self, account: str, region: str, arn) -> tuple[Service, Operation]:
        service = self._find(account, region, arn)
        if service.status != "RUNNING":
            raise errors.InvalidState(f"Service status must be RUNNING to be paused. Current status: {service.status}")
        operation = self._operation(service, "PAUSE_SERVICE")
        self._begin(service, "Service pause started.")
        self.deployer.run(service, operation)
        return service, operation

    @_locked
    def resume_service(self, account: str, region: str, arn) -> tuple[Service, Operation]:
        service = self._find(account, region, arn)
        if service.status != "PAUSED":
            raise errors.InvalidState(f"Service status must be PAUSED to be resumed. Current status: {service.status}")
        operation = self._operation(service, "RESUME_SERVICE")
        self._begin(service, "Service resume started.")
        self.deployer.run(service, operation)
        return service, operation

    @_locked
    def delete_service(self, account: str, region: str, arn) -> tuple[Service, Operation]:
        service = self._find(account, region, arn)
        if service.status not in DELETE_STATES:
            raise errors.InvalidState(f"Service status must be RUNNING, PAUSED, CREATE_FAILED or DELETE_FAILED to be "
                                      f"deleted. Current status: {service.status}")
        operation = self._operation(service, "DELETE_SERVICE")
        self._begin(service, "Service deletion started.")
        self.deployer.run(service, operation)
        return service, operation

    @_locked
    def list_operations(self, account: str, region: str, arn) -> list[Operation]:
        return list(self._find(account, region, arn).operations)

    def _operation(self, service: Service, kind: str) -> Operation:
        now = self.clock()
        operation = Operation(id=self.new_uuid(), type=kind, target_arn=service.arn, started_at=now, updated_at=now)
        service.operations.insert(0, operation)
        return operation

    def _begin(self, service: Service, line: str) -> None:
        service.status, service.updated_at = "OPERATION_IN_PROGRESS", self.clock()
        self.logs.event(service, line)
        self.logs.event(service, "Service status is set to OPERATION_IN_PROGRESS.")

    # -- tags ------------------------------------------------------------------------------------
    def _tagged(self, account: str, region: str, arn) -> Service:
        service = self._find(account, region, arn, where="resourceArn")
        if service.status == "DELETED":
            raise errors.InvalidState(f"The resource {arn} is DELETED; its tags can't be changed or read.")
        return service

    @_locked
    def tag_resource(self, account: str, region: str, arn, tags) -> None:
        service = self._tagged(account, region, arn)
        for tag in validation.tags(tags):
            service.tags = [t for t in service.tags if t["Key"] != tag["Key"]] + [tag]

    @_locked
    def untag_resource(self, account: str, region: str, arn, keys) -> None:
        service = self._tagged(account, region, arn)
        if not isinstance(keys, list):
            raise errors.InvalidRequest("TagKeys must be a list of tag keys.")
        service.tags = [t for t in service.tags if t["Key"] not in keys]

    @_locked
    def list_tags_for_resource(self, account: str, region: str, arn) -> list[dict]:
        return [dict(t) for t in self._tagged(account, region, arn).tags]
