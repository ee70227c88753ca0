"""What App Runner refuses before any operation starts, with its codes (InvalidRequestException,
ResourceNotFoundException, NotImplemented for what the local cloud lacks) and messages, through boto3
over HTTP; and what it accepts (ECR Public needs no access role; the CPU/memory pairs it offers)."""
from __future__ import annotations

import copy
import json

import pytest
import requests
from botocore.exceptions import ClientError

from tests.cloud.apprunner.conftest import error_of, lesson_source, log_lines, settled, wait_for

ARN = "arn:aws:apprunner:ap-northeast-2:123456789012:service/my-app/0123456789abcdef0123456789abcdef"


def refused(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as excinfo:
        call(**kwargs)
    return error_of(excinfo)


def test_a_private_ecr_image_needs_an_access_role(apprunner):
    code, message = refused(apprunner.create_service, ServiceName="my-app",
                            SourceConfiguration=lesson_source(role=None))
    assert code == "InvalidRequestException"
    assert message.startswith("Authentication configuration is missing an access role.")
    assert "AuthenticationConfiguration.AccessRoleArn" in message
    code, message = refused(apprunner.create_service, ServiceName="my-app",
                            SourceConfiguration=lesson_source(role="arn:aws:iam::123456789012:user/me"))
    assert code == "InvalidRequestException" and "accessRoleArn" in message


def test_ecr_public_needs_no_role_and_fails_to_deploy_locally(apprunner, logs):
    source = {"ImageRepository": {"ImageIdentifier": "public.ecr.aws/nginx/nginx:latest",
                                  "ImageRepositoryType": "ECR_PUBLIC", "ImageConfiguration": {"Port": "80"}},
              "AutoDeploymentsEnabled": False}
    service = apprunner.create_service(ServiceName="public-app", SourceConfiguration=source)["Service"]
    assert service["SourceConfiguration"]["AutoDeploymentsEnabled"] is False
    assert settled(apprunner, service["ServiceArn"])["Status"] == "CREATE_FAILED"
    assert wait_for(lambda: any("pulls images from its own Amazon ECR only" in line for line in
                                log_lines(logs, f"/aws/apprunner/public-app/{service['ServiceId']}/service")),
                    what="why it failed")
    wrong = copy.deepcopy(source)
    wrong["ImageRepository"]["ImageRepositoryType"] = "ECR"
    code, message = refused(apprunner.create_service, ServiceName="public-app-2", SourceConfiguration=wrong)
    assert (code, message) == ("InvalidRequestException", "The image identifier public.ecr.aws/nginx/nginx:latest is "
                                                          "an Amazon ECR Public image. Set ImageRepositoryType to "
                                                          "ECR_PUBLIC.")


def test_the_port_is_a_string_holding_a_port_number(apprunner):
    assert refused(apprunner.create_service, ServiceName="my-app", SourceConfiguration=lesson_source(port="http")) == (
        "InvalidRequestException", "Invalid port 'http'. Port must be a number from 1 to 65535.")
    assert refused(apprunner.create_service, ServiceName="my-app", SourceConfiguration=lesson_source(port="70000"))[0] \
        == "InvalidRequestException"


def test_a_number_as_port_is_refused_by_the_server_too(cloud):
    """botocore refuses a number before sending; a raw JSON client gets App Runner's answer."""
    source = lesson_source()
    source["ImageRepository"]["ImageConfiguration"]["Port"] = 8080
    answer = requests.post(cloud.endpoint + "/", data=json.dumps({"ServiceName": "my-app",
                                                                  "SourceConfiguration": source}),
                           headers={"X-Amz-Target": "AppRunner.CreateService",
                                    "Content-Type": "application/x-amz-json-1.0"}, timeout=10)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert answer.json() == {"__type": "InvalidRequestException",
                             "Message": "Port must be a string holding a port number, such as \"8080\" (got 8080)."}


@pytest.mark.parametrize("cpu, memory", [("0.25 vCPU", "0.5 GB"), ("0.25 vCPU", "1 GB"), ("0.5 vCPU", "1 GB"),
                                         ("1 vCPU", "2 GB"), ("1024", "2048"), ("1 vCPU", "4 GB"), ("2 vCPU", "6 GB"),
                                         ("4096", "12288"), ("4 vCPU", "8 GB")])
def test_the_cpu_memory_pairs_app_runner_offers(apprunner, cpu, memory):
    service = apprunner.create_service(ServiceName="sized-app", SourceConfiguration=lesson_source(),
                                       InstanceConfiguration={"Cpu": cpu, "Memory": memory})["Service"]
    assert service["InstanceConfiguration"] == {"Cpu": cpu, "Memory": memory}


@pytest.mark.parametrize("cpu, memory, expected", [
    ("1 vCPU", "8 GB", "The combination of Cpu '1 vCPU' and Memory '8 GB' isn't supported. With 1 vCPU, App Runner "
                       "offers 2 GB, 3 GB, 4 GB of memory."),
    ("0.25 vCPU", "2 GB", "The combination of Cpu '0.25 vCPU' and Memory '2 GB' isn't supported. With 0.25 vCPU, App "
                          "Runner offers 0.5 GB, 1 GB of memory."),
    ("3 vCPU", "6 GB", "1 validation error detected: Value '3 vCPU' at 'instanceConfiguration.cpu' failed to satisfy "
                       "constraint: Member must satisfy regular expression pattern: 256|512|1024|2048|4096|"
                       "(0.25|0.5|1|2|4) vCPU"),
    ("8 vCPU", "16 GB", "1 validation error detected: Value '8 vCPU' at 'instanceConfiguration.cpu'"),
])
def test_cpu_memory_pairs_it_refuses(apprunner, cpu, memory, expected):
    code, message = refused(apprunner.create_service, ServiceName="sized-app", SourceConfiguration=lesson_source(),
                            InstanceConfiguration={"Cpu": cpu, "Memory": memory})
    assert code == "InvalidRequestException" and message.startswith(expected)


def test_service_names(apprunner, pushed_image):
    code, message = refused(apprunner.create_service, ServiceName="my app", SourceConfiguration=lesson_source())
    assert (code, message) == ("InvalidRequestException", "1 validation error detected: Value 'my app' at "
                                                          "'serviceName' failed to satisfy constraint: Member must "
                                                          "satisfy regular expression pattern: "
                                                          "[A-Za-z0-9][A-Za-z0-9-_]{3,39}")
    assert refused(apprunner.create_service, ServiceName="-my-app", SourceConfiguration=lesson_source())[0] == \
        "InvalidRequestException"
    apprunner.create_service(ServiceName="my-app", SourceConfiguration=lesson_source())
    assert refused(apprunner.create_service, ServiceName="my-app", SourceConfiguration=lesson_source()) == (
        "InvalidRequestException", "Service with the provided name already exists: my-app")


def test_health_check_bounds(apprunner):
    code, message = refused(apprunner.create_service, ServiceName="my-app", SourceConfiguration=lesson_source(),
                            HealthCheckConfiguration={"Interval": 30})
    assert (code, message) == ("InvalidRequestException", "1 validation error detected: Value '30' at "
                                                          "'healthCheckConfiguration.interval' failed to satisfy "
                                                          "constraint: Member must have value less than or equal to 20")


def test_a_service_that_does_not_exist(apprunner):
    for call in (apprunner.describe_service, apprunner.pause_service, apprunner.resume_service,
                 apprunner.delete_service, apprunner.start_deployment, apprunner.list_operations):
        code, message = refused(call, ServiceArn=ARN)
        assert code == "ResourceNotFoundException" and message.endswith(ARN)
    assert refused(apprunner.list_tags_for_resource, ResourceArn=ARN)[0] == "ResourceNotFoundException"
    code, message = refused(apprunner.describe_service, ServiceArn="my-app")
    assert code == "InvalidRequestException" and message.startswith("1 validation error detected: Value 'my-app' at "
                                                                    "'serviceArn'")


def test_an_update_must_name_something(apprunner, pushed_image):
    arn = apprunner.create_service(ServiceName="my-app", SourceConfiguration=lesson_source())["Service"]["ServiceArn"]
    settled(apprunner, arn)
    assert refused(apprunner.update_service, ServiceArn=arn) == (
        "InvalidRequestException", "No configurations provided in the UpdateService request.")


def test_a_code_repository_and_the_operations_not_emulated(apprunner):
    code, message = refused(apprunner.create_service, ServiceName="python-app", SourceConfiguration={
        "CodeRepository": {"RepositoryUrl": "https://github.com/my-account/python-hello",
                           "SourceCodeVersion": {"Type": "BRANCH", "Value": "main"}}})
    assert code == "NotImplemented" and "CodeRepository" in message
    code, message = refused(apprunner.list_connections)
    assert (code, message) == ("NotImplemented", "The labkit local cloud does not emulate the App Runner operation "
                                                 "ListConnections (docs/fidelity.md lists what it does)")


def test_every_operation_of_botocores_model_is_served_or_named():
    import botocore.session

    from labkit.cloud.aws.apprunner import api

    model = botocore.session.get_session().get_service_model("apprunner")
    assert model.metadata["targetPrefix"] + "." == api.TARGET_PREFIX
    assert set(model.operation_names) == set(api.OPERATIONS) | api.KNOWN
    assert not set(api.OPERATIONS) & api.KNOWN
