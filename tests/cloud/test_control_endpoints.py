"""The cloud's control endpoints (labkit's /_labkit/* and moto's /moto-api/*) answer only to the
control token: whoever holds them can read or wipe every resource of the cloud. A reset through
moto's path means the same as labkit's: moto's services and labkit's ECR and registry."""
from __future__ import annotations

import pytest
import requests

from tests.cloud.helpers import Registry, login, make_image

HOST = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"

# (method, path) of moto's control API: reset, state dump, seed, state manager, recorder, dashboard.
MOTO_API = [
    ("POST", "/moto-api/reset"),
    ("POST", "/moto-api/reset-auth"),
    ("GET", "/moto-api/data.json"),
    ("POST", "/moto-api/seed?a=42"),
    ("GET", "/moto-api/state-manager/get-transition?model_name=ecs::task"),
    ("POST", "/moto-api/state-manager/set-transition"),
    ("POST", "/moto-api/recorder/start-recording"),
    ("GET", "/moto-api/recorder/download-recording"),
    ("GET", "/moto-api/"),
    ("POST", "//moto-api/reset"),  # the HTTP server reads this as /moto-api/reset
]


def call(cloud, method: str, path: str, token: str | bytes | None = None, **kwargs) -> requests.Response:
    headers = {"X-Labkit-Token": token} if token is not None else {}
    return requests.request(method, cloud.endpoint + path, headers=headers, timeout=30,
                            allow_redirects=False, **kwargs)


@pytest.mark.parametrize("method,path", MOTO_API)
@pytest.mark.parametrize("token", [None, "", "not-the-token", "코드".encode()])  # bytes: not latin-1
def test_moto_api_refuses_without_the_token(fresh_cloud, method, path, token):
    response = call(fresh_cloud, method, path, token)
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/json"
    assert "control token" in response.json()["error"]
    assert "X-Labkit-Token" in response.json()["error"]


def test_refused_reset_leaves_everything(aws, fresh_cloud):
    aws("ecr").create_repository(repositoryName="my-app")
    aws("ecs").create_cluster(clusterName="lab")
    assert call(fresh_cloud, "POST", "/moto-api/reset").status_code == 403
    assert [r["repositoryName"] for r in aws("ecr").describe_repositories()["repositories"]] == ["my-app"]
    assert aws("ecs").list_clusters()["clusterArns"]


def test_moto_api_works_with_the_token(fresh_cloud, aws):
    aws("logs").create_log_group(logGroupName="lab")  # a service moto serves (ECS is the project's own)
    data = call(fresh_cloud, "GET", "/moto-api/data.json", fresh_cloud.token)
    assert data.status_code == 200
    assert "logs" in data.json()
    transition = call(fresh_cloud, "GET", "/moto-api/state-manager/get-transition?model_name=ecs::task",
                      fresh_cloud.token)
    assert transition.status_code == 200
    assert call(fresh_cloud, "POST", "/moto-api/recorder/stop-recording", fresh_cloud.token).status_code == 200


def test_moto_api_reset_resets_labkit_and_moto(aws, fresh_cloud):
    ecr = aws("ecr")
    ecr.create_repository(repositoryName="my-app")
    ecr.create_repository(repositoryName="pushed")
    pushed = Registry(fresh_cloud.endpoint, login(ecr), host=HOST).push("pushed", make_image(), "v1.0")
    assert [r.status_code for r in pushed] == [201]
    aws("ecs").create_cluster(clusterName="lab")

    response = call(fresh_cloud, "POST", "/moto-api/reset", fresh_cloud.token)
    assert response.status_code == 200

    assert ecr.describe_repositories()["repositories"] == []
    assert aws("ecs").list_clusters()["clusterArns"] == []
    # The registry forgot the image too: a fresh login sees no repository.
    manifest = Registry(fresh_cloud.endpoint, login(ecr), host=HOST).request("GET", "/v2/pushed/manifests/v1.0")
    assert manifest.status_code == 404


def test_labkit_control_still_needs_the_token(fresh_cloud):
    assert call(fresh_cloud, "POST", "/_labkit/reset").status_code == 403
    assert call(fresh_cloud, "POST", "/_labkit/reset", fresh_cloud.token).json() == {"reset": True}
    assert call(fresh_cloud, "GET", "/_labkit/health").json()["service"] == "labkit"
