"""What a kernel and a terminal get for GCP (labkit/gcp.py, labkit/env.py): clients pinned to the
cloud, the gcloud configuration of the cloud's own, and, where the real gcloud is installed, its
`artifacts` commands against the local cloud through api_endpoint_overrides."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import requests

from labkit import env as cloud_env
from labkit import gcp
from labkit.config import Settings


def test_gcp_environment_names_the_course_project_and_a_gcloud_config_of_its_own(tmp_path):
    settings = Settings(home=tmp_path / "home", aws_port=4599, managed=True)
    env = cloud_env.cloud_environment(settings)
    assert env["GOOGLE_CLOUD_PROJECT"] == env["CLOUDSDK_CORE_PROJECT"] == "labkit-project"
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] is None and env["NO_GCE_CHECK"] == "true"
    assert env["GCE_METADATA_HOST"] == "127.0.0.1:4599"
    config = (tmp_path / "home" / "gcloud" / "configurations" / "config_default").read_text()
    assert env["CLOUDSDK_CONFIG"] == str(tmp_path / "home" / "gcloud")
    assert "run = http://[::1]:4599/gcp/run/\n" in config  # see labkit.env.gcloud_files: gcloud run's regional prefix
    assert "artifactregistry = http://127.0.0.1:4599/gcp/artifactregistry/\n" in config
    assert "disable_credentials = true" in config and "project = labkit-project" in config


def test_clients_refuse_anything_but_loopback():
    with pytest.raises(ValueError, match="only talks to the local cloud"):
        gcp.artifact_registry_client(endpoint="https://artifactregistry.googleapis.com")
    with pytest.raises(ValueError, match="transport must be"):
        gcp.run_client(transport="grpc-asyncio", endpoint="http://127.0.0.1:4599")


def test_warm_up_loads_the_apis_the_cloud_serves(cloud):
    gcp.warm_up(cloud.endpoint).join(30)
    listing = requests.get(cloud.endpoint + "/gcp/", timeout=10).json()
    assert "artifactregistry" in listing["apis"]
    assert "google.devtools.artifactregistry.v1.ArtifactRegistry" in listing["grpc"]
    assert "google.longrunning.Operations" in listing["grpc"]


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="the real gcloud is not installed here")
def test_the_real_gcloud_lists_repositories_of_the_local_cloud(cloud, tmp_path):
    cloud.control("reset")
    gcp.artifact_registry_client(endpoint=cloud.endpoint).create_repository(
        parent="projects/labkit-project/locations/asia-northeast3", repository_id="my-repo",
        repository={"format_": "DOCKER"}).result()
    env = dict(os.environ)
    cloud_env.apply(cloud_env.cloud_environment(Settings(home=tmp_path / "home", aws_port=cloud.port,
                                                         managed=True)), env)
    env["HOME"] = str(tmp_path)
    out = subprocess.run(["gcloud", "artifacts", "repositories", "list", "--location=asia-northeast3",
                          "--format=json"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    [repo] = json.loads(out.stdout)
    assert repo["name"] == "projects/labkit-project/locations/asia-northeast3/repositories/my-repo"
    assert repo["format"] == "DOCKER"
