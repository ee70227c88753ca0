"""Amazon ECS Express Mode: CreateExpressGatewayService, DescribeExpressGatewayService,
UpdateExpressGatewayService and DeleteExpressGatewayService over this project's ECS.

An Express service is an ECS service that ECS provisions for you from an image and two roles
(docs: "Resources created by Amazon ECS Express Mode services"): the `default` cluster with the FARGATE
capacity provider when it is missing, a task definition (0.25 vCPU / 512 MiB unless given, awsvpc, the
container named `Main`, awslogs), a Fargate service with minTaskCount tasks registered as `ip` targets, and an ALB
(express_alb.py) whose HTTPS listener forwards the service's endpoint `NAME-HASH.ecs.REGION.on.aws` to
them. Here the endpoint answers in plain HTTP through the local cloud's port (labkit/cloud/ingress.py).

What is assumed (docs/fidelity.md, "ECS Express Mode"): the generated names, one ALB per service, and
that an update is a rolling ECS deployment
(real Express Mode shifts 5% of traffic as a canary for 3 minutes of bake time first).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from labkit.cloud.aws.ecs import errors, express_alb
from labkit.cloud.aws.ecs import models as m

DEFAULT_CPU, DEFAULT_MEMORY = "256", "512"  # the API reference's defaults (the guide says 1024/2048)
DEFAULT_PORT = 80
DEFAULT_HEALTH_CHECK_PATH = "/ping"
CONTAINER = "Main"
ROLE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+")


@dataclass
class Configuration:
    """One revision of an Express service: what its task definition and target group were made from."""
    revision_arn: str
    task_definition: m.TaskDefinition
    execution_role: str
    task_role: str | None
    cpu: str
    memory: str
    cpu_architecture: str
    network: dict
    health_check_path: str
    primary_container: dict
    scaling_target: dict
    created_at: float


@dataclass
class ExpressService:
    service: m.Service                 # the ECS service it runs as
    infrastructure_role: str
    endpoint: str
    balancing: express_alb.Balancing
    created_at: float
    updated_at: float
    tags: list = field(default_factory=list)
    configurations: list = field(default_factory=list)  # newest first
    status: str = "ACTIVE"             # ACTIVE | DRAINING | INACTIVE
    status_reason: str | None = None

    @property
    def arn(self) -> str:
        return self.service.arn


class ExpressBackend:
    """Express services of one cloud, by service ARN; the ECS backend does the work."""

    def __init__(self, ecs: m.EcsBackend):
        self.ecs = ecs
        self.services: dict[str, ExpressService] = {}

    # -- the four operations ------------------------------------------------------------------------
    def create(self, account: str, region: str, p: dict) -> ExpressService:
        execution_role = _role(p.get("executionRoleArn"), "executionRoleArn")
        infrastructure_role = _role(p.get("infrastructureRoleArn"), "infrastructureRoleArn")
        container = p.get("primaryContainer")
        if not isinstance(container, dict) or not container.get("image"):
            raise errors.InvalidParameter("primaryContainer.image can not be blank.")
        cluster = self._cluster(account, region, p.get("cluster"))
        name = p.get("serviceName") or _name_from_image(container["image"], self.ecs.new_hex())
        current = cluster.services.get(name)
        if current is not None and current.status != "INACTIVE":
            raise errors.InvalidParameter("Creation of service was not idempotent.")
        port = int(container.get("containerPort") or DEFAULT_PORT)
        health_path = p.get("healthCheckPath") or DEFAULT_HEALTH_CHECK_PATH
        suffix = self.ecs.new_hex()[:8]
        endpoint = f"{name.lower()}-{self.ecs.new_hex()[:12]}.ecs.{region}.on.aws"
        network = p.get("networkConfiguration") or {}
        config = self._configuration(account, region, name, cluster.name, p, execution_role, port, health_path)
        balancing = express_alb.create(self.ecs.state, account, region, suffix=suffix, endpoint=endpoint, port=port,
                                       health_check_path=health_path, subnets=network.get("subnets"),
                                       security_groups=network.get("securityGroups"))
        config.network = {"subnets": balancing.subnets, "securityGroups": balancing.security_groups}
        scaling = config.scaling_target
        service = self.ecs.create_service(account, region, {
            "cluster": cluster.name, "serviceName": name, "taskDefinition": config.task_definition.arn,
            "desiredCount": scaling["minTaskCount"], "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": balancing.subnets,
                                                             "securityGroups": balancing.security_groups,
                                                             "assignPublicIp": "DISABLED"}},
            "loadBalancers": [{"targetGroupArn": balancing.target_group_arn, "containerName": CONTAINER,
                               "containerPort": port}],
            "tags": p.get("tags"), "propagateTags": "SERVICE", "enableECSManagedTags": True})
        now = self.ecs.clock()
        express = ExpressService(service=service, infrastructure_role=infrastructure_role, endpoint=endpoint,
                                 balancing=balancing, created_at=now, updated_at=now, tags=list(p.get("tags") or []),
                                 configurations=[config])
        self.services[service.arn] = express
        return express

    def describe(self, account: str, region: str, arn) -> ExpressService:
        return self._find(account, region, arn)

    def update(self, account: str, region: str, p: dict) -> tuple[ExpressService, Configuration]:
        express = self._find(account, region, p.get("serviceArn"))
        if express.status != "ACTIVE":
            raise errors.ServiceNotActive()
        old = express.configurations[0]
        merged = {
            "executionRoleArn": p.get("executionRoleArn") or old.execution_role,
            "taskRoleArn": p.get("taskRoleArn", old.task_role),
            "cpu": p.get("cpu") or old.cpu, "memory": p.get("memory") or old.memory,
            "cpuArchitecture": p.get("cpuArchitecture") or old.cpu_architecture,
            "primaryContainer": _merge_container(old.primary_container, p.get("primaryContainer")),
            "scalingTarget": {**old.scaling_target, **(p.get("scalingTarget") or {})},
        }
        _role(merged["executionRoleArn"], "executionRoleArn")
        port = int(merged["primaryContainer"].get("containerPort") or DEFAULT_PORT)
        old_port = int(old.primary_container.get("containerPort") or DEFAULT_PORT)
        if port != old_port:
            # Known gap: the target group's port is fixed; a new port would need a new target group.
            raise errors.InvalidParameter("The labkit local cloud cannot change an Express service's containerPort; "
                                          "create a new Express service for another port.")
        health_path = p.get("healthCheckPath") or old.health_check_path
        service = express.service
        config = self._configuration(account, region, service.name, service.cluster.name, merged,
                                     merged["executionRoleArn"], port, health_path)
        config.network = old.network
        if health_path != old.health_check_path:
            express_alb.set_health_check_path(self.ecs.state, account, region, express.balancing.target_group_arn,
                                              health_path)
        scaling = config.scaling_target
        self.ecs.update_service(account, region, {"cluster": service.cluster.name, "service": service.name,
                                                  "taskDefinition": config.task_definition.arn,
                                                  "desiredCount": scaling["minTaskCount"]})
        express.configurations.insert(0, config)
        del express.configurations[2:]  # the new one and the one it replaces stay "active"
        express.updated_at = self.ecs.clock()
        return express, config

    def delete(self, account: str, region: str, arn) -> ExpressService:
        express = self._find(account, region, arn)
        if express.status != "ACTIVE":
            raise errors.ServiceNotActive()
        service = express.service
        self.ecs.delete_service(account, region, service.cluster.name, service.name, force=True)
        express.status, express.updated_at = "DRAINING", self.ecs.clock()
        express_alb.delete(self.ecs.state, account, region, express.endpoint, express.balancing)
        return express

    # -- helpers -------------------------------------------------------------------------------------
    def refresh(self, express: ExpressService) -> None:
        """DRAINING becomes INACTIVE once the ECS service has no task left, as ECS reports it."""
        if express.status == "DRAINING" and not any(t.last_status != "STOPPED" for t in express.service.tasks()):
            express.status = "INACTIVE"

    def _find(self, account: str, region: str, arn) -> ExpressService:
        if not isinstance(arn, str) or not arn:
            raise errors.InvalidParameter("serviceArn can not be blank.")
        express = self.services.get(arn)
        if express is None or express.service.account != account or express.service.region != region:
            raise errors.ServiceNotFound()
        self.refresh(express)
        return express

    def _cluster(self, account: str, region: str, ref) -> m.Cluster:
        if ref in (None, "", "default") and "default" not in self.ecs.region(account, region).clusters:
            return self.ecs.create_cluster(account, region, "default", capacity_providers=["FARGATE"])
        return self.ecs.cluster(account, region, ref or "default")

    def _configuration(self, account, region, name, cluster_name, p, execution_role, port, health_path
                       ) -> Configuration:
        container = dict(p.get("primaryContainer") or {})
        logs = container.get("awsLogsConfiguration") or {"logGroup": f"/aws/ecs/{cluster_name}/{name}-"
                                                                     f"{self.ecs.new_hex()[:4]}",
                                                         "logStreamPrefix": "ecs"}
        container["awsLogsConfiguration"] = logs
        container.setdefault("containerPort", port)
        definition = {
            "name": CONTAINER, "image": container["image"], "essential": True,
            "portMappings": [{"containerPort": port, "protocol": "tcp", "name": f"{CONTAINER.lower()}-{port}-tcp",
                              "appProtocol": "http"}],
            "environment": [dict(e) for e in container.get("environment") or []],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": logs["logGroup"], "awslogs-region": region,
                "awslogs-stream-prefix": logs["logStreamPrefix"], "awslogs-create-group": "true"}},
        }
        if container.get("command"):
            definition["command"] = list(container["command"])
        if container.get("secrets"):
            definition["secrets"] = [dict(s) for s in container["secrets"]]
        cpu, memory = str(p.get("cpu") or DEFAULT_CPU), str(p.get("memory") or DEFAULT_MEMORY)
        architecture = p.get("cpuArchitecture") or "X86_64"
        td_params = {"family": name, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                     "cpu": cpu, "memory": memory, "executionRoleArn": execution_role,
                     "runtimePlatform": {"cpuArchitecture": architecture, "operatingSystemFamily": "LINUX"},
                     "containerDefinitions": [definition]}
        if p.get("taskRoleArn"):
            td_params["taskRoleArn"] = p["taskRoleArn"]
        td = self.ecs.register_task_definition(account, region, td_params)
        scaling = {"minTaskCount": 1, "maxTaskCount": 1, "autoScalingMetric": "AVERAGE_CPU",
                   "autoScalingTargetValue": 60, **(p.get("scalingTarget") or {})}
        if not 1 <= int(scaling["minTaskCount"]) <= int(scaling["maxTaskCount"]):
            raise errors.InvalidParameter("scalingTarget.minTaskCount must be at least 1 and no more than "
                                          "scalingTarget.maxTaskCount.")
        revision = f"arn:aws:ecs:{region}:{account}:service-revision/{cluster_name}/{name}/{self.ecs.new_hex()[:19]}"
        return Configuration(revision_arn=revision, task_definition=td, execution_role=execution_role,
                             task_role=p.get("taskRoleArn"), cpu=cpu, memory=memory, cpu_architecture=architecture,
                             network={}, health_check_path=health_path, primary_container=container,
                             scaling_target=scaling, created_at=self.ecs.clock())


def backend(state) -> ExpressBackend:
    return state.service("ecs-express", lambda s: ExpressBackend(m.backend(s)))


def _role(value, name: str) -> str:
    if not value:
        raise errors.InvalidParameter(f"{name} can not be blank.")
    if not isinstance(value, str) or not ROLE.match(value):
        raise errors.InvalidParameter(f"{name} must be the ARN of an IAM role.")
    return value


def _name_from_image(image: str, token: str) -> str:
    """The repository's name and a short suffix (`my-app-1a2b`), when no serviceName is given."""
    repository = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    base = re.sub(r"[^A-Za-z0-9_-]", "-", repository).strip("-") or "express"
    return f"{base[:200]}-{token[:4]}"


def _merge_container(old: dict, new: dict | None) -> dict:
    merged = dict(old)
    for key, value in (new or {}).items():
        merged[key] = value
    return merged
