"""App Runner's API over the AWS JSON 1.0 protocol: `X-Amz-Target: AppRunner.<Op>`, a JSON body in,
JSON out, PascalCase fields and shapes as botocore's App Runner model (2020-05-15), timestamps as
epoch seconds, errors as HTTP 400 `{"__type": "InvalidRequestException", "Message": "..."}`.

Each operation is a small function: read the parameters, call models.AppRunnerBackend, shape the
answer. The account is always the course's one account; the region comes from the SigV4 credential
scope. Stdlib + werkzeug only on this path (no boto3, botocore or moto here).

Known gap: no IAM: AccessRoleArn and InstanceRoleArn are checked for their form, recorded, never assumed.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from labkit.cloud.aws import protocol
from labkit.cloud.aws.apprunner import errors, models

TARGET_PREFIX = "AppRunner."
KNOWN = frozenset("""
    AssociateCustomDomain CreateAutoScalingConfiguration CreateConnection CreateObservabilityConfiguration
    CreateVpcConnector CreateVpcIngressConnection DeleteAutoScalingConfiguration DeleteConnection
    DeleteObservabilityConfiguration DeleteVpcConnector DeleteVpcIngressConnection
    DescribeAutoScalingConfiguration DescribeCustomDomains DescribeObservabilityConfiguration
    DescribeVpcConnector DescribeVpcIngressConnection DisassociateCustomDomain ListAutoScalingConfigurations
    ListConnections ListObservabilityConfigurations ListServicesForAutoScalingConfiguration ListVpcConnectors
    ListVpcIngressConnections UpdateDefaultAutoScalingConfiguration UpdateVpcIngressConnection
""".split())  # botocore's App Runner operations not emulated: answered 501 NotImplemented, not as unknown
MAX_RESULTS = 20  # ListServices and ListOperations: MaxResults 1..20

SERVICE = protocol.JsonService(TARGET_PREFIX, base_error=errors.AppRunnerError, not_emulated=errors.NotEmulated,
                               unknown=errors.UnknownOperation, serialization=errors.Serialization,
                               not_emulated_operations=KNOWN, content_type=protocol.JSON_1_0)
OPERATIONS = SERVICE.operations
operation = SERVICE.operation


@dataclass
class Call:
    backend: models.AppRunnerBackend
    account: str
    region: str


def _call(state):
    def make(environ) -> Call:
        return Call(backend=models.backend(state), account=protocol.account_of(environ),
                    region=protocol.region_of(environ))
    return make


def apprunner_app(state, environ, start_response):
    return SERVICE.serve(state, environ, start_response, _call(state))


def _required(p: dict, *names: str) -> None:
    for name in names:
        if p.get(name) is None:
            raise errors.InvalidRequest(f"{name} is required.")


def _page(items: list, p: dict) -> tuple[list, str | None]:
    return protocol.paginate(
        items, p.get("MaxResults"), p.get("NextToken"), limit=MAX_RESULTS, default=MAX_RESULTS,
        bad_max=lambda: errors.constraint(p.get("MaxResults"), "maxResults",
                                          f"Member must have value less than or equal to {MAX_RESULTS}"),
        bad_token=lambda: errors.InvalidRequest("The NextToken isn't valid. Use the token from the previous "
                                                "response, unchanged."))


# -- services -----------------------------------------------------------------------------------

@operation("CreateService")
def create_service(call: Call, p: dict) -> dict:
    _required(p, "ServiceName", "SourceConfiguration")
    service, op = call.backend.create_service(call.account, call.region, p)
    return {"Service": _service(service), "OperationId": op.id}


@operation("DescribeService")
def describe_service(call: Call, p: dict) -> dict:
    _required(p, "ServiceArn")
    return {"Service": _service(call.backend.describe_service(call.account, call.region, p["ServiceArn"]))}


@operation("ListServices")
def list_services(call: Call, p: dict) -> dict:
    page, token = _page(call.backend.list_services(call.account, call.region), p)
    return _with_token({"ServiceSummaryList": [_summary(s) for s in page]}, token)


@operation("UpdateService")
def update_service(call: Call, p: dict) -> dict:
    _required(p, "ServiceArn")
    service, op = call.backend.update_service(call.account, call.region, p)
    return {"Service": _service(service), "OperationId": op.id}


@operation("DeleteService")
def delete_service(call: Call, p: dict) -> dict:
    _required(p, "ServiceArn")
    service, op = call.backend.delete_service(call.account, call.region, p["ServiceArn"])
    return {"Service": _service(service), "OperationId": op.id}


@operation("PauseService")
def pause_service(call: Call, p: dict) -> dict:
    _required(p, "ServiceArn")
    service, op = call.backend.pause_service(call.account, call.region, p["ServiceArn"])
    return {"Service": _service(service), "OperationId": op.id}


@operation("ResumeService")
def resume_service(call: Call, p: dict) -> dict:
    _required(p, "ServiceArn")
    service, op = call.backend.resume_service(call.account, call.region, p["ServiceArn"])
    return {"Service": _service(service), "OperationId": op.id}


@operation("StartDeployment")
def start_deployment(call: Call, p: dict) -> dict:
    _required(p, "ServiceArn")
    return {"OperationId": call.backend.start_deployment(call.account, call.region, p["ServiceArn"]).id}


@operation("ListOperations")
def list_operations(call: Call, p: dict) -> dict:
    _required(p, "ServiceArn")
    page, token = _page(call.backend.list_operations(call.account, call.region, p["ServiceArn"]), p)
    return _with_token({"OperationSummaryList": [_operation(o) for o in page]}, token)


# -- tags ---------------------------------------------------------------------------------------

@operation("TagResource")
def tag_resource(call: Call, p: dict) -> dict:
    _required(p, "ResourceArn", "Tags")
    call.backend.tag_resource(call.account, call.region, p["ResourceArn"], p["Tags"])
    return {}


@operation("UntagResource")
def untag_resource(call: Call, p: dict) -> dict:
    _required(p, "ResourceArn", "TagKeys")
    call.backend.untag_resource(call.account, call.region, p["ResourceArn"], p["TagKeys"])
    return {}


@operation("ListTagsForResource")
def list_tags_for_resource(call: Call, p: dict) -> dict:
    _required(p, "ResourceArn")
    return {"Tags": call.backend.list_tags_for_resource(call.account, call.region, p["ResourceArn"])}


# -- shapes -------------------------------------------------------------------------------------

def _service(service: models.Service) -> dict:
    shape = {
        "ServiceName": service.name, "ServiceId": service.id, "ServiceArn": service.arn,
        "ServiceUrl": service.url, "CreatedAt": service.created_at, "UpdatedAt": service.updated_at,
        "Status": service.status, "SourceConfiguration": copy.deepcopy(service.version.source),
        "InstanceConfiguration": dict(service.version.instance),
        "HealthCheckConfiguration": dict(service.version.health),
        "AutoScalingConfigurationSummary": dict(service.auto_scaling, CreatedAt=service.created_at),
        "NetworkConfiguration": copy.deepcopy(service.network),
    }
    if service.deleted_at is not None:
        shape["DeletedAt"] = service.deleted_at
    if service.encryption is not None:
        shape["EncryptionConfiguration"] = copy.deepcopy(service.encryption)
    if service.observability is not None:
        shape["ObservabilityConfiguration"] = copy.deepcopy(service.observability)
    return shape


def _summary(service: models.Service) -> dict:
    return {"ServiceName": service.name, "ServiceId": service.id, "ServiceArn": service.arn,
            "ServiceUrl": service.url, "CreatedAt": service.created_at, "UpdatedAt": service.updated_at,
            "Status": service.status}


def _operation(op: models.Operation) -> dict:
    shape = {"Id": op.id, "Type": op.type, "Status": op.status, "TargetArn": op.target_arn,
             "StartedAt": op.started_at, "UpdatedAt": op.updated_at}
    if op.ended_at is not None:
        shape["EndedAt"] = op.ended_at
    return shape


def _with_token(body: dict, token: str | None) -> dict:
    if token:
        body["NextToken"] = token
    return body
