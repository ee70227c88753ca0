"""`labkit gcloud artifacts ...` against a real cloud: what it prints (the same as the real gcloud
prints against the local cloud, where gcloud is installed), and the state read back through the
official client."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from labkit import gcp
from tests.gcloud.conftest import AR_HOST, PROJECT, REGION, REPO_PATH, push_app

GCLOUD = shutil.which("gcloud")


@pytest.fixture(scope="module")
def repository(gcloud):
    done = gcloud("artifacts", "repositories", "create", "my-repo", "--repository-format=docker",
                  f"--location={REGION}", "--description=Docker repository")
    assert done.stderr == "Create request issued for: [my-repo]\nCreated repository [my-repo].\n"
    push_app(gcloud.cloud.endpoint, tag="v1")
    push_app(gcloud.cloud.endpoint, tag="v2", app="print('v2')")
    return "my-repo"


def test_create_makes_a_docker_repository_the_client_reads(gcloud, repository):
    client = gcp.artifact_registry_client(endpoint=gcloud.cloud.endpoint)
    found = client.get_repository(name=f"projects/{PROJECT}/locations/{REGION}/repositories/my-repo")
    assert found.format_.name == "DOCKER" and found.description == "Docker repository"
    again = gcloud("artifacts", "repositories", "create", "my-repo", "--repository-format=docker",
                   f"--location={REGION}", check=False)
    assert again.returncode == 1
    assert again.stderr.endswith("ERROR: (gcloud.artifacts.repositories.create) ALREADY_EXISTS: the repository "
                                 "already exists\n")
    missing = gcloud("artifacts", "repositories", "create", "x", f"--location={REGION}", check=False)
    assert missing.returncode == 2
    assert missing.stderr.startswith("ERROR: (gcloud.artifacts.repositories.create) argument --repository-format: "
                                     "Must be specified.")


def test_list_and_describe(gcloud, repository):
    listed = gcloud("artifacts", "repositories", "list")
    assert listed.stderr.startswith(f"Listing items under project {PROJECT}, location {REGION}.\n")
    lines = listed.stdout.splitlines()
    assert lines[0].strip() == "ARTIFACT_REGISTRY"
    assert lines[1].split()[:4] == ["REPOSITORY", "FORMAT", "MODE", "DESCRIPTION"]
    assert lines[2].split()[:5] == ["my-repo", "DOCKER", "STANDARD_REPOSITORY", "Docker", "repository"]
    described = gcloud("artifacts", "repositories", "describe", "my-repo", f"--location={REGION}")
    assert f"registryUri: {REPO_PATH}\n" in described.stdout and "format: DOCKER\n" in described.stdout
    assert "Encryption: Google-managed key" in described.stderr
    value = gcloud("artifacts", "repositories", "describe", "my-repo", f"--location={REGION}",
                   "--format=value(registryUri)")
    assert value.stdout == REPO_PATH + "\n"
    nope = gcloud("artifacts", "repositories", "describe", "nope", f"--location={REGION}", check=False)
    assert (nope.returncode, nope.stderr) == (1, "ERROR: (gcloud.artifacts.repositories.describe) NOT_FOUND: "
                                                 "Requested entity was not found.\n")


def test_docker_images_list_shows_the_true_digests_and_tags(gcloud, repository):
    client = gcp.artifact_registry_client(endpoint=gcloud.cloud.endpoint)
    truth = {img.uri.split("@")[1]: list(img.tags) for img in client.list_docker_images(
        parent=f"projects/{PROJECT}/locations/{REGION}/repositories/my-repo")}
    done = gcloud("artifacts", "docker", "images", "list", REPO_PATH, "--include-tags")
    assert done.stderr.startswith(f"Listing items under project {PROJECT}, location {REGION}, repository my-repo.")
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["IMAGE", "DIGEST", "TAGS", "CREATE_TIME", "UPDATE_TIME", "SIZE"]
    assert {row.split()[1]: [row.split()[2]] for row in rows} == truth
    assert all(row.split()[0] == f"{REPO_PATH}/my-app" for row in rows)
    as_json = json.loads(gcloud("artifacts", "docker", "images", "list", f"{REPO_PATH}/my-app",
                                "--format=json").stdout)
    assert {item["version"] for item in as_json} == set(truth)
    missing = gcloud("artifacts", "docker", "images", "list", f"{AR_HOST}/{PROJECT}/nope", check=False)
    assert (missing.returncode, missing.stderr) == (1, "ERROR: (gcloud.artifacts.docker.images.list) NOT_FOUND: "
                                                       "Requested entity was not found.\n")


@pytest.mark.skipif(GCLOUD is None, reason="the real gcloud is not installed here")
@pytest.mark.parametrize("command", [["artifacts", "repositories", "list"],
                                     ["artifacts", "docker", "images", "list", REPO_PATH, "--include-tags"]])
def test_the_same_output_as_the_real_gcloud_against_the_local_cloud(gcloud, repository, command):
    real = subprocess.run([GCLOUD, *command], env=gcloud.env, capture_output=True, text=True, timeout=120)
    ours = gcloud(*command)
    assert real.returncode == 0, real.stderr
    assert ours.stdout == real.stdout
    assert ours.stderr == real.stderr


def test_delete(gcloud, repository):
    gcloud("artifacts", "repositories", "create", "tmp-repo", "--repository-format=docker", f"--location={REGION}")
    done = gcloud("artifacts", "repositories", "delete", "tmp-repo", f"--location={REGION}", "--quiet")
    assert done.stderr == "Delete request issued for: [tmp-repo]\nDeleted repository [tmp-repo].\n"
    names = gcloud("artifacts", "repositories", "list", "--format=value(name)").stdout.split()
    assert names == [f"projects/{PROJECT}/locations/{REGION}/repositories/my-repo"]
