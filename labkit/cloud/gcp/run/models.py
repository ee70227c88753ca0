"""Cloud Run's state and rules (Admin API v2): services, their revisions, traffic, conditions and IAM
policies. No protocol here (api.py), no running of anything (deployer.py starts revisions on the
runtime and calls back `settled`; router.py answers the URLs).

A service keeps what the client asked for (`spec`, a run_v2.Service holding only the fields a client
sets, with Cloud Run's defaults filled in) apart from what serves (`serving`: the traffic last applied,
resolved to revision names). Every create or update bumps `generation` and is reconciled when the
revisions it needs have settled: then the traffic is applied and the waiting operations finish, or
it fails and the old traffic keeps serving (what Cloud Run's `reconciling` field describes).

    a new revision       only when the template changed (named SERVICE-GGGGG-xyz: G the generation
                         that made it, as gcloud names them; or the name the client gave)
    traffic              default 100% LATEST; percents sum to 100; tags unique (refused at once)
    a missing revision   the operation fails (Revision '...' does not exist or is deleted. ...)
    a failed revision    the operation fails (Revision '...' is not ready and cannot serve traffic. ...)

Known gaps (docs/fidelity.md, Cloud Run): several refusal texts are assumed (marked there); deleted
services and revisions are not kept for show_deleted; the hash in the hash-based URL is ours.

Obtain the backend with `backend(state)`; CloudState.reset() drops it. Times from `state.clock`, ids
from `state.ids`; every public method holds `state.lock`.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import os
import random
import re
from collections import deque
from dataclasses import dataclass, field

from google.cloud import run_v2
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf import duration_pb2, timestamp_pb2

from labkit.cloud.gcp import errors
from labkit.cloud.gcp.project import DEFAULT_PROJECT, PROJECT_NUMBER

SERVICE = "cloudrun"
SEED_ENV = "LABKIT_CLOUDRUN_SEED"   # a fixed seed for the traffic split (benchmarks, demos)
LATEST = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
BY_REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
UNSPECIFIED = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED
State = run_v2.Condition.State
DEFAULT_PORT = 8080
RESERVED_ENV = ("PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION")
LOG_LINES = 2000                    # kept per revision (Cloud Logging reads them: labkit/cloud/gcp/logging/)
REQUEST_LINES = 10000               # requests noted per revision (Cloud Run's request log; a canary's split)
SERVICE_ID = re.compile(r"^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$")   # begins with a letter, < 50 characters
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
REGION_NAME = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
INVOKER = "roles/run.invoker"
# the region code in a service's hash-based URL (https://SERVICE-HASH-CODE.a.run.app); others assumed "uc"
REGION_CODES = {"asia-northeast3": "du", "asia-northeast1": "an", "us-central1": "uc", "us-east1": "ue",
                "europe-west1": "ew", "asia-east1": "de"}
PERMISSIONS = ("run.services.get", "run.services.update", "run.services.delete", "run.services.getIamPolicy",
               "run.services.setIamPolicy", "run.routes.invoke", "run.revisions.get", "run.revisions.list",
               "run.revisions.delete", "run.services.list", "run.services.create")
CLEARED = ("name", "uid", "generation", "create_time", "update_time", "delete_time", "expire_time", "creator",
           "last_modifier", "observed_generation", "terminal_condition", "conditions", "latest_ready_revision",
           "latest_created_revision", "traffic_statuses", "uri", "urls", "satisfies_pzs", "reconciling", "etag",
           "threat_detection_enabled")
DEFAULT_SERVICE_ACCOUNT = f"{PROJECT_NUMBER}-compute@developer.gserviceaccount.com"
CREATOR = "student@labkit.local"    # the local cloud's one caller (no credentials are checked)


def backend(state) -> "CloudRunBackend":
    return state.service(SERVICE, CloudRunBackend)


def _locked(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)
    return wrapper


def timestamp(seconds: float | None) -> timestamp_pb2.Timestamp | None:
    if seconds is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(round(seconds * 1e9)))
    return stamp


def copy(message):
    """A deep copy of a proto-plus message."""
    kind = type(message)
    return kind.deserialize(kind.serialize(message))


# -- state ----------------------------------------------------------------------------------------

@dataclass
class Condition:
    type: str
    state: int = State.CONDITION_PENDING
    message: str = ""
    reason: int | None = None           # Condition.CommonReason
    revision_reason: int | None = None  # Condition.RevisionReason
    changed_at: float | None = None

    def set(self, state: int, now: float, message: str = "", reason=None, revision_reason=None) -> None:
        if state != self.state:
            self.changed_at = now
        self.state, self.message, self.reason, self.revision_reason = state, message, reason, revision_reason

    def proto(self) -> run_v2.Condition:
        fields = dict(type_=self.type, state=self.state, message=self.message,
                      last_transition_time=timestamp(self.changed_at))
        if self.state == State.CONDITION_FAILED:
            fields["severity"] = run_v2.Condition.Severity.ERROR
        if self.reason is not None:
            fields["reason"] = self.reason
        elif self.revision_reason is not None:
            fields["revision_reason"] = self.revision_reason
        return run_v2.Condition(**fields)


@dataclass
class Target:
    """One traffic target as it serves: resolved to a revision's short name."""
    type: int
    revision: str
    percent: int
    tag: str = ""


@dataclass(eq=False)
class Instance:
    """One running container of a revision (the deployer's)."""
    id: str
    container_name: str
    container: object = None   # the runtime's Container
    upstream: object = None    # ingress Upstream once it listens
    stopping: bool = False


@dataclass(eq=False)
class RequestRecord:
    """One request routed to a revision, for Cloud Run's request log: noted when the router picks
    the revision, completed (status, response size, latency) once the answer has been sent."""
    time: float                         # when it arrived (the cloud's clock)
    method: str
    url: str
    seq: int = 0                        # its number in the revision's request log (stable insertIds)
    user_agent: str = ""
    remote_ip: str = ""
    protocol: str = "HTTP/1.1"
    request_size: int = 0               # the body's bytes (Content-Length)
    status: int | None = None           # None while the answer is on its way
    response_size: int = 0
    latency: float = 0.0                # seconds, arrival to the answer's last byte
    instance_id: str = ""


@dataclass(eq=False, repr=False)
class Revision:
    project: str
    region: str
    service: str                        # the service's short name
    name: str                           # short name, e.g. my-service-00001-xyz
    uid: str
    generation: int                     # the service generation that created it
    template: run_v2.RevisionTemplate   # as the service held it then (defaults filled)
    created_at: float
    updated_at: float
    ready: Condition = None
    container_healthy: Condition = None
    resources: Condition = None
    deleted_at: float | None = None
    # the deployer's side
    instance: Instance | None = None
    last_request: float = 0.0           # time.monotonic() of the last request routed here
    log: deque = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    requests: deque = field(default_factory=lambda: deque(maxlen=REQUEST_LINES))  # RequestRecord
    served: int = 0                     # requests routed here since it was created
    log_written: int = 0                # lines ever written to `log` (numbers its lines for Cloud Logging)

    def __post_init__(self):
        self.ready = self.ready or Condition("Ready", State.CONDITION_RECONCILING, changed_at=self.created_at)
        self.container_healthy = self.container_healthy or Condition("ContainerHealthy", State.CONDITION_RECONCILING,
                                                                     changed_at=self.created_at)
        self.resources = self.resources or Condition("ResourcesAvailable", State.CONDITION_RECONCILING,
                                                     changed_at=self.created_at)

    @property
    def full_name(self) -> str:
        return f"{service_path(self.project, self.region, self.service)}/revisions/{self.name}"

    @property
    def settled(self) -> bool:
        return self.ready.state in (State.CONDITION_SUCCEEDED, State.CONDITION_FAILED)

    @property
    def is_ready(self) -> bool:
        return self.ready.state == State.CONDITION_SUCCEEDED

    @property
    def container(self) -> run_v2.Container:
        return self.template.containers[0]

    @property
    def port(self) -> int:
        ports = self.container.ports
        return ports[0].container_port if ports and ports[0].container_port else DEFAULT_PORT

    def __repr__(self) -> str:
        return f"<Revision {self.name} ready={self.ready.state.name if hasattr(self.ready.state, 'name') else self.ready.state}>"

    def write_log(self, now: float, text: str, stream: str = "stdout") -> None:
        self.log.append((now, stream, text))
        self.log_written += 1

    def note_request(self, record: RequestRecord) -> None:
        self.served += 1
        record.seq = self.served
        self.requests.append(record)


@dataclass(eq=False, repr=False)
class Service:
    project: str
    region: str
    name: str
    uid: str
    spec: run_v2.Service                # what the client asked for (defaults filled; output fields empty)
    created_at: float
    updated_at: float
    generation: int = 1
    observed_generation: int = 0
    revisions: dict[str, Revision] = field(default_factory=dict)   # by short name, oldest first
    latest_created: str = ""
    latest_ready: str = ""
    serving: list[Target] = field(default_factory=list)   # the traffic applied last
    ready: Condition = None
    configurations_ready: Condition = None
    routes_ready: Condition = None
    waiting: list = field(default_factory=list)   # [(generation, operation)] until reconciled
    policy: policy_pb2.Policy = field(default_factory=policy_pb2.Policy)
    deleted_at: float | None = None

    def __post_init__(self):
        for attribute, kind in (("ready", "Ready"), ("configurations_ready", "ConfigurationsReady"),
                                ("routes_ready", "RoutesReady")):
            if getattr(self, attribute) is None:
                setattr(self, attribute, Condition(kind, State.CONDITION_RECONCILING, changed_at=self.created_at))

    def __repr__(self) -> str:
        return f"<Service {self.full_name} generation={self.generation}>"

    @property
    def full_name(self) -> str:
        return service_path(self.project, self.region, self.name)

    @property
    def reconciling(self) -> bool:
        return self.observed_generation != self.generation and self.ready.state == State.CONDITION_RECONCILING

    @property
    def host(self) -> str:
        """The deterministic URL's host: SERVICE-PROJECTNUMBER.REGION.run.app."""
        return f"{self.name}-{PROJECT_NUMBER}.{self.region}.run.app"

    @property
    def hashed_host(self) -> str:
        """The hash-based URL's host every service also has: SERVICE-HASH-CODE.a.run.app."""
        digest = hashlib.sha256(f"{self.project}/{self.region}/{self.name}".encode()).digest()
        letters = "".join("abcdefghijklmnopqrstuvwxyz0123456789"[b % 36] for b in digest[:10])
        return f"{self.name}-{letters}-{REGION_CODES.get(self.region, 'uc')}.a.run.app"

    def tag_host(self, tag: str) -> str:
        return f"{tag}---{self.host}"

    @property
    def uri(self) -> str:
        return f"https://{self.host}"

    @property
    def public(self) -> bool:
        """Unauthenticated requests may invoke it: allUsers holds roles/run.invoker, or the invoker
        check is off."""
        if self.spec.invoker_iam_disabled:
            return True
        return any(b.role == INVOKER and "allUsers" in b.members for b in self.policy.bindings)

    def etag(self) -> str:
        digest = hashlib.sha256(f"{self.uid}/{self.generation}/{self.updated_at}".encode()).digest()
        return '"' + base64.urlsafe_b64encode(digest[:18]).decode() + '"'

    def tags(self) -> dict[str, str]:
        """tag -> revision short name, as serving."""
        return {t.tag: t.revision for t in self.serving if t.tag}


def parent_path(project: str, region: str) -> str:
    return f"projects/{project}/locations/{region}"


def service_path(project: str, region: str, name: str) -> str:
    return f"{parent_path(project, region)}/services/{name}"


# -- the backend ----------------------------------------------------------------------------------

class CloudRunBackend:
    def __init__(self, state):
        self.state = state
        self.clock = state.clock
        self.ids = state.ids
        self.lock = state.lock
        seed = os.environ.get(SEED_ENV)
        self.random = random.Random(int(seed) if seed and seed.isdigit() else None)
        self.services: dict[tuple[str, str, str], Service] = {}   # (project id, region, name)
        self.retired: deque = deque(maxlen=200)  # deleted revisions: Cloud Logging still shows their logs
        from labkit.cloud.gcp.run.deployer import Deployer

        self.deployer = Deployer(self)

    def log_sources(self) -> list[Revision]:
        """Every revision whose logs Cloud Logging shows: live ones and deleted ones (logs outlive
        their resource). Call under state.lock."""
        live = [r for s in self.services.values() for r in s.revisions.values()]
        return live + [r for r in self.retired if r not in live]

    def is_current(self) -> bool:
        """False once CloudState.reset() dropped this backend (its threads and callbacks then stop)."""
        return self.state.services.get(SERVICE) is self

    # -- names ------------------------------------------------------------------------------------
    def parse_parent(self, parent: str, verb: str = "run.services.list") -> tuple[str, str]:
        parts = (parent or "").split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != "locations":
            raise errors.InvalidArgument(f"Invalid parent '{parent}': expected projects/PROJECT/locations/REGION.")
        return self._project(parts[1], parent, verb), self._region(parts[3])

    def parse_service(self, name: str, verb: str = "run.services.get") -> tuple[str, str, str]:
        parts = (name or "").split("/")
        if len(parts) != 6 or parts[0] != "projects" or parts[2] != "locations" or parts[4] != "services":
            raise errors.InvalidArgument(
                f"Invalid resource name '{name}': expected projects/PROJECT/locations/REGION/services/SERVICE.")
        return self._project(parts[1], name, verb), self._region(parts[3]), parts[5]

    def parse_revision(self, name: str, verb: str = "run.revisions.get") -> tuple[str, str, str, str]:
        parts = (name or "").split("/")
        if len(parts) != 8 or parts[0] != "projects" or parts[2] != "locations" or parts[4] != "services" \
                or parts[6] != "revisions":
            raise errors.InvalidArgument(f"Invalid resource name '{name}': expected "
                                         f"projects/PROJECT/locations/REGION/services/SERVICE/revisions/REVISION.")
        return self._project(parts[1], name, verb), self._region(parts[3]), parts[5], parts[7]

    @staticmethod
    def _project(project: str, resource: str, verb: str) -> str:
        """The local cloud has one project: its id or its number; any other is denied as GCP denies a
        project the caller cannot see."""
        if project in (DEFAULT_PROJECT, PROJECT_NUMBER):
            return DEFAULT_PROJECT
        raise errors.permission_denied(verb, resource, "run.googleapis.com")

    @staticmethod
    def _region(region: str) -> str:
        if not REGION_NAME.match(region or ""):
            raise errors.InvalidArgument(f"Location '{region}' is not a valid Cloud Run region (for example "
                                         f"asia-northeast3).")
        return region

    def _service(self, project: str, region: str, name: str) -> Service:
        service = self.services.get((project, region, name))
        if service is None:
            raise errors.NotFound(f"Resource '{name}' of kind 'SERVICE' in region '{region}' in project "
                                  f"'{project}' does not exist.")
        return service

    # -- services ---------------------------------------------------------------------------------
    @_locked
    def create_service(self, parent: str, service_id: str, request: run_v2.Service,
                       validate_only: bool = False) -> Service:
        project, region = self.parse_parent(parent, "run.services.create")
        if not SERVICE_ID.match(service_id or ""):
            raise errors.InvalidArgument(
                f"Invalid value specified for service_id '{service_id}': it must begin with a letter, contain "
                f"only lowercase letters, numbers and hyphens, not end with a hyphen, and have fewer than 50 "
                f"characters.")
        if (project, region, service_id) in self.services:
            raise errors.AlreadyExists(f"Resource '{service_id}' already exists.")
        spec = self._spec_of(request, service_id)
        if validate_only:
            return self._new_service(project, region, service_id, spec)
        service = self._new_service(project, region, service_id, spec)
        self.services[(project, region, service_id)] = service
        revision = self._new_revision_if_changed(service, None)
        self.deployer.opened(service)
        if revision is not None:
            self.deployer.deploy(service, revision)
        return service

    def _new_service(self, project, region, name, spec) -> Service:
        now = self.clock()
        return Service(project=project, region=region, name=name, uid=self._uuid(), spec=spec, created_at=now,
                       updated_at=now)

    @_locked
    def get_service(self, name: str) -> Service:
        return self._service(*self.parse_service(name))

    @_locked
    def list_services(self, parent: str) -> list[Service]:
        project, region = self.parse_parent(parent)
        return [s for (p, r, _), s in sorted(self.services.items()) if (p, r) == (project, region)]

    @_locked
    def update_service(self, request: run_v2.Service, update_mask=None, allow_missing: bool = False,
                       validate_only: bool = False) -> tuple[Service, bool]:
        """(the service, True when allow_missing made it)."""
        project, region, name = self.parse_service(request.name, "run.services.update")
        if (project, region, name) not in self.services:
            if not allow_missing:
                self._service(project, region, name)  # raises NotFound
            return self.create_service(parent_path(project, region), name, request, validate_only), True
        service = self.services[(project, region, name)]
        if request.etag and request.etag != service.etag():
            raise errors.Aborted(f"The etag provided ({request.etag}) does not match the service's current etag "
                                 f"({service.etag()}): it changed since you read it. Get it again and retry.")
        wanted = self._spec_of(self._masked(service.spec, request, update_mask), name)
        if validate_only:
            return service, False
        if wanted == service.spec:
            return service, False
        old_template = service.spec.template
        service.spec = wanted
        service.generation += 1
        service.updated_at = self.clock()
        service.ready.set(State.CONDITION_RECONCILING, service.updated_at)
        revision = self._new_revision_if_changed(service, old_template)
        if revision is not None:
            self.deployer.deploy(service, revision)
        return service, False

    @staticmethod
    def _masked(current: run_v2.Service, request: run_v2.Service, update_mask) -> run_v2.Service:
        """The whole request, or with update_mask's paths only those top-level fields over the current spec."""
        paths = list(update_mask.paths) if update_mask is not None else []
        if not paths or paths == ["*"]:
            return request
        merged = copy(current)
        target, source = run_v2.Service.pb(merged), run_v2.Service.pb(request)
        for path in paths:
            top = path.split(".")[0]
            described = target.DESCRIPTOR.fields_by_name.get(top)
            if described is None:
                raise errors.InvalidArgument(f"Invalid update_mask path '{path}'.")
            target.ClearField(top)
            if described.is_repeated:
                getattr(target, top).MergeFrom(getattr(source, top))
            elif described.message_type is not None:
                if source.HasField(top):
                    getattr(target, top).CopyFrom(getattr(source, top))
            else:
                setattr(target, top, getattr(source, top))
        return merged

    @_locked
    def delete_service(self, name: str, etag: str = "", validate_only: bool = False) -> Service:
        service = self._service(*self.parse_service(name, "run.services.delete"))
        if etag and etag != service.etag():
            raise errors.Aborted(f"The etag provided ({etag}) does not match the service's current etag "
                                 f"({service.etag()}).")
        if validate_only:
            return service
        now = self.clock()
        service.deleted_at = service.updated_at = now
        del self.services[(service.project, service.region, service.name)]
        for revision in service.revisions.values():
            revision.deleted_at = now
        self.retired.extend(service.revisions.values())
        waiting, service.waiting = service.waiting, []
        for _generation, operation in waiting:  # a create or update still rolling out (wording assumed)
            operation.fail(errors.Aborted(f"Service '{service.name}' was deleted before this operation finished."))
        self.deployer.deleted(service)
        return service

    # -- the spec: validation and Cloud Run's defaults ---------------------------------------------
    def _spec_of(self, request: run_v2.Service, service_id: str) -> run_v2.Service:
        spec = copy(request)
        for name in CLEARED:
            if name in spec:
                delattr(spec, name)
        if not spec.template.containers:
            raise errors.InvalidArgument("service.template.containers: a revision template needs one container "
                                         "with an image.")
        if len(spec.template.containers) > 1 and sum(1 for c in spec.template.containers if c.ports) != 1:
            raise errors.InvalidArgument("service.template.containers: with more than one container, exactly one "
                                         "(the ingress container) must name a port.")
        for index, container in enumerate(spec.template.containers):
            if not container.image:
                raise errors.InvalidArgument(f"service.template.containers[{index}].image: an image is required.")
            reserved = [e.name for e in container.env if e.name in RESERVED_ENV]
            if reserved:
                raise errors.InvalidArgument(f"The following reserved env names were provided: {', '.join(reserved)}. "
                                             f"These values are automatically set by the system.")
        self._check_revision_name(spec.template.revision, service_id)
        self._fill_defaults(spec)
        self._check_traffic(spec.traffic)
        return spec

    @staticmethod
    def _check_revision_name(revision: str, service_id: str) -> None:
        if not revision:
            return
        if not revision.startswith(f"{service_id}-") or not DNS_LABEL.match(revision) or len(revision) > 63:
            raise errors.InvalidArgument(
                f"service.template.revision: '{revision}' is not a valid revision name: it must begin with the "
                f"service's name followed by a hyphen ('{service_id}-'), contain only lowercase letters, numbers "
                f"and hyphens, and have at most 63 characters.")

    @staticmethod
    def _fill_defaults(spec: run_v2.Service) -> None:
        """The values Cloud Run fills in when the client leaves them out (what a get shows)."""
        if not spec.ingress:
            spec.ingress = run_v2.IngressTraffic.INGRESS_TRAFFIC_ALL
        if not spec.launch_stage:
            spec.launch_stage = 4  # google.api.LaunchStage.GA
        template = spec.template
        if not template.max_instance_request_concurrency:
            template.max_instance_request_concurrency = 80
        if "timeout" not in template:
            template.timeout = duration_pb2.Duration(seconds=300)
        if not template.service_account:
            template.service_account = DEFAULT_SERVICE_ACCOUNT
        if not template.scaling.max_instance_count:
            template.scaling.max_instance_count = 100
        ingress = next((c for c in template.containers if c.ports), template.containers[0])
        if not ingress.ports:
            ingress.ports.append(run_v2.ContainerPort(name="http1", container_port=DEFAULT_PORT))
        elif not ingress.ports[0].container_port:
            ingress.ports[0].container_port = DEFAULT_PORT
        for container in template.containers:
            if not container.resources.limits:
                container.resources.limits.update({"cpu": "1000m", "memory": "512Mi"})
        port = ingress.ports[0].container_port
        if "startup_probe" not in ingress:
            ingress.startup_probe = run_v2.Probe(timeout_seconds=240, period_seconds=240, failure_threshold=1,
                                                 tcp_socket=run_v2.TCPSocketAction(port=port))
        if not spec.traffic:
            spec.traffic.append(run_v2.TrafficTarget(type_=LATEST, percent=100))
        for target in spec.traffic:
            if target.type_ == UNSPECIFIED:
                target.type_ = BY_REVISION if target.revision else LATEST

    @staticmethod
    def _check_traffic(traffic) -> None:
        tags: dict[str, int] = {}
        total = 0
        for index, target in enumerate(traffic):
            if not 0 <= target.percent <= 100:
                raise errors.InvalidArgument(f"service.traffic[{index}].percent: {target.percent} is not between 0 "
                                             f"and 100.")
            if target.type_ == BY_REVISION and not target.revision:
                raise errors.InvalidArgument(f"service.traffic[{index}].revision: a revision name is required for "
                                             f"TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION.")
            if target.type_ == LATEST and target.revision:
                raise errors.InvalidArgument(f"service.traffic[{index}].revision: must be empty for "
                                             f"TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST.")
            if target.tag:
                if not DNS_LABEL.match(target.tag) or len(target.tag) > 46:
                    raise errors.InvalidArgument(
                        f"service.traffic[{index}].tag: '{target.tag}' is not a valid tag: lowercase letters, "
                        f"numbers and hyphens, beginning and ending with a letter or number.")
                if target.tag in tags:
                    raise errors.InvalidArgument(f'Multiple definitions for "{target.tag}": '
                                                 f'service.traffic[{tags[target.tag]}].tag, '
                                                 f'service.traffic[{index}].tag')
                tags[target.tag] = index
            total += target.percent
        if total != 100:
            raise errors.InvalidArgument(f"Traffic targets sum to {total}, want 100.")

    # -- revisions --------------------------------------------------------------------------------
    def _new_revision_if_changed(self, service: Service, old_template) -> Revision | None:
        """A new revision when the template changed (or the service is new); None otherwise."""
        template = service.spec.template
        if old_template is not None and template == old_template:
            return None
        name = template.revision
        if name and name in service.revisions:
            existing = service.revisions[name]
            if existing.template != template:
                raise errors.AlreadyExists(f"Revision named '{name}' with different configuration already exists.")
            service.latest_created = name
            return None
        if not name:
            name = f"{service.name}-{service.generation:05d}-{self._suffix()}"
            while name in service.revisions:
                name = f"{service.name}-{service.generation:05d}-{self._suffix()}"
        now = self.clock()
        revision = Revision(project=service.project, region=service.region, service=service.name, name=name,
                            uid=self._uuid(), generation=service.generation, template=copy(template), created_at=now,
                            updated_at=now)
        service.revisions[name] = revision
        service.latest_created = name
        return revision

    def _suffix(self) -> str:
        """Three lowercase letters or digits (my-service-00028-kop, ci-static-ct-00001-6hx)."""
        value = int(hashlib.sha256(self.ids().encode()).hexdigest(), 16)
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(alphabet[(value // 36 ** i) % 36] for i in range(3))

    def _uuid(self) -> str:
        raw = hashlib.sha256(self.ids().encode()).hexdigest()
        return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:32]}"

    @_locked
    def get_revision(self, name: str) -> Revision:
        project, region, service_name, revision_name = self.parse_revision(name)
        return self._revision(project, region, service_name, revision_name)

    def _revision(self, project, region, service_name, revision_name) -> Revision:
        service = self.services.get((project, region, service_name))
        revision = service.revisions.get(revision_name) if service is not None else None
        if revision is None:
            raise errors.NotFound(f"Resource '{revision_name}' of kind 'REVISION' in region '{region}' in project "
                                  f"'{project}' does not exist.")
        return revision

    @_locked
    def list_revisions(self, parent: str) -> list[Revision]:
        """parent: a service's name, or projects/P/locations/L/services/- for every service."""
        project, region, service_name = self.parse_service(parent, "run.revisions.list")
        if service_name == "-":
            services = [s for (p, r, _), s in sorted(self.services.items()) if (p, r) == (project, region)]
        else:
            services = [self._service(project, region, service_name)]
        found = [r for s in services for r in s.revisions.values()]
        return sorted(found, key=lambda r: (r.service, -r.created_at, -r.generation, r.name))

    @_locked
    def delete_revision(self, name: str, etag: str = "", validate_only: bool = False) -> Revision:
        project, region, service_name, revision_name = self.parse_revision(name, "run.revisions.delete")
        revision = self._revision(project, region, service_name, revision_name)
        service = self.services[(project, region, service_name)]
        if etag and etag != self.revision_etag(revision):
            raise errors.Aborted(f"The etag provided ({etag}) does not match the revision's current etag.")
        if revision_name in {t.revision for t in service.serving} or \
                revision_name in {t.revision for t in service.spec.traffic if t.revision}:
            raise errors.FailedPrecondition(f"Revision '{revision_name}' can't be deleted because it is receiving "
                                            f"traffic or has a tag. Update the service's traffic first.")
        if revision_name == service.latest_created:
            raise errors.FailedPrecondition(f"Revision '{revision_name}' can't be deleted because it is the "
                                            f"service's latest revision.")
        if validate_only:
            return revision
        revision.deleted_at = self.clock()
        del service.revisions[revision_name]
        self.retired.append(revision)
        self.deployer.revision_deleted(revision)
        return revision

    @staticmethod
    def revision_etag(revision: Revision) -> str:
        digest = hashlib.sha256(f"{revision.uid}/{revision.updated_at}".encode()).digest()
        return '"' + base64.urlsafe_b64encode(digest[:18]).decode() + '"'

    # -- reconciling ------------------------------------------------------------------------------
    def wait(self, service: Service, operation) -> None:
        """`operation` finishes (or fails) when the service's current generation is reconciled."""
        service.waiting.append((service.generation, operation))
        self.reconcile(service)

    def settled(self, service: Service, revision: Revision) -> None:
        """The deployer's callback (under the lock): a revision became ready or failed."""
        revision.updated_at = self.clock()
        self.reconcile(service)

    def reconcile(self, service: Service) -> None:
        """Apply the wanted traffic once every revision it needs has settled; finish the waiting
        operations with the outcome. Called under the lock."""
        if service.deleted_at is not None:
            return
        now = self.clock()
        latest = service.revisions.get(service.latest_created)
        if latest is not None and not latest.settled:
            return
        failure = None
        if latest is not None and not latest.is_ready:
            failure = errors.FailedPrecondition(f"Revision '{latest.name}' is not ready and cannot serve traffic. "
                                                f"{latest.ready.message}")
            service.configurations_ready.set(State.CONDITION_FAILED, now, failure.message,
                                             reason=run_v2.Condition.CommonReason.REVISION_FAILED)
        else:
            service.configurations_ready.set(State.CONDITION_SUCCEEDED, now)
            if latest is not None:
                service.latest_ready = latest.name
        resolved = []
        if failure is None:
            for target in service.spec.traffic:
                name = service.latest_ready if target.type_ == LATEST else target.revision
                revision = service.revisions.get(name)
                if revision is None:
                    failure = errors.Internal(f"Revision '{name}' does not exist or is deleted. Update all traffic "
                                              f"to route to currently available revisions.")
                    break
                if not revision.settled:
                    return  # a revision the traffic names is still starting: reconcile when it settles
                if not revision.is_ready:
                    failure = errors.FailedPrecondition(f"Revision '{name}' is not ready and cannot serve traffic. "
                                                        f"{revision.ready.message}")
                    break
                resolved.append(Target(type=target.type_, revision=name, percent=target.percent, tag=target.tag))
            if failure is not None:
                service.routes_ready.set(State.CONDITION_FAILED, now, failure.message)
        if failure is None:
            service.serving = resolved
            service.observed_generation = service.generation
            service.routes_ready.set(State.CONDITION_SUCCEEDED, now)
            service.ready.set(State.CONDITION_SUCCEEDED, now)
            self.deployer.traffic_changed(service)
        else:
            service.ready.set(State.CONDITION_FAILED, now, failure.message,
                              reason=run_v2.Condition.CommonReason.REVISION_FAILED
                              if isinstance(failure, errors.FailedPrecondition) else run_v2.Condition.CommonReason.UNKNOWN)
        done = [(g, op) for g, op in service.waiting if g <= service.generation]
        service.waiting = [(g, op) for g, op in service.waiting if g > service.generation]
        proto = self.service_proto(service) if done else None
        for _generation, operation in done:
            if hasattr(operation, "set_metadata"):
                operation.set_metadata(proto)  # the operation's metadata: the Service as it ended
            if failure is None:
                operation.finish(proto)
            else:
                operation.fail(failure)

    # -- IAM --------------------------------------------------------------------------------------
    def _iam_service(self, resource: str, verb: str) -> Service:
        return self._service(*self.parse_service(resource, verb))

    @_locked
    def get_iam_policy(self, resource: str) -> policy_pb2.Policy:
        policy = policy_pb2.Policy()
        policy.CopyFrom(self._iam_service(resource, "run.services.getIamPolicy").policy)
        return policy

    @_locked
    def set_iam_policy(self, resource: str, policy: policy_pb2.Policy) -> policy_pb2.Policy:
        service = self._iam_service(resource, "run.services.setIamPolicy")
        if policy.etag and service.policy.etag and policy.etag != service.policy.etag:
            raise errors.Aborted("There were concurrent policy changes. Please retry the whole read-modify-write "
                                 "with exponential backoff.")
        for binding in policy.bindings:
            if not binding.role.startswith("roles/"):
                raise errors.InvalidArgument(f"Role {binding.role} is not supported for this resource.")
            for member in binding.members:
                if member not in ("allUsers", "allAuthenticatedUsers") and \
                        not re.match(r"^(user|serviceAccount|group|domain|principal|principalSet):.+", member):
                    raise errors.InvalidArgument(f"Invalid principal: {member}")
        stored = policy_pb2.Policy()
        stored.CopyFrom(policy)
        stored.version = policy.version or 1
        stored.etag = hashlib.sha256(f"{service.uid}/{self.ids()}".encode()).digest()[:8]
        service.policy = stored
        result = policy_pb2.Policy()
        result.CopyFrom(stored)
        return result

    @_locked
    def test_iam_permissions(self, resource: str, permissions) -> iam_policy_pb2.TestIamPermissionsResponse:
        self._iam_service(resource, "run.services.getIamPolicy")
        for permission in permissions:
            if not re.match(r"^[a-z]+\.[a-zA-Z]+\.[a-zA-Z]+$", permission):
                raise errors.InvalidArgument(f"Permission {permission} is not valid.")
        # the local cloud's caller owns its one project: every Cloud Run permission asked about is held
        return iam_policy_pb2.TestIamPermissionsResponse(
            permissions=[p for p in permissions if p.startswith("run.")])

    # -- what the clients see ---------------------------------------------------------------------
    def service_proto(self, service: Service) -> run_v2.Service:
        proto = copy(service.spec)
        proto.name = service.full_name
        proto.uid = service.uid
        proto.generation = service.generation
        proto.create_time = timestamp(service.created_at)
        proto.update_time = timestamp(service.updated_at)
        if service.deleted_at is not None:
            proto.delete_time = timestamp(service.deleted_at)
            proto.expire_time = timestamp(service.deleted_at + 30 * 24 * 3600)
        proto.creator = proto.last_modifier = CREATOR
        proto.observed_generation = service.observed_generation
        proto.terminal_condition = service.ready.proto()
        proto.conditions.extend([service.routes_ready.proto(), service.configurations_ready.proto()])
        if service.latest_ready:
            proto.latest_ready_revision = f"{service.full_name}/revisions/{service.latest_ready}"
        if service.latest_created:
            proto.latest_created_revision = f"{service.full_name}/revisions/{service.latest_created}"
        for target in service.serving:
            proto.traffic_statuses.append(run_v2.TrafficTargetStatus(
                type_=target.type, revision=target.revision, percent=target.percent, tag=target.tag,
                uri=f"https://{service.tag_host(target.tag)}" if target.tag else ""))
        if not service.spec.default_uri_disabled:
            proto.uri = service.uri
            proto.urls.extend([service.uri, f"https://{service.hashed_host}"])
        proto.reconciling = service.reconciling
        proto.etag = service.etag()
        return proto

    def revision_proto(self, revision: Revision) -> run_v2.Revision:
        template = revision.template
        fields = {}
        for name in ("scaling", "vpc_access", "max_instance_request_concurrency", "timeout", "service_account",
                     "containers", "volumes", "execution_environment", "encryption_key", "service_mesh",
                     "encryption_key_revocation_action", "encryption_key_shutdown_duration", "session_affinity",
                     "node_selector", "labels", "annotations"):
            if name in template:
                fields[name] = getattr(template, name)
        conditions = [revision.ready, revision.resources, revision.container_healthy]
        proto = run_v2.Revision(
            name=revision.full_name, uid=revision.uid, generation=1, create_time=timestamp(revision.created_at),
            update_time=timestamp(revision.updated_at), launch_stage=4,
            service=service_path(revision.project, revision.region, revision.service),
            reconciling=not revision.settled, conditions=[c.proto() for c in conditions], observed_generation=1,
            log_uri=(f"https://console.cloud.google.com/logs/viewer?project={revision.project}&resource="
                     f"cloud_run_revision/service_name/{revision.service}/revision_name/{revision.name}"),
            creator=CREATOR, etag=self.revision_etag(revision), **fields)
        if revision.deleted_at is not None:
            proto.delete_time = timestamp(revision.deleted_at)
            proto.expire_time = timestamp(revision.deleted_at + 30 * 24 * 3600)
        if revision.instance is None and revision.is_ready:
            proto.scaling_status = run_v2.RevisionScalingStatus(desired_min_instance_count=0)
        return proto
