"""Clusters and services as ECS runs them: the lesson's create-service, what is kept and returned,
deployments (PRIMARY / ACTIVE, rolloutState), events, scaling, replacement, deletion, and each
validation error with ECS's code and message."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.cloud.ecs.conftest import error_of, service_of, steady, wait_for
from tests.cloud.ecs.lesson import NETWORK, SERVICE_CONNECT, TASK_DEFINITION, task_definition


def create(ecs, **changes):
    params = {"cluster": "my-cluster", "serviceName": "my-service", "taskDefinition": "my-task:1",
              "desiredCount": 2, "launchType": "FARGATE", "networkConfiguration": NETWORK}
    params.update(changes)
    return ecs.create_service(**{k: v for k, v in params.items() if v is not None})["service"]


def refused(ecs, **changes) -> tuple[str, str]:
    with pytest.raises(ClientError) as excinfo:
        create(ecs, **changes)
    return error_of(excinfo)


def test_clusters(ecs):
    cluster = ecs.create_cluster(clusterName="my-cluster", capacityProviders=["FARGATE", "FARGATE_SPOT"])["cluster"]
    assert cluster["clusterArn"] == "arn:aws:ecs:ap-northeast-2:123456789012:cluster/my-cluster"
    assert (cluster["status"], cluster["capacityProviders"], cluster["defaultCapacityProviderStrategy"]) == (
        "ACTIVE", ["FARGATE", "FARGATE_SPOT"], [])
    assert ecs.create_cluster(clusterName="my-cluster")["cluster"]["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    described = ecs.describe_clusters(clusters=["my-cluster", "nope"])
    assert [c["clusterName"] for c in described["clusters"]] == ["my-cluster"]
    assert described["failures"] == [{"arn": "arn:aws:ecs:ap-northeast-2:123456789012:cluster/nope", "reason": "MISSING"}]
    assert ecs.list_clusters()["clusterArns"] == [cluster["clusterArn"]]
    with pytest.raises(ClientError) as excinfo:
        ecs.create_cluster(clusterName="other", capacityProviders=["FARGATE"],
                           defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    assert error_of(excinfo)[0] == "InvalidParameterException"
    assert "not associated with the cluster" in error_of(excinfo)[1]
    assert ecs.delete_cluster(cluster="my-cluster")["cluster"]["status"] == "INACTIVE"
    # A deleted cluster stays listed for a while, INACTIVE (gruntwork-io/cloud-nuke#145).
    assert ecs.list_clusters()["clusterArns"] == [cluster["clusterArn"]]
    assert ecs.describe_clusters(clusters=["my-cluster"])["clusters"][0]["status"] == "INACTIVE"
    with pytest.raises(ClientError) as excinfo:
        ecs.list_services(cluster="my-cluster")
    assert error_of(excinfo) == ("ClusterNotFoundException", "Cluster not found.")


def test_the_lessons_service_reaches_two_running_tasks(ecs, lesson):
    created = create(ecs, platformVersion="LATEST")
    assert (created["status"], created["desiredCount"], created["runningCount"]) == ("ACTIVE", 2, 0)
    assert created["serviceArn"] == "arn:aws:ecs:ap-northeast-2:123456789012:service/my-cluster/my-service"
    assert created["platformVersion"] == "LATEST" and created["platformFamily"] == "Linux"
    assert created["deploymentConfiguration"] == {"deploymentCircuitBreaker": {"enable": False, "rollback": False},
                                                  "maximumPercent": 200, "minimumHealthyPercent": 100}
    assert created["networkConfiguration"] == NETWORK
    (deployment,) = created["deployments"]
    assert (deployment["status"], deployment["rolloutState"]) == ("PRIMARY", "IN_PROGRESS")
    assert deployment["id"].startswith("ecs-svc/")
    service = steady(ecs)
    assert (service["runningCount"], service["pendingCount"]) == (2, 0)
    assert service["deployments"][0]["rolloutStateReason"] == f"ECS deployment {deployment['id']} completed."
    events = [e["message"] for e in service["events"]]
    task_ids = [arn.rsplit("/", 1)[1] for arn in ecs.list_tasks(cluster="my-cluster", serviceName="my-service")["taskArns"]]
    assert events[0] == "(service my-service) has reached a steady state."
    assert events[1] == f"(service my-service) (deployment {deployment['id']}) deployment completed."
    assert events[2].startswith("(service my-service) has started 2 tasks: (task ")
    assert sorted(events[2][len("(service my-service) has started 2 tasks: "):-1].replace("(task ", "").replace(")", "")
                  .split()) == sorted(task_ids)
    tasks = ecs.describe_tasks(cluster="my-cluster", tasks=task_ids)["tasks"]
    assert {t["platformVersion"] for t in tasks} == {"1.4.0"}  # LATEST resolved on the task
    assert {t["group"] for t in tasks} == {"service:my-service"}
    assert {t["startedBy"] for t in tasks} == {deployment["id"]}
    cluster = ecs.describe_clusters(clusters=["my-cluster"])["clusters"][0]
    assert (cluster["runningTasksCount"], cluster["activeServicesCount"]) == (2, 1)
    assert ecs.list_services(cluster="my-cluster")["serviceArns"] == [created["serviceArn"]]


def test_what_was_set_is_kept_and_returned(ecs, lesson, servicediscovery):
    servicediscovery.create_http_namespace(Name="my-app-namespace")  # Service Connect's namespace must exist
    ecs.register_task_definition(**task_definition(container={
        "portMappings": [{"name": "http", "containerPort": 80, "protocol": "tcp"}]}))
    created = create(ecs, taskDefinition="my-task:2", launchType=None, enableExecuteCommand=True,
                     capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                                               {"capacityProvider": "FARGATE_SPOT", "weight": 3}],
                     deploymentConfiguration={"maximumPercent": 150, "minimumHealthyPercent": 50,
                                              "deploymentCircuitBreaker": {"enable": True, "rollback": True}},
                     serviceConnectConfiguration=SERVICE_CONNECT, tags=[{"key": "lab", "value": "03"}])
    assert created["enableExecuteCommand"] is True
    assert "launchType" not in created
    assert created["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                                                   {"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0}]
    assert created["deploymentConfiguration"]["maximumPercent"] == 150
    assert created["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert created["deployments"][0]["serviceConnectConfiguration"] == SERVICE_CONNECT
    assert created["tags"] == [{"key": "lab", "value": "03"}]
    assert ecs.list_tags_for_resource(resourceArn=created["serviceArn"])["tags"] == [{"key": "lab", "value": "03"}]
    service = ecs.describe_services(cluster="my-cluster", services=["my-service"], include=["TAGS"])["services"][0]
    assert service["tags"] == [{"key": "lab", "value": "03"}]
    assert service["deployments"][0]["serviceConnectConfiguration"] == SERVICE_CONNECT
    steady(ecs)
    arns = ecs.list_tasks(cluster="my-cluster")["taskArns"]
    providers = sorted(t["capacityProviderName"] for t in ecs.describe_tasks(cluster="my-cluster", tasks=arns)["tasks"])
    assert providers == ["FARGATE", "FARGATE_SPOT"]  # base 1 on FARGATE, the rest by weight


def test_service_errors(ecs, lesson):
    assert refused(ecs, cluster="nope") == ("ClusterNotFoundException", "Cluster not found.")
    assert refused(ecs, taskDefinition="my-task:7") == ("InvalidParameterException", "TaskDefinition not found.")
    assert refused(ecs, networkConfiguration=None) == (
        "InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
    assert refused(ecs, networkConfiguration={"awsvpcConfiguration": {"subnets": []}}) == (
        "InvalidParameterException", "subnets can not be empty.")
    assert refused(ecs, capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}]) == (
        "InvalidParameterException",
        "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
    assert refused(ecs, platformVersion="9.9.9") == ("PlatformUnknownException",
                                                     "The specified platform version does not exist.")
    assert refused(ecs, desiredCount=-1)[0] == "InvalidParameterException"
    assert refused(ecs, desiredCount=5001)[0] == "InvalidParameterException"
    code, message = refused(ecs, serviceConnectConfiguration=SERVICE_CONNECT)  # the lesson's task definition names no port
    assert code == "InvalidParameterException" and "portName 'http'" in message
    create(ecs)
    assert refused(ecs) == ("InvalidParameterException", "Creation of service was not idempotent.")
    with pytest.raises(ClientError) as excinfo:
        ecs.update_service(cluster="my-cluster", service="nope", desiredCount=1)
    assert error_of(excinfo) == ("ServiceNotFoundException", "Service not found.")
    missing = ecs.describe_services(cluster="my-cluster", services=["nope"])
    # A missing service's ARN is the short form, as ECS answers (aws-actions/amazon-ecs-deploy-task-definition#369).
    assert missing["failures"] == [{"arn": "arn:aws:ecs:ap-northeast-2:123456789012:service/nope",
                                    "reason": "MISSING"}]
    by_arn = ecs.describe_services(cluster="my-cluster",
                                   services=["arn:aws:ecs:ap-northeast-2:123456789012:service/my-cluster/gone"])
    assert by_arn["failures"] == [{"arn": "arn:aws:ecs:ap-northeast-2:123456789012:service/gone", "reason": "MISSING"}]


def test_a_new_task_definition_rolls_out_a_new_deployment(ecs, lesson):
    create(ecs)
    first = steady(ecs)["deployments"][0]["id"]
    old_tasks = set(ecs.list_tasks(cluster="my-cluster")["taskArns"])
    ecs.register_task_definition(**task_definition(container={"portMappings": [{"containerPort": 8080}]}))
    updated = ecs.update_service(cluster="my-cluster", service="my-service", taskDefinition="my-task:2")["service"]
    assert [(d["status"], d["taskDefinition"].rsplit("/", 1)[1]) for d in updated["deployments"]] == [
        ("PRIMARY", "my-task:2"), ("ACTIVE", "my-task:1")]
    assert updated["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    service = steady(ecs)
    assert service["deployments"][0]["taskDefinition"].endswith("my-task:2")
    assert service["deployments"][0]["id"] != first
    new_tasks = set(ecs.list_tasks(cluster="my-cluster")["taskArns"])
    assert len(new_tasks) == 2 and not new_tasks & old_tasks
    stopped = ecs.describe_tasks(cluster="my-cluster", tasks=list(old_tasks))["tasks"]
    wait_for(lambda: all(t["lastStatus"] == "STOPPED" for t in
                         ecs.describe_tasks(cluster="my-cluster", tasks=list(old_tasks))["tasks"]), what="old tasks")
    stopped = ecs.describe_tasks(cluster="my-cluster", tasks=list(old_tasks))["tasks"]
    assert {t["stopCode"] for t in stopped} == {"ServiceSchedulerInitiated"}
    assert {t["stoppedReason"] for t in stopped} == {f"Scaling activity initiated by (deployment {first})"}
    assert any(e["message"].startswith("(service my-service) has stopped 2 running tasks") or
               e["message"].startswith("(service my-service) has stopped 1 running tasks") for e in service["events"])


def test_scaling_and_deletion(ecs, lesson):
    create(ecs)
    steady(ecs)
    ecs.update_service(cluster="my-cluster", service="my-service", desiredCount=3)
    assert len(steady(ecs, count=3)["deployments"]) == 1
    with pytest.raises(ClientError) as excinfo:
        ecs.delete_service(cluster="my-cluster", service="my-service")
    assert error_of(excinfo) == ("InvalidParameterException", "The service cannot be stopped while it is scaled above 0.")
    with pytest.raises(ClientError) as excinfo:
        ecs.delete_cluster(cluster="my-cluster")
    assert error_of(excinfo) == ("ClusterContainsServicesException",
                                 "The Cluster cannot be deleted while Services are active.")
    ecs.update_service(cluster="my-cluster", service="my-service", desiredCount=1)
    steady(ecs, count=1)
    deleted = ecs.delete_service(cluster="my-cluster", service="my-service", force=True)["service"]
    assert deleted["status"] == "DRAINING"
    wait_for(lambda: service_of(ecs)["status"] == "INACTIVE", what="the service to be INACTIVE")
    assert ecs.list_services(cluster="my-cluster")["serviceArns"] == []
    assert ecs.list_tasks(cluster="my-cluster")["taskArns"] == []
    create(ecs)  # the name is free again
    with pytest.raises(ClientError) as excinfo:
        ecs.update_service(cluster="my-cluster", service="my-service", taskDefinition="my-task:5")
    assert error_of(excinfo) == ("InvalidParameterException", "TaskDefinition not found.")


def test_a_service_replaces_a_task_whose_essential_container_exits(ecs, lesson, cloud):
    create(ecs, desiredCount=1)
    steady(ecs)
    (first,) = ecs.list_tasks(cluster="my-cluster")["taskArns"]
    task_id = first.rsplit("/", 1)[1]
    (container,) = cloud.runtime.named(f"/{task_id}/my-container")
    cloud.runtime.exit(container.name, 3)
    service = wait_for(lambda: (lambda s: s if s["runningCount"] == 1 and
                                ecs.list_tasks(cluster="my-cluster")["taskArns"] != [first] else None)(service_of(ecs)),
                       what="a replacement task")
    (second,) = ecs.list_tasks(cluster="my-cluster")["taskArns"]
    stopped = wait_for(lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(
        ecs.describe_tasks(cluster="my-cluster", tasks=[first])["tasks"][0]), what="the first task to stop")
    assert (stopped["lastStatus"], stopped["stopCode"], stopped["stoppedReason"]) == (
        "STOPPED", "EssentialContainerExited", "Essential container in task exited")
    assert stopped["containers"][0]["exitCode"] == 3
    assert f"(service my-service) has started 1 tasks: (task {second.rsplit('/', 1)[1]})." in [
        e["message"] for e in service_of(ecs)["events"]]


def test_fargate_spot_interruption_is_replaced(ecs, lesson, cloud):
    from labkit.cloud.aws.ecs import models

    create(ecs, desiredCount=1, launchType=None,
           capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    steady(ecs)
    (first,) = ecs.list_tasks(cluster="my-cluster")["taskArns"]
    with pytest.raises(Exception):
        ecs_backend = models.backend(cloud.state)
        ecs_backend.interrupt_spot("123456789012", "ap-northeast-2", "my-cluster", "no-such-task")
    models.backend(cloud.state).interrupt_spot("123456789012", "ap-northeast-2", "my-cluster", first)
    wait_for(lambda: ecs.describe_tasks(cluster="my-cluster", tasks=[first])["tasks"][0]["lastStatus"] == "STOPPED",
             what="the interrupted task to stop")
    stopped = ecs.describe_tasks(cluster="my-cluster", tasks=[first])["tasks"][0]
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("SpotInterruption", "Your Spot Task was interrupted.")
    steady(ecs)
    assert ecs.list_tasks(cluster="my-cluster")["taskArns"] != [first]


def test_an_ec2_service_cannot_place_tasks(ecs, lesson):
    ecs.register_task_definition(family="ec2-task", containerDefinitions=[{"name": "web", "image": "nginx",
                                                                            "memory": 128}])
    created = ecs.create_service(cluster="my-cluster", serviceName="ec2", taskDefinition="ec2-task", desiredCount=1)["service"]
    assert created["launchType"] == "EC2"
    event = wait_for(lambda: service_of(ecs, "ec2")["events"], what="an event")[0]["message"]
    assert event.startswith("(service ec2) was unable to place a task because no container instance met all of its "
                            "requirements. Reason: No Container Instances were found in your cluster.")
    with pytest.raises(ClientError) as excinfo:
        ecs.create_service(cluster="my-cluster", serviceName="ec2b", taskDefinition="ec2-task", desiredCount=1,
                           launchType="EC2", platformVersion="LATEST")
    assert error_of(excinfo) == ("InvalidParameterException",
                                 "The platform version must be null when specifying an EC2 launch type.")
    assert TASK_DEFINITION["family"] == "my-task"


def test_a_daemon_service_runs_on_ec2_only(ecs, lesson):
    """DAEMON places one task per container instance: accepted for EC2 (none here, so nothing to run),
    refused for Fargate."""
    assert refused(ecs, schedulingStrategy="DAEMON") == (
        "InvalidParameterException", "Daemon services are not supported with the Fargate launch type.")
    ecs.register_task_definition(family="ec2-task", containerDefinitions=[{"name": "web", "image": "nginx",
                                                                            "memory": 128}])
    daemon = ecs.create_service(cluster="my-cluster", serviceName="agent", taskDefinition="ec2-task",
                                schedulingStrategy="DAEMON", launchType="EC2")["service"]
    assert (daemon["schedulingStrategy"], daemon["launchType"], daemon["desiredCount"]) == ("DAEMON", "EC2", 0)
    ecs.create_service(cluster="my-cluster", serviceName="replica", taskDefinition="ec2-task", desiredCount=1)
    wait_for(lambda: service_of(ecs, "replica")["events"], what="the replica's 'unable to place' event")
    assert service_of(ecs, "agent")["events"] == []  # the same passes found nothing to place for the daemon
