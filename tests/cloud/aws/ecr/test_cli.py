"""The lesson's awscli commands, run as a student runs them (subprocesses with the cloud's
environment), and their effect checked on the cloud's state."""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cloud.helpers import ACCOUNT, REGION, Registry, ecr_push, make_image

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
pytestmark = pytest.mark.skipif(AWS is None, reason="the aws CLI is not installed")


def aws(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([AWS, *args], env=env, capture_output=True, text=True, timeout=60)


def test_create_repository_login_and_list(cloud_env, aws_client_ecr):
    created = aws(cloud_env, "ecr", "create-repository", "--repository-name", "my-app", "--region", REGION)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["repository"]["repositoryUri"] == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-app"
    assert aws_client_ecr.describe_repositories()["repositories"][0]["repositoryName"] == "my-app"

    login = aws(cloud_env, "ecr", "get-login-password", "--region", REGION)
    assert login.returncode == 0, login.stderr
    password = login.stdout.strip()
    registry = Registry(aws_client_ecr.meta.endpoint_url, ("AWS", password),
                        host=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com")
    assert registry.request("GET", "/v2/").status_code == 200  # what `docker login` checks
    image = make_image()
    assert [r.status_code for r in registry.push("my-app", image, "v1.0", "latest")] == [201, 201]

    listed = aws(cloud_env, "ecr", "list-images", "--repository-name", "my-app")
    assert listed.returncode == 0, listed.stderr
    ids = json.loads(listed.stdout)["imageIds"]
    assert sorted(i["imageTag"] for i in ids) == ["latest", "v1.0"]
    assert {i["imageDigest"] for i in ids} == {image.digest}

    described = aws(cloud_env, "ecr", "describe-images", "--repository-name", "my-app")
    assert described.returncode == 0, described.stderr
    detail = json.loads(described.stdout)["imageDetails"][0]
    assert detail["imageDigest"] == image.digest
    assert detail["imageSizeInBytes"] == image.layers_size


def test_cli_errors_carry_code_and_message(cloud_env):
    missing = aws(cloud_env, "ecr", "list-images", "--repository-name", "my-app")
    assert missing.returncode != 0
    assert ("An error occurred (RepositoryNotFoundException) when calling the ListImages operation: The repository "
            f"with name 'my-app' does not exist in the registry with id '{ACCOUNT}'") in missing.stderr
    invalid = aws(cloud_env, "ecr", "create-repository", "--repository-name", "My-App")
    assert "An error occurred (InvalidParameterException) when calling the CreateRepository operation: Invalid " \
           "parameter at 'repositoryName' failed to satisfy constraint" in invalid.stderr


def test_get_authorization_token_shape(cloud_env, aws_client_ecr):
    answer = aws(cloud_env, "ecr", "get-authorization-token")
    assert answer.returncode == 0, answer.stderr
    data = json.loads(answer.stdout)["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and password
    assert data["proxyEndpoint"] == f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    # a token from the CLI works for pushes made with any client
    aws_client_ecr.create_repository(repositoryName="my-app")
    ecr_push(aws_client_ecr, "my-app", make_image())
    registry = Registry(aws_client_ecr.meta.endpoint_url, (user, password))
    assert registry.request("GET", "/v2/my-app/manifests/v1.0").status_code == 200


@pytest.fixture
def aws_client_ecr(aws):
    return aws("ecr")
