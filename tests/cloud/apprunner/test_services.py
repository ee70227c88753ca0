"""App Runner through boto3 over HTTP, on the app runtime: a service's life (create, RUNNING, its URL
answering through the ingress, update and deployments taking over, pause, resume, delete), the
failures App Runner reports (an image never pushed, an app that exits or never listens, a health
check on the wrong path), its operations and its logs in CloudWatch Logs."""
from __future__ import annotations

import re
import threading
import time

import pytest
import requests
from botocore.exceptions import ClientError

from labkit.cloud.aws.apprunner import models
from tests.cloud.apprunner.conftest import (IMAGE, ROLE, TOKEN, error_of, lesson_source, log_lines, settled,
                                            wait_for)
from tests.cloud.helpers import ecr_push, make_image


def create(apprunner, name: str = "my-app", **kwargs) -> dict:
    kwargs.setdefault("SourceConfiguration", lesson_source())
    return apprunner.create_service(ServiceName=name, **kwargs)


def operations(apprunner, arn: str) -> list[tuple[str, str]]:
    return [(o["Type"], o["Status"]) for o in apprunner.list_operations(ServiceArn=arn)["OperationSummaryList"]]


def test_create_service_answers_as_app_runner_then_runs_the_app(cloud, apprunner, pushed_image):
    answer = create(apprunner)
    service = answer["Service"]
    assert re.fullmatch(r"[0-9a-f]{32}", service["ServiceId"])
    assert service["ServiceArn"] == ("arn:aws:apprunner:ap-northeast-2:123456789012:service/my-app/"
                                     + service["ServiceId"])
    assert re.fullmatch(r"[a-z0-9]{10}\.ap-northeast-2\.awsapprunner\.com", service["ServiceUrl"])
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", answer["OperationId"])
    assert service["Status"] == "OPERATION_IN_PROGRESS"
    assert service["SourceConfiguration"] == dict(lesson_source(), AutoDeploymentsEnabled=True)
    assert service["InstanceConfiguration"] == {"Cpu": "1024", "Memory": "2048"}
    assert service["HealthCheckConfiguration"] == {"Protocol": "TCP", "Path": "/", "Interval": 5, "Timeout": 2,
                                                   "HealthyThreshold": 1, "UnhealthyThreshold": 5}
    assert service["NetworkConfiguration"] == {"EgressConfiguration": {"EgressType": "DEFAULT"},
                                               "IngressConfiguration": {"IsPubliclyAccessible": True},
                                               "IpAddressType": "IPV4"}
    summary = service["AutoScalingConfigurationSummary"]
    assert (summary["AutoScalingConfigurationName"], summary["AutoScalingConfigurationRevision"],
            summary["IsDefault"]) == ("DefaultConfiguration", 1, True)

    running = settled(apprunner, service["ServiceArn"])
    assert running["Status"] == "RUNNING"
    assert cloud.get(service["ServiceUrl"]) == (200, "Hello from AWS!")
    assert cloud.get(service["ServiceUrl"].upper(), "/nothing")[0] == 404  # the app's own 404, host case ignored
    spec = cloud.runtime.started[0]
    assert (spec.ports, spec.environment, spec.command) == ([8080], {"CLOUD_PROVIDER": "AWS"}, None)
    assert spec.image.digest == pushed_image.digest
    [op] = apprunner.list_operations(ServiceArn=service["ServiceArn"])["OperationSummaryList"]
    assert (op["Id"], op["Type"], op["Status"], op["TargetArn"]) == (
        answer["OperationId"], "CREATE_SERVICE", "SUCCEEDED", service["ServiceArn"])
    assert op["StartedAt"] <= op["EndedAt"] == op["UpdatedAt"]
    listed = apprunner.list_services()["ServiceSummaryList"]
    assert [(s["ServiceName"], s["Status"], s["ServiceUrl"]) for s in listed] == [
        ("my-app", "RUNNING", service["ServiceUrl"])]


def test_a_start_command_replaces_the_images_command(cloud, apprunner, pushed_image):
    source = lesson_source()
    source["ImageRepository"]["ImageConfiguration"]["StartCommand"] = "python app.py --greeting 'Hello there'"
    arn = create(apprunner, SourceConfiguration=source)["Service"]["ServiceArn"]
    assert settled(apprunner, arn)["Status"] == "RUNNING"
    assert cloud.runtime.started[0].command == ["python", "app.py", "--greeting", "Hello there"]


def test_the_app_and_app_runner_write_their_logs(cloud, apprunner, logs, pushed_image):
    service = create(apprunner)["Service"]
    settled(apprunner, service["ServiceArn"])
    cloud.get(service["ServiceUrl"])
    base = f"/aws/apprunner/my-app/{service['ServiceId']}"
    application = wait_for(lambda: [line for line in log_lines(logs, base + "/application") if "GET /" in line],
                           what="the app's request line")
    assert "200" in application[0]
    streams = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=base + "/application")["logStreams"]]
    assert len(streams) == 1 and re.fullmatch(r"instance/[0-9a-f]{32}", streams[0])
    assert " * Running on http://127.0.0.1:8080" in log_lines(logs, base + "/application")
    events = wait_for(lambda: (lambda lines: lines if "[AppRunner] Service status is set to RUNNING." in lines
                               else None)(log_lines(logs, base + "/service", "events")), what="the RUNNING event")
    assert events[:2] == ["[AppRunner] Service creation started.",
                          "[AppRunner] Service status is set to OPERATION_IN_PROGRESS."]
    assert "[AppRunner] Service creation completed successfully." in events
    deployment = log_lines(logs, base + "/service")
    assert "[AppRunner] Successfully copied the image from ECR." in deployment
    assert "[AppRunner] Performing health check on protocol `TCP` [Port: '8080']." in deployment


def test_an_image_never_pushed_fails_the_creation(cloud, apprunner, logs, ecr):
    ecr.create_repository(repositoryName="my-app")  # the repository exists, the tag was never pushed
    service = create(apprunner)["Service"]
    failed = settled(apprunner, service["ServiceArn"])
    assert failed["Status"] == "CREATE_FAILED"
    assert operations(apprunner, service["ServiceArn"]) == [("CREATE_SERVICE", "FAILED")]
    assert cloud.runtime.started == []  # nothing ran
    assert cloud.get(service["ServiceUrl"]) == (404, "404 Not Found\n")
    lines = wait_for(lambda: (lambda got: got if any("Failure reason" in x for x in got) else None)(
        log_lines(logs, f"/aws/apprunner/my-app/{service['ServiceId']}/service")), what="the failure's events")
    text = "\n".join(lines)
    assert "[AppRunner] Failed to copy the image from ECR." in text
    assert f"[AppRunner] The image {IMAGE} could not be pulled: failed to resolve reference" in text
    assert "Failure reason : Failed to copy the image from ECR." in text
    assert "[AppRunner] Service status is set to CREATE_FAILED." in text
    # a failed service can only be deleted
    with pytest.raises(ClientError) as excinfo:
        apprunner.update_service(ServiceArn=service["ServiceArn"], InstanceConfiguration={"Memory": "3 GB"})
    assert error_of(excinfo) == ("InvalidStateException", "Service status must be RUNNING or PAUSED to be updated")
    apprunner.delete_service(ServiceArn=service["ServiceArn"])
    assert settled(apprunner, service["ServiceArn"])["Status"] == "DELETED"


def test_an_app_that_exits_or_never_listens_fails_the_creation(cloud, apprunner, logs, pushed_image):
    cloud.runtime.behaviour = lambda spec: "exit"
    crashing = create(apprunner, "crashing-app")["Service"]
    assert settled(apprunner, crashing["ServiceArn"])["Status"] == "CREATE_FAILED"
    group = f"/aws/apprunner/crashing-app/{crashing['ServiceId']}"
    assert wait_for(lambda: "ModuleNotFoundError: No module named 'flask'" in log_lines(logs, group + "/application"),
                    what="the app's traceback")
    assert wait_for(lambda: "[AppRunner] Your application stopped or failed to start. See logs for more information."
                    in log_lines(logs, group + "/service"), what="App Runner's reason")

    cloud.runtime.behaviour = lambda spec: "silent"
    started = time.monotonic()
    silent = create(apprunner, "silent-app")["Service"]
    assert settled(apprunner, silent["ServiceArn"])["Status"] == "CREATE_FAILED"
    assert time.monotonic() - started >= 1.4  # it was given the start timeout (shortened for the tests)
    assert cloud.runtime.running() == []      # the container that never answered was stopped
    assert wait_for(lambda: "[AppRunner] Health check failed on port '8080'. Check your configured port number. For "
                            "more information, read the application logs." in
                    log_lines(logs, f"/aws/apprunner/silent-app/{silent['ServiceId']}/service"), what="the reason")


def test_an_http_health_check_on_a_path_the_app_lacks_fails(cloud, apprunner, logs, pushed_image):
    service = create(apprunner, HealthCheckConfiguration={"Protocol": "HTTP", "Path": "/health"})["Service"]
    assert service["HealthCheckConfiguration"]["Path"] == "/health"
    assert settled(apprunner, service["ServiceArn"])["Status"] == "CREATE_FAILED"
    assert wait_for(lambda: "[AppRunner] Health check failed on path '/health' and port '8080'. Check your configured "
                            "port number. For more information, read the application logs." in
                    log_lines(logs, f"/aws/apprunner/my-app/{service['ServiceId']}/service"), what="the reason")
    good = create(apprunner, "http-checked", HealthCheckConfiguration={"Protocol": "HTTP", "Path": "/"})["Service"]
    assert settled(apprunner, good["ServiceArn"])["Status"] == "RUNNING"


def test_update_to_a_new_environment_takes_over_and_the_old_instance_stops(cloud, apprunner, pushed_image):
    service = create(apprunner)["Service"]
    arn, url = service["ServiceArn"], service["ServiceUrl"]
    settled(apprunner, arn)
    [old] = cloud.runtime.running()
    cloud.runtime.listen_after_s = 0.5  # the new version takes a moment to start: the old one keeps answering
    updated = apprunner.update_service(ServiceArn=arn, SourceConfiguration=lesson_source(provider="AWS-v2"))
    assert updated["Service"]["Status"] == "OPERATION_IN_PROGRESS"
    env = updated["Service"]["SourceConfiguration"]["ImageRepository"]["ImageConfiguration"]
    assert env["RuntimeEnvironmentVariables"] == {"CLOUD_PROVIDER": "AWS-v2"}
    assert cloud.get(url) == (200, "Hello from AWS!")  # during the deployment
    assert settled(apprunner, arn)["Status"] == "RUNNING"
    assert cloud.get(url) == (200, "Hello from AWS-v2!")
    assert old.state == "exited" and [c.spec.environment for c in cloud.runtime.running()] == [
        {"CLOUD_PROVIDER": "AWS-v2"}]
    assert operations(apprunner, arn) == [("UPDATE_SERVICE", "SUCCEEDED"), ("CREATE_SERVICE", "SUCCEEDED")]
    # the update kept the authentication configuration and the instance size it did not name
    again = apprunner.update_service(ServiceArn=arn, InstanceConfiguration={"Memory": "4 GB"})["Service"]
    assert again["InstanceConfiguration"] == {"Cpu": "1024", "Memory": "4 GB"}
    assert again["SourceConfiguration"]["AuthenticationConfiguration"] == {"AccessRoleArn": ROLE}


def test_a_failed_update_rolls_back_and_the_old_version_keeps_serving(cloud, apprunner, logs, pushed_image):
    service = create(apprunner)["Service"]
    arn, url = service["ServiceArn"], service["ServiceUrl"]
    settled(apprunner, arn)
    apprunner.update_service(ServiceArn=arn, SourceConfiguration=lesson_source(provider="AWS-v2", port="80"))
    back = settled(apprunner, arn)
    assert back["Status"] == "RUNNING"
    assert operations(apprunner, arn)[0] == ("UPDATE_SERVICE", "ROLLBACK_SUCCEEDED")
    assert back["SourceConfiguration"] == dict(lesson_source(), AutoDeploymentsEnabled=True)  # the old one again
    assert cloud.get(url) == (200, "Hello from AWS!")
    assert len(cloud.runtime.running()) == 1
    text = "\n".join(wait_for(lambda: (lambda got: got if any("Rollback" in x for x in got) else None)(
        log_lines(logs, f"/aws/apprunner/my-app/{service['ServiceId']}/service")), what="the rollback's events"))
    assert "Health check failed on port '80'" in text and "[AppRunner] Deployment failed. For details, see service " \
                                                          "logs." in text


def test_start_deployment_runs_the_image_now_behind_the_tag(cloud, apprunner, ecr, pushed_image):
    service = create(apprunner)["Service"]
    arn = service["ServiceArn"]
    settled(apprunner, arn)
    newer = make_image("hello from my-app, v2")
    ecr_push(ecr, "my-app", newer, tag="latest")
    op = apprunner.start_deployment(ServiceArn=arn)["OperationId"]
    assert settled(apprunner, arn)["Status"] == "RUNNING"
    first = apprunner.list_operations(ServiceArn=arn)["OperationSummaryList"][0]
    assert (first["Id"], first["Type"], first["Status"]) == (op, "START_DEPLOYMENT", "SUCCEEDED")
    [running] = cloud.runtime.running()
    assert running.spec.image.digest == newer.digest != pushed_image.digest


def test_pause_resume_and_delete(cloud, apprunner, pushed_image):
    service = create(apprunner)["Service"]
    arn, url = service["ServiceArn"], service["ServiceUrl"]
    settled(apprunner, arn)
    paused = apprunner.pause_service(ServiceArn=arn)
    assert paused["Service"]["Status"] == "OPERATION_IN_PROGRESS" and paused["OperationId"]
    assert settled(apprunner, arn)["Status"] == "PAUSED"
    assert cloud.runtime.running() == []
    assert cloud.get(url) == (404, "404 Not Found\n")
    with pytest.raises(ClientError) as excinfo:
        apprunner.pause_service(ServiceArn=arn)
    assert error_of(excinfo) == ("InvalidStateException",
                                 "Service status must be RUNNING to be paused. Current status: PAUSED")
    with pytest.raises(ClientError) as excinfo:
        apprunner.start_deployment(ServiceArn=arn)
    assert error_of(excinfo) == ("InvalidRequestException",
                                 "Service status must be RUNNING to start a deployment. Current status: PAUSED")
    # an update while paused is kept and runs when the service resumes
    apprunner.update_service(ServiceArn=arn, SourceConfiguration=lesson_source(provider="AWS-v2"))
    assert settled(apprunner, arn)["Status"] == "PAUSED" and cloud.runtime.running() == []
    apprunner.resume_service(ServiceArn=arn)
    assert settled(apprunner, arn)["Status"] == "RUNNING"
    assert cloud.get(url) == (200, "Hello from AWS-v2!")
    with pytest.raises(ClientError) as excinfo:
        apprunner.resume_service(ServiceArn=arn)
    assert error_of(excinfo) == ("InvalidStateException",
                                 "Service status must be PAUSED to be resumed. Current status: RUNNING")

    deleting = apprunner.delete_service(ServiceArn=arn)
    assert deleting["Service"]["Status"] == "OPERATION_IN_PROGRESS"
    deleted = settled(apprunner, arn)
    assert deleted["Status"] == "DELETED" and deleted["DeletedAt"] >= deleted["CreatedAt"]
    assert cloud.runtime.running() == []
    assert all(route.owner != arn for route in cloud.state.ingress.routes())
    assert apprunner.list_services()["ServiceSummaryList"] == []
    assert operations(apprunner, arn) == [("DELETE_SERVICE", "SUCCEEDED"), ("RESUME_SERVICE", "SUCCEEDED"),
                                          ("UPDATE_SERVICE", "SUCCEEDED"), ("PAUSE_SERVICE", "SUCCEEDED"),
                                          ("CREATE_SERVICE", "SUCCEEDED")]
    with pytest.raises(ClientError) as excinfo:
        apprunner.delete_service(ServiceArn=arn)
    assert error_of(excinfo)[0] == "InvalidStateException"
    create(apprunner)  # the name is free again


def test_nothing_else_may_run_while_an_operation_is_in_progress(cloud, apprunner, pushed_image):
    cloud.runtime.listen_after_s = 0.6
    arn = create(apprunner)["Service"]["ServiceArn"]
    assert operations(apprunner, arn)[0][1] in ("PENDING", "IN_PROGRESS")
    for call, message in ((apprunner.pause_service, "Service status must be RUNNING to be paused. Current status: "
                                                    "OPERATION_IN_PROGRESS"),
                          (apprunner.delete_service, "Service status must be RUNNING, PAUSED, CREATE_FAILED or "
                                                     "DELETE_FAILED to be deleted. Current status: "
                                                     "OPERATION_IN_PROGRESS")):
        with pytest.raises(ClientError) as excinfo:
            call(ServiceArn=arn)
        assert error_of(excinfo) == ("InvalidStateException", message)
    with pytest.raises(ClientError) as excinfo:
        apprunner.update_service(ServiceArn=arn, InstanceConfiguration={"Memory": "3 GB"})
    assert error_of(excinfo) == ("InvalidStateException", "Service status must be RUNNING or PAUSED to be updated")
    assert settled(apprunner, arn)["Status"] == "RUNNING"


def test_an_instance_that_exits_by_itself_is_replaced(cloud, apprunner, pushed_image):
    service = create(apprunner)["Service"]
    settled(apprunner, service["ServiceArn"])
    [first] = cloud.runtime.running()
    cloud.runtime.exit(first.name, 1)
    replacement = wait_for(lambda: [c for c in cloud.runtime.running() if c is not first and c.server is not None],
                           what="a replacement instance")
    assert wait_for(lambda: cloud.get(service["ServiceUrl"]) == (200, "Hello from AWS!"), what="the URL again")
    assert len(replacement) == 1
    assert operations(apprunner, service["ServiceArn"]) == [("CREATE_SERVICE", "SUCCEEDED")]


def test_tags(cloud, apprunner, pushed_image):
    arn = create(apprunner, Tags=[{"Key": "course", "Value": "containers"}])["Service"]["ServiceArn"]
    assert apprunner.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "course", "Value": "containers"}]
    apprunner.tag_resource(ResourceArn=arn, Tags=[{"Key": "lab", "Value": "09"}, {"Key": "course", "Value": "c2"}])
    assert apprunner.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "lab", "Value": "09"},
                                                                        {"Key": "course", "Value": "c2"}]
    apprunner.untag_resource(ResourceArn=arn, TagKeys=["lab"])
    assert apprunner.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "course", "Value": "c2"}]
    with pytest.raises(ClientError) as excinfo:
        apprunner.tag_resource(ResourceArn=arn, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert error_of(excinfo)[0] == "InvalidRequestException"


def test_lists_page_as_app_runner_does(cloud, apprunner, pushed_image):
    arns = [create(apprunner, f"app-{n}")["Service"]["ServiceArn"] for n in range(3)]
    first = apprunner.list_services(MaxResults=2)
    second = apprunner.list_services(MaxResults=2, NextToken=first["NextToken"])
    names = [s["ServiceName"] for s in first["ServiceSummaryList"] + second["ServiceSummaryList"]]
    assert sorted(names) == ["app-0", "app-1", "app-2"] and "NextToken" not in second
    with pytest.raises(ClientError) as excinfo:
        apprunner.list_services(MaxResults=21)
    assert error_of(excinfo)[0] == "InvalidRequestException"
    with pytest.raises(ClientError) as excinfo:
        apprunner.list_operations(ServiceArn=arns[0], NextToken="not-ours")
    assert error_of(excinfo)[0] == "InvalidRequestException"


def test_the_service_quota(cloud, apprunner, pushed_image, monkeypatch):
    monkeypatch.setattr(models, "MAX_SERVICES", 2)
    create(apprunner, "app-one")
    create(apprunner, "app-two")
    with pytest.raises(ClientError) as excinfo:
        create(apprunner, "app-three")
    code, message = error_of(excinfo)
    assert code == "ServiceQuotaExceededException"
    assert message.startswith("App Runner can't create this resource. You've reached your account quota")


def test_a_reset_stops_every_container_route_and_thread(cloud, apprunner, pushed_image):
    running = create(apprunner, "running-app")["Service"]
    settled(apprunner, running["ServiceArn"])
    cloud.runtime.behaviour = lambda spec: "silent"
    create(apprunner, "starting-app")  # its health check is still waiting when the reset comes
    time.sleep(0.2)
    assert any(t.name.startswith("apprunner-") for t in threading.enumerate())
    assert len(cloud.runtime.running()) == 2
    assert requests.post(cloud.endpoint + "/_labkit/reset", headers={"X-Labkit-Token": TOKEN}, timeout=30).ok
    assert wait_for(lambda: cloud.runtime.running() == [], timeout=3, what="every container to stop")
    assert cloud.state.ingress.routes() == []
    assert wait_for(lambda: not [t for t in threading.enumerate() if t.name.startswith("apprunner-")], timeout=6,
                    what="App Runner's threads to end")
    assert apprunner.list_services()["ServiceSummaryList"] == []
