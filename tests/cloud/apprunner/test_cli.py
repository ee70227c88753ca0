"""The lesson's App Runner command (section 9.3), unchanged, run with the AWS CLI as a student runs
it against the cloud over HTTP; the service followed with the CLI too (describe-service,
list-operations, update-service, pause/resume/delete), and the URL it prints answering through the
cloud's port."""
from __future__ import annotations

import json

from tests.cloud.apprunner.conftest import aws, wait_for

LESSON_SOURCE = """{
        "ImageRepository": {
            "ImageIdentifier": "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/my-app:latest",
            "ImageRepositoryType": "ECR",
            "ImageConfiguration": {
                "Port": "8080",
                "RuntimeEnvironmentVariables": {
                    "CLOUD_PROVIDER": "AWS"
                }
            }
        },
        "AuthenticationConfiguration": {
            "AccessRoleArn": "arn:aws:iam::123456789012:role/AppRunnerECRAccessRole"
        }
    }"""


def ok(env, *args) -> dict:
    result = aws(env, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def status(env, arn: str) -> str:
    return ok(env, "apprunner", "describe-service", "--service-arn", arn)["Service"]["Status"]


def settle(apprunner, arn: str) -> str:
    """Polled with boto3 (an AWS CLI start per poll would cost most of the test); the CLI's own
    describe-service is checked once, with the settled status."""
    done = wait_for(lambda: (lambda s: s if s != "OPERATION_IN_PROGRESS" else None)(
        apprunner.describe_service(ServiceArn=arn)["Service"]["Status"]), what="the operation to end")
    return done


def test_the_lessons_create_service_then_its_url_answers(cloud, cli_env, pushed_image, apprunner):
    created = ok(cli_env, "apprunner", "create-service", "--service-name", "my-app",
                 "--source-configuration", LESSON_SOURCE)
    service = created["Service"]
    url, arn = service["ServiceUrl"], service["ServiceArn"]
    assert url.endswith(".ap-northeast-2.awsapprunner.com") and service["Status"] == "OPERATION_IN_PROGRESS"
    assert isinstance(service["CreatedAt"], float)  # AWS CLI v1 prints App Runner's epoch seconds as they come
    assert settle(apprunner, arn) == "RUNNING" and status(cli_env, arn) == "RUNNING"
    assert cloud.get(url) == (200, "Hello from AWS!")
    summary = ok(cli_env, "apprunner", "list-operations", "--service-arn", arn)["OperationSummaryList"]
    assert [(o["Type"], o["Status"], o["Id"]) for o in summary] == [("CREATE_SERVICE", "SUCCEEDED",
                                                                     created["OperationId"])]
    assert [s["ServiceName"] for s in ok(cli_env, "apprunner", "list-services")["ServiceSummaryList"]] == ["my-app"]

    v2 = LESSON_SOURCE.replace('"CLOUD_PROVIDER": "AWS"', '"CLOUD_PROVIDER": "AWS-v2"')
    ok(cli_env, "apprunner", "update-service", "--service-arn", arn, "--source-configuration", v2)
    assert settle(apprunner, arn) == "RUNNING"
    assert cloud.get(url) == (200, "Hello from AWS-v2!")

    ok(cli_env, "apprunner", "pause-service", "--service-arn", arn)
    assert settle(apprunner, arn) == "PAUSED"
    ok(cli_env, "apprunner", "resume-service", "--service-arn", arn)
    assert settle(apprunner, arn) == "RUNNING" and cloud.get(url) == (200, "Hello from AWS-v2!")
    ok(cli_env, "apprunner", "delete-service", "--service-arn", arn)
    assert settle(apprunner, arn) == "DELETED"
    types = [o["Type"] for o in ok(cli_env, "apprunner", "list-operations", "--service-arn", arn)
             ["OperationSummaryList"]]
    assert types == ["DELETE_SERVICE", "RESUME_SERVICE", "PAUSE_SERVICE", "UPDATE_SERVICE", "CREATE_SERVICE"]


def test_errors_print_as_the_cli_prints_app_runners(cloud, cli_env):
    no_role = json.loads(LESSON_SOURCE)
    del no_role["AuthenticationConfiguration"]
    result = aws(cli_env, "apprunner", "create-service", "--service-name", "my-app", "--source-configuration",
                 json.dumps(no_role))
    assert result.returncode == 255  # AWS CLI v1: a service error
    assert ("An error occurred (InvalidRequestException) when calling the CreateService operation: Authentication "
            "configuration is missing an access role.") in result.stderr
    result = aws(cli_env, "apprunner", "create-service", "--service-name", "my-app", "--source-configuration",
                 LESSON_SOURCE, "--instance-configuration", "Cpu=1 vCPU,Memory=8 GB")
    assert "(InvalidRequestException) when calling the CreateService operation: The combination of Cpu '1 vCPU' " \
           "and Memory '8 GB' isn't supported." in result.stderr
    # a number as Port: the CLI itself refuses it, before any request
    as_number = LESSON_SOURCE.replace('"Port": "8080"', '"Port": 8080')
    result = aws(cli_env, "apprunner", "create-service", "--service-name", "my-app", "--source-configuration",
                 as_number)
    assert result.returncode != 0 and "Invalid type for parameter SourceConfiguration.ImageRepository." \
                                        "ImageConfiguration.Port" in result.stderr


def test_an_image_never_pushed_ends_create_failed(cloud, cli_env, ecr, apprunner):
    ecr.create_repository(repositoryName="my-app")
    arn = ok(cli_env, "apprunner", "create-service", "--service-name", "my-app", "--source-configuration",
             LESSON_SOURCE)["Service"]["ServiceArn"]
    assert settle(apprunner, arn) == "CREATE_FAILED"
    [op] = ok(cli_env, "apprunner", "list-operations", "--service-arn", arn)["OperationSummaryList"]
    assert (op["Type"], op["Status"]) == ("CREATE_SERVICE", "FAILED")
