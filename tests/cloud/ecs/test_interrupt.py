"""`labkit ecs interrupt`: a student reclaims a FARGATE_SPOT task's capacity, as AWS may at any time; the
task stops with ECS's SpotInterruption code and reason, its service replaces it; a FARGATE task is
refused. A lab uses it to show why a service spreads its tasks over both capacity providers."""
from __future__ import annotations

from tests.cloud.ecs.conftest import service_of, steady, wait_for
from tests.cloud.ecs.lesson import NETWORK

BOTH = [{"capacityProvider": "FARGATE", "weight": 1, "base": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 3}]


def _tasks(ecs) -> list[dict]:
    arns = ecs.list_tasks(cluster="my-cluster")["taskArns"]
    return ecs.describe_tasks(cluster="my-cluster", tasks=arns)["tasks"] if arns else []


def test_interrupting_the_spot_task_of_a_service_on_both_providers(ecs, lesson, cloud, monkeypatch, capfd):
    monkeypatch.setenv("LABKIT_LANG", "en")  # its messages in English, whatever an earlier test left in the environment
    from labkit.cli import main

    monkeypatch.setenv("LABKIT_AWS_PORT", str(cloud.port))
    ecs.create_service(cluster="my-cluster", serviceName="my-service", taskDefinition="my-task:1", desiredCount=2,
                       capacityProviderStrategy=BOTH, networkConfiguration=NETWORK)
    steady(ecs)
    by_provider = {t["capacityProviderName"]: t["taskArn"] for t in _tasks(ecs)}
    assert set(by_provider) == {"FARGATE", "FARGATE_SPOT"}

    capfd.readouterr()
    assert main(["ecs", "interrupt", "--cluster", "my-cluster", "--task", by_provider["FARGATE"]]) == 1
    err = capfd.readouterr().err
    assert "InvalidParameterException" in err and "FARGATE_SPOT" in err
    assert ecs.describe_tasks(cluster="my-cluster", tasks=[by_provider["FARGATE"]])["tasks"][0][
        "desiredStatus"] == "RUNNING"  # refused: untouched

    spot_id = by_provider["FARGATE_SPOT"].rsplit("/", 1)[1]
    assert main(["ecs", "interrupt", "--cluster", "my-cluster", "--task", spot_id]) == 0
    assert f"Task {spot_id} was interrupted" in capfd.readouterr().out
    wait_for(lambda: ecs.describe_tasks(cluster="my-cluster", tasks=[spot_id])["tasks"][0]["lastStatus"] == "STOPPED",
             what="the interrupted task to stop")
    stopped = ecs.describe_tasks(cluster="my-cluster", tasks=[spot_id])["tasks"][0]
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("SpotInterruption", "Your Spot Task was interrupted.")
    # its container got the stop signal (SIGTERM, as Fargate sends it), not a silent disappearance
    (container,) = [c for c in cloud.runtime.named("/my-container") if spot_id in c.name]
    assert container.stop_reason == "Your Spot Task was interrupted."

    steady(ecs)  # the service replaces it, still on its strategy; the FARGATE task kept running
    running = _tasks(ecs)
    assert len(running) == 2 and by_provider["FARGATE"] in [t["taskArn"] for t in running]
    assert service_of(ecs)["runningCount"] == 2


def test_interrupting_a_missing_task_or_cluster(cloud, lesson, monkeypatch, capfd):
    monkeypatch.setenv("LABKIT_LANG", "en")
    from labkit.cli import main

    monkeypatch.setenv("LABKIT_AWS_PORT", str(cloud.port))
    assert main(["ecs", "interrupt", "--cluster", "my-cluster", "--task", "0" * 32]) == 1
    assert "The referenced task was not found." in capfd.readouterr().err
    assert main(["ecs", "interrupt", "--cluster", "nope", "--task", "0" * 32]) == 1
    assert "ClusterNotFoundException: Cluster not found." in capfd.readouterr().err
