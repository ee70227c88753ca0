"""ECS's API over the AWS JSON 1.1 protocol: `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>`,
a JSON body in, JSON out (timestamps as epoch seconds, field names as botocore's ECS model),
errors as HTTP 400 `{"__type": "ClusterNotFoundException", "message": "Cluster not found."}`.

Each operation is a small function: read the parameters, call models.EcsBackend, shape the answer.
The account is always the course's one account; the region comes from the SigV4 credential scope.
Stdlib + werkzeug only on this path (cold start: no boto3, botocore or moto here).

Known gap: no IAM: any credentials may call any operation; roles are recorded, never assumed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from labkit.cloud.aws import protocol
from labkit.cloud.aws.ecs import errors, exec_sessions, models
from labkit.cloud.aws.ecs.models import PENDING_STATES

TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
KNOWN = frozenset("""
    AssociateGatewayWithCluster ContinueServiceDeployment CreateCapacityProvider CreateDaemon
    CreateGateway CreateTaskSet DeleteAccountSetting DeleteAttributes
    DeleteCapacityProvider DeleteDaemon DeleteDaemonTaskDefinition DeleteGateway
    DeleteTaskDefinitions DeleteTaskSet DeregisterContainerInstance DescribeCapacityProviders
    DescribeContainerInstances DescribeDaemon DescribeDaemonDeployments DescribeDaemonRevisions
    DescribeDaemonTaskDefinition DescribeGateway DescribeGatewayResources
    DescribeGatewayRoute DescribeServiceDeployments DescribeServiceRevisions DescribeTaskSets
    DisassociateGatewayFromCluster DiscoverPollEndpoint GetTaskProtection ListAccountSettings ListAttributes
    ListContainerInstances ListDaemonDeployments ListDaemonTaskDefinitions ListDaemons
    ListGatewayClusterAssociations ListGatewayRoutes ListGateways ListServiceDeployments ListServicesByNamespace
    PutAccountSetting PutAccountSettingDefault PutAttributes RegisterContainerInstance
    RegisterDaemonTaskDefinition StartTask StopServiceDeployment SubmitAttachmentStateChanges
    SubmitContainerStateChange SubmitTaskStateChange UpdateCapacityProvider UpdateCluster UpdateClusterSettings
    UpdateContainerAgent UpdateContainerInstancesState UpdateDaemon UpdateGateway
    UpdateServicePrimaryTaskSet UpdateTaskProtection UpdateTaskSet
""".split())  # botocore's ECS operations not emulated: answered 501 NotImplemented, not as unknown


SERVICE = protocol.JsonService(TARGET_PREFIX, base_error=errors.EcsError, not_emulated=errors.NotEmulated,
                               unknown=lambda: errors.UnknownOperation(None), serialization=errors.Serialization,
                               not_emulated_operations=KNOWN)
OPERATIONS = SERVICE.operations
operation = SERVICE.operation


@dataclass
class Call:
    backend: models.EcsBackend
    account: str
    region: str
    host: str


def _call(state):
    def make(environ) -> Call:
        return Call(backend=models.backend(state), account=protocol.account_of(environ),
                    region=protocol.region_of(environ), host=environ.get("HTTP_HOST", "127.0.0.1"))
    return make


def ecs_app(state, environ, start_response):
    return SERVICE.serve(state, environ, start_response, _call(state))


# -- clusters ------------------------------------------------------------------------------------

@operation("CreateCluster")
def create_cluster(call: Call, p: dict) -> dict:
    cluster = call.backend.create_cluster(
        call.account, call.region, p.get("clusterName"), tags=p.get("tags"), settings=p.get("settings"),
        configuration=p.get("configuration"), capacity_providers=p.get("capacityProviders"),
        default_strategy=p.get("defaultCapacityProviderStrategy"),
        service_connect_defaults=p.get("serviceConnectDefaults"))
    return {"cluster": _cluster(cluster, ["TAGS", "SETTINGS", "CONFIGURATIONS"])}


@operation("DescribeClusters")
def describe_clusters(call: Call, p: dict) -> dict:
    found, failures = call.backend.describe_clusters(call.account, call.region, p.get("clusters"))
    include = p.get("include") or []
    return {"clusters": [_cluster(c, include) for c in found], "failures": failures}


@operation("ListClusters")
def list_clusters(call: Call, p: dict) -> dict:
    page, token = _page([c.arn for c in call.backend.list_clusters(call.account, call.region)], p)
    return _with_token({"clusterArns": page}, token)


@operation("DeleteCluster")
def delete_cluster(call: Call, p: dict) -> dict:
    _required(p, "cluster")
    return {"cluster": _cluster(call.backend.delete_cluster(call.account, call.region, p["cluster"]), [])}


@operation("PutClusterCapacityProviders")
def put_cluster_capacity_providers(call: Call, p: dict) -> dict:
    _required(p, "cluster", "capacityProviders", "defaultCapacityProviderStrategy")
    cluster = call.backend.put_cluster_capacity_providers(call.account, call.region, p["cluster"],
                                                          p["capacityProviders"], p["defaultCapacityProviderStrategy"])
    return {"cluster": _cluster(cluster, [])}


def _cluster(cluster: models.Cluster, include) -> dict:
    tasks = list(cluster.tasks.values())
    shape = {
        "clusterArn": cluster.arn, "clusterName": cluster.name, "status": cluster.status,
        "registeredContainerInstancesCount": 0,
        "runningTasksCount": sum(1 for t in tasks if t.last_status == "RUNNING"),
        "pendingTasksCount": sum(1 for t in tasks if t.last_status in PENDING_STATES),
        "activeServicesCount": sum(1 for s in cluster.services.values() if s.status == "ACTIVE"),
        "statistics": [], "tags": [dict(t) for t in cluster.tags] if "TAGS" in include else [],
        "settings": [dict(s) for s in cluster.settings],
        "capacityProviders": list(cluster.capacity_providers),
        "defaultCapacityProviderStrategy": [dict(i) for i in cluster.default_strategy],
    }
    if cluster.configuration and "CONFIGURATIONS" in include:
        shape["configuration"] = cluster.configuration
    if cluster.service_connect_defaults:
        shape["serviceConnectDefaults"] = dict(cluster.service_connect_defaults)
    return shape


# -- task definitions -------------------------------------------------------------------------------

@operation("RegisterTaskDefinition")
def register_task_definition(call: Call, p: dict) -> dict:
    td = call.backend.register_task_definition(call.account, call.region, p)
    body = {"taskDefinition": _task_definition(td)}
    if td.tags:
        body["tags"] = [dict(t) for t in td.tags]
    return body


@operation("DescribeTaskDefinition")
def describe_task_definition(call: Call, p: dict) -> dict:
    _required(p, "taskDefinition")
    td = call.backend.describe_task_definition(call.account, call.region, p["taskDefinition"])
    body = {"taskDefinition": _task_definition(td)}
    if "TAGS" in (p.get("include") or []):
        body["tags"] = [dict(t) for t in td.tags]
    return body


@operation("ListTaskDefinitions")
def list_task_definitions(call: Call, p: dict) -> dict:
    tds = call.backend.list_task_definitions(call.account, call.region, p.get("familyPrefix"),
                                             p.get("status") or "ACTIVE", p.get("sort") or "ASC")
    page, token = _page([td.arn for td in tds], p)
    return _with_token({"taskDefinitionArns": page}, token)


@operation("ListTaskDefinitionFamilies")
def list_task_definition_families(call: Call, p: dict) -> dict:
    families = call.backend.list_task_definition_families(call.account, call.region, p.get("familyPrefix"),
                                                          p.get("status") or "ACTIVE")
    page, token = _page(families, p)
    return _with_token({"families": page}, token)


@operation("DeregisterTaskDefinition")
def deregister_task_definition(call: Call, p: dict) -> dict:
    _required(p, "taskDefinition")
    td = call.backend.deregister_task_definition(call.account, call.region, p["taskDefinition"])
    return {"taskDefinition": _task_definition(td)}


def _task_definition(td: models.TaskDefinition) -> dict:
    shape = json.loads(json.dumps(td.doc))  # a copy: callers never reach the stored document
    shape.update({"taskDefinitionArn": td.arn, "revision": td.revision, "status": td.status,
                  "registeredAt": td.registered_at, "registeredBy": td.registered_by})
    if not shape["requiresCompatibilities"]:
        del shape["requiresCompatibilities"]
    if td.deregistered_at is not None:
        shape["deregisteredAt"] = td.deregistered_at
    return shape


# -- services -------------------------------------------------------------------------------------

@operation("CreateService")
def create_service(call: Call, p: dict) -> dict:
    _required(p, "serviceName")
    return {"service": _service(call.backend.create_service(call.account, call.region, p), ["TAGS"])}


@operation("UpdateService")
def update_service(call: Call, p: dict) -> dict:
    _required(p, "service")
    return {"service": _service(call.backend.update_service(call.account, call.region, p), [])}


@operation("DescribeServices")
def describe_services(call: Call, p: dict) -> dict:
    _required(p, "services")
    found, failures = call.backend.describe_services(call.account, call.region, p.get("cluster"), p["services"])
    include = p.get("include") or []
    return {"services": [_service(s, include) for s in found], "failures": failures}


@operation("ListServices")
def list_services(call: Call, p: dict) -> dict:
    services = call.backend.list_services(call.account, call.region, p.get("cluster"), p.get("launchType"))
    page, token = _page([s.arn for s in services], p, default=10)
    return _with_token({"serviceArns": page}, token)


@operation("DeleteService")
def delete_service(call: Call, p: dict) -> dict:
    _required(p, "service")
    service = call.backend.delete_service(call.account, call.region, p.get("cluster"), p["service"],
                                          bool(p.get("force")))
    return {"service": _service(service, [])}


def _placement(shape: dict, owner) -> None:
    if owner.launch_type:
        shape["launchType"] = owner.launch_type
    if owner.capacity_provider_strategy:
        shape["capacityProviderStrategy"] = [dict(i) for i in owner.capacity_provider_strategy]
    if owner.platform_version:
        shape["platformVersion"] = owner.platform_version
        shape["platformFamily"] = "Linux"
    if owner.network_configuration:
        shape["networkConfiguration"] = _network(owner.network_configuration)


def _network(network: dict) -> dict:
    vpc = dict(network.get("awsvpcConfiguration") or {})
    vpc.setdefault("securityGroups", [])
    vpc.setdefault("assignPublicIp", "DISABLED")
    return {"awsvpcConfiguration": vpc}


def _service(service: models.Service, include) -> dict:
    tasks = service.tasks()
    shape = {
        "serviceArn": service.arn, "serviceName": service.name, "clusterArn": service.cluster.arn,
        "loadBalancers": list(service.load_balancers), "serviceRegistries": list(service.service_registries),
        "status": service.status, "desiredCount": service.desired_count,
        "runningCount": sum(1 for t in tasks if t.last_status == "RUNNING"),
        "pendingCount": sum(1 for t in tasks if t.last_status in PENDING_STATES and t.desired_status == "RUNNING"),
    }
    _placement(shape, service)
    shape.update({
        "taskDefinition": service.task_definition.arn,
        "deploymentConfiguration": json.loads(json.dumps(service.deployment_configuration)),
        "deployments": [_deployment(d, tasks) for d in service.deployments],
        "events": [dict(e) for e in service.events],
        "createdAt": service.created_at, "placementConstraints": [], "placementStrategy": [],
        "schedulingStrategy": service.scheduling_strategy,
        "deploymentController": dict(service.deployment_controller),
        "createdBy": service.created_by, "enableECSManagedTags": service.enable_ecs_managed_tags,
        "propagateTags": service.propagate_tags, "enableExecuteCommand": service.enable_execute_command,
    })
    if service.network_configuration:
        shape["networkConfiguration"] = _network(service.network_configuration)
    if service.health_check_grace_period is not None:
        shape["healthCheckGracePeriodSeconds"] = service.health_check_grace_period
    if "TAGS" in include:
        shape["tags"] = [dict(t) for t in service.tags]
    return shape


def _deployment(deployment: models.Deployment, tasks) -> dict:
    mine = [t for t in tasks if t.deployment is deployment]
    shape = {
        "id": deployment.id, "status": deployment.status, "taskDefinition": deployment.task_definition.arn,
        "desiredCount": deployment.desired_count,
        "pendingCount": sum(1 for t in mine if t.last_status in PENDING_STATES and t.desired_status == "RUNNING"),
        "runningCount": sum(1 for t in mine if t.last_status == "RUNNING"),
        "failedTasks": deployment.failed_tasks, "createdAt": deployment.created_at,
        "updatedAt": deployment.updated_at,
    }
    _placement(shape, deployment)
    shape["rolloutState"] = deployment.rollout_state
    shape["rolloutStateReason"] = deployment.rollout_state_reason
    if deployment.service_connect_configuration is not None:
        shape["serviceConnectConfiguration"] = json.loads(json.dumps(deployment.service_connect_configuration))
    if deployment.service_connect_resources:
        shape["serviceConnectResources"] = [{"discoveryName": r["discoveryName"], "discoveryArn": r["discoveryArn"]}
                                            for r in deployment.service_connect_resources]
    return shape


# -- tasks ------------------------------------------------------------------------------------------

@operation("RunTask")
def run_task(call: Call, p: dict) -> dict:
    _required(p, "taskDefinition")
    tasks, failures = call.backend.run_task(call.account, call.region, p)
    return {"tasks": [_task(t, ["TAGS"]) for t in tasks], "failures": failures}


@operation("DescribeTasks")
def describe_tasks(call: Call, p: dict) -> dict:
    _required(p, "tasks")
    found, failures = call.backend.describe_tasks(call.account, call.region, p.get("cluster"), p["tasks"])
    include = p.get("include") or []
    return {"tasks": [_task(t, include) for t in found], "failures": failures}


@operation("ListTasks")
def list_tasks(call: Call, p: dict) -> dict:
    page, token = _page([t.arn for t in call.backend.list_tasks(call.account, call.region, p)], p)
    return _with_token({"taskArns": page}, token)


@operation("StopTask")
def stop_task(call: Call, p: dict) -> dict:
    _required(p, "task")
    task = call.backend.stop_task(call.account, call.region, p.get("cluster"), p["task"], p.get("reason"))
    return {"task": _task(task, [])}


@operation("ExecuteCommand")
def execute_command(call: Call, p: dict) -> dict:
    _required(p, "command", "interactive", "task")
    task, container, session = call.backend.execute_command(call.account, call.region, p)
    # The stream stays on this cloud (nothing leaves 127.0.0.1): `labkit ecs exec` uses it
    # (exec_sessions.py); the token is what the session asks for.
    return {"clusterArn": task.cluster.arn, "containerArn": container.arn, "containerName": container.name,
            "interactive": True, "taskArn": task.arn,
            "session": {"sessionId": session.id,
                        "streamUrl": f"ws://{call.host}{exec_sessions.PATH_PREFIX}{session.id}",
                        "tokenValue": session.token}}


def _task(task: models.Task, include) -> dict:
    td = task.task_definition
    shape = {"attachments": [], "attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
             "availabilityZone": f"{task.region}a", "clusterArn": task.cluster.arn}
    if task.attachment_id:
        shape["attachments"] = [_eni(task)]
    if task.capacity_provider:
        shape["capacityProviderName"] = task.capacity_provider
    if task.connectivity_at is not None:
        shape["connectivity"], shape["connectivityAt"] = "CONNECTED", task.connectivity_at
    shape["containers"] = [_container(c, task) for c in task.containers]
    cpu = (task.overrides or {}).get("cpu") or td.doc.get("cpu")
    memory = (task.overrides or {}).get("memory") or td.doc.get("memory")
    if cpu:
        shape["cpu"] = cpu
    shape.update({"createdAt": task.created_at, "desiredStatus": task.desired_status,
                  "enableExecuteCommand": task.enable_execute_command, "group": task.group,
                  "healthStatus": "UNKNOWN", "lastStatus": task.last_status, "launchType": task.launch_type})
    if memory:
        shape["memory"] = memory
    shape["overrides"] = json.loads(json.dumps(task.overrides))
    if task.platform_version:
        shape["platformVersion"], shape["platformFamily"] = task.platform_version, "Linux"
    for key, value in (("pullStartedAt", task.pull_started_at), ("pullStoppedAt", task.pull_stopped_at),
                       ("startedAt", task.started_at), ("startedBy", task.started_by),
                       ("stopCode", task.stop_code), ("stoppedAt", task.stopped_at),
                       ("stoppedReason", task.stopped_reason), ("stoppingAt", task.stopping_at),
                       ("executionStoppedAt", task.execution_stopped_at)):
        if value is not None:
            shape[key] = value
    if "TAGS" in include:
        shape["tags"] = [dict(t) for t in task.tags]
    shape.update({"taskArn": task.arn, "taskDefinitionArn": td.arn, "version": task.version,
                  "ephemeralStorage": {"sizeInGiB": 20}, "fargateEphemeralStorage": {"sizeInGiB": 20}})
    return shape


def _eni(task: models.Task) -> dict:
    status = {"PROVISIONING": "PRECREATED", "DEPROVISIONING": "DETACHING", "STOPPED": "DELETED"}.get(
        task.last_status, "ATTACHED")
    details = [{"name": "subnetId", "value": task.subnet or ""},
               {"name": "networkInterfaceId", "value": task.eni_id},
               {"name": "macAddress", "value": task.mac}]
    if task.private_address:
        dns = "ip-" + task.private_address.replace(".", "-") + f".{task.region}.compute.internal"
        details += [{"name": "privateDnsName", "value": dns},
                    {"name": "privateIPv4Address", "value": task.private_address}]
    return {"id": task.attachment_id, "type": "ElasticNetworkInterface", "status": status, "details": details}


def _container(container: models.TaskContainer, task: models.Task) -> dict:
    shape = {"containerArn": container.arn, "taskArn": task.arn, "name": container.name, "image": container.image}
    if container.image_digest:
        shape["imageDigest"] = container.image_digest
    if container.runtime_id:
        shape["runtimeId"] = container.runtime_id
    shape["lastStatus"] = container.last_status
    if container.exit_code is not None:
        shape["exitCode"] = container.exit_code
    if container.reason:
        shape["reason"] = container.reason
    shape["networkBindings"] = [dict(b) for b in container.bindings]
    shape["networkInterfaces"] = []
    if task.attachment_id and container.address:
        shape["networkInterfaces"] = [{"attachmentId": task.attachment_id, "privateIpv4Address": container.address}]
    shape["healthStatus"] = "UNKNOWN"
    if task.enable_execute_command:
        agent = {"name": "ExecuteCommandAgent",
                 "lastStatus": {"RUNNING": "RUNNING", "STOPPED": "STOPPED"}.get(container.last_status, "PENDING")}
        if task.started_at is not None:
            agent["lastStartedAt"] = task.started_at
        shape["managedAgents"] = [agent]
    shape["cpu"] = str(container.definition.get("cpu", 0))
    if container.definition.get("memory") is not None:
        shape["memory"] = str(container.definition["memory"])
    if container.definition.get("memoryReservation") is not None:
        shape["memoryReservation"] = str(container.definition["memoryReservation"])
    return shape


# -- helpers ----------------------------------------------------------------------------------------

def _required(params: dict, *names: str) -> None:
    for name in names:
        if params.get(name) is None:
            raise errors.InvalidParameter(f"{name} can not be blank.")


def _page(items: list, params: dict, default: int = 100) -> tuple[list, str | None]:
    return protocol.paginate(items, params.get("maxResults"), params.get("nextToken"), limit=100, default=default,
                             bad_max=lambda: errors.InvalidParameter("maxResults must be between 1 and 100."),
                             bad_token=lambda: errors.InvalidParameter("Invalid nextToken."))


def _with_token(body: dict, token: str | None) -> dict:
    if token:
        body["nextToken"] = token
    return body


SERVICE.tag_operations(_required)


# -- ECS Express Mode (express.py) ----------------------------------------------------------------

def _express_backend(call: Call):
    from labkit.cloud.aws.ecs import express  # moto's ELBv2 and EC2 come with it: not on the cold-start path

    return express.backend(call.backend.state)


def _express_configuration(config) -> dict:
    container = json.loads(json.dumps(config.primary_container))
    return {"serviceRevisionArn": config.revision_arn, "executionRoleArn": config.execution_role,
            **({"taskRoleArn": config.task_role} if config.task_role else {}),
            "taskDefinitionArn": config.task_definition.arn, "cpu": config.cpu, "memory": config.memory,
            "cpuArchitecture": config.cpu_architecture, "networkConfiguration": dict(config.network),
            "healthCheckPath": config.health_check_path, "primaryContainer": container,
            "scalingTarget": dict(config.scaling_target), "createdAt": config.created_at}


def _express(express, include=()) -> dict:
    shape = {"cluster": express.service.cluster.arn, "serviceName": express.service.name,
             "serviceArn": express.arn, "infrastructureRoleArn": express.infrastructure_role,
             "status": {"statusCode": express.status},
             "currentDeployment": _deployment_arn(express.service),
             "activeConfigurations": [dict(_express_configuration(c), ingressPaths=[
                 {"accessType": "PUBLIC", "endpoint": express.endpoint}]) for c in express.configurations],
             "createdAt": express.created_at, "updatedAt": express.updated_at}
    if express.status_reason:
        shape["status"]["statusReason"] = express.status_reason
    if "TAGS" in (include or ()):
        shape["tags"] = [dict(t) for t in express.tags]
    return shape


def _deployment_arn(service: models.Service) -> str:
    return (f"arn:aws:ecs:{service.region}:{service.account}:service-deployment/{service.cluster.name}/"
            f"{service.name}/{service.primary.id.removeprefix('ecs-svc/')}")


@operation("CreateExpressGatewayService")
def create_express_gateway_service(call: Call, p: dict) -> dict:
    _required(p, "infrastructureRoleArn")
    return {"service": _express(_express_backend(call).create(call.account, call.region, p), ["TAGS"])}


@operation("DescribeExpressGatewayService")
def describe_express_gateway_service(call: Call, p: dict) -> dict:
    _required(p, "serviceArn")
    return {"service": _express(_express_backend(call).describe(call.account, call.region, p["serviceArn"]),
                                p.get("include") or [])}


@operation("UpdateExpressGatewayService")
def update_express_gateway_service(call: Call, p: dict) -> dict:
    _required(p, "serviceArn")
    express, config = _express_backend(call).update(call.account, call.region, p)
    return {"service": {"serviceArn": express.arn, "cluster": express.service.cluster.arn,
                        "serviceName": express.service.name, "status": {"statusCode": express.status},
                        "targetConfiguration": _express_configuration(config),
                        "createdAt": express.created_at, "updatedAt": express.updated_at}}


@operation("DeleteExpressGatewayService")
def delete_express_gateway_service(call: Call, p: dict) -> dict:
    _required(p, "serviceArn")
    return {"service": _express(_express_backend(call).delete(call.account, call.region, p["serviceArn"]))}
