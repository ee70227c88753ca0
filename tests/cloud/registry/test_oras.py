"""A real OCI client, oras-py, against the local registry at 127.0.0.1:PORT (the default account
and region), logged in with the password of GetAuthorizationToken, as with ECR."""
from __future__ import annotations

import json

import oras.client
import pytest

from tests.cloud.helpers import login


@pytest.fixture
def ecr(aws):
    client = aws("ecr")
    client.create_repository(repositoryName="my-app")
    return client


@pytest.fixture
def host(fresh_cloud) -> str:
    return f"127.0.0.1:{fresh_cloud.port}"


@pytest.fixture
def docker_config(tmp_path):
    path = tmp_path / "docker" / "config.json"  # never the user's ~/.docker
    path.parent.mkdir()
    path.write_text(json.dumps({"auths": {}}))
    return str(path)


def client_for(host: str) -> oras.client.OrasClient:
    return oras.client.OrasClient(hostname=host, insecure=True, auth_backend="basic")


@pytest.fixture
def logged_in(ecr, host, docker_config):
    client = client_for(host)
    user, password = login(ecr)
    client.login(username=user, password=password, hostname=host, config_path=docker_config)
    return client


@pytest.mark.parametrize("chunked", [False, True])
def test_oras_push_and_pull(logged_in, ecr, host, docker_config, tmp_path, chunked):
    artifact = tmp_path / "notes.txt"
    artifact.write_bytes(b"lesson 02 artifact\n" * 1000)
    for tag in ("v1.0", "latest"):
        response = logged_in.push(target=f"{host}/my-app:{tag}", files=[str(artifact)], disable_path_validation=True,
                                  config_path=docker_config, do_chunked=chunked, chunk_size=4096, quiet=True)
        assert response.status_code == 201
    ids = ecr.list_images(repositoryName="my-app")["imageIds"]
    assert sorted(i["imageTag"] for i in ids) == ["latest", "v1.0"]
    assert len({i["imageDigest"] for i in ids}) == 1
    detail = ecr.describe_images(repositoryName="my-app")["imageDetails"][0]
    assert detail["imageManifestMediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert detail["artifactMediaType"] == "application/vnd.unknown.config.v1+json"
    assert detail["imageSizeInBytes"] == artifact.stat().st_size

    out = tmp_path / "out"
    files = logged_in.pull(target=f"{host}/my-app:latest", outdir=str(out), config_path=docker_config)
    assert [open(f, "rb").read() for f in files] == [artifact.read_bytes()]
    assert sorted(logged_in.get_tags(f"{host}/my-app")) == ["latest", "v1.0"]


def test_oras_with_a_password_this_cloud_never_issued(ecr, host, tmp_path, docker_config):
    # (oras-py's basic backend crashes and retries for minutes without any credentials, so the
    # no-credentials case is proven with raw HTTP in test_push_pull.py)
    client = client_for(host)
    client.login(username="AWS", password="not-a-token", hostname=host, config_path=docker_config)
    artifact = tmp_path / "notes.txt"
    artifact.write_text("x")
    with pytest.raises(ValueError) as exc:
        client.push(target=f"{host}/my-app:v1", files=[str(artifact)], disable_path_validation=True,
                    config_path=docker_config, quiet=True)
    assert "Your authorization token is invalid." in str(exc.value)
    assert ecr.list_images(repositoryName="my-app")["imageIds"] == []


def test_oras_push_to_missing_repository(logged_in, host, tmp_path, docker_config):
    artifact = tmp_path / "notes.txt"
    artifact.write_text("x")
    with pytest.raises(Exception) as exc:
        logged_in.push(target=f"{host}/other-app:v1", files=[str(artifact)], disable_path_validation=True,
                       config_path=docker_config, quiet=True)
    assert "NAME_UNKNOWN" in str(exc.value)
    assert "The repository with name 'other-app' does not exist in the registry with id '123456789012'" \
        in str(exc.value)
