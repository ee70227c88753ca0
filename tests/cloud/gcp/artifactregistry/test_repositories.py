"""Artifact Registry's repositories through the official client, gRPC and REST, on a real cloud
process: the lesson's `create_repository(format=DOCKER, location asia-northeast3)` and Google's
errors for what GCP refuses (docs/fidelity.md, Artifact Registry)."""
from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.cloud import artifactregistry_v1 as ar

from tests.cloud.gcp.clients import grpc_client, rest_client

PROJECT = "labkit-project"
PARENT = f"projects/{PROJECT}/locations/asia-northeast3"
DOCKER = ar.Repository(format_=ar.Repository.Format.DOCKER, description="lesson 2.2")


@pytest.fixture(scope="module")
def clients(cloud):
    cloud.control("reset")
    return {"grpc": grpc_client(ar.ArtifactRegistryClient, cloud.port),
            "rest": rest_client(ar.ArtifactRegistryClient, cloud.port, "artifactregistry")}


@pytest.fixture(params=["grpc", "rest"])
def client(request, clients):
    return clients[request.param]


def _raises(client, grpc_class, http_class, match):
    """The class each transport raises: gRPC's from the status code, REST's from the HTTP status."""
    return pytest.raises(grpc_class if client.transport.kind == "grpc" else http_class, match=match)


def test_create_get_list_delete_a_docker_repository(client):
    repo_id = f"my-repo-{client.transport.kind}"
    created = client.create_repository(parent=PARENT, repository_id=repo_id, repository=DOCKER).result(timeout=10)
    assert created.name == f"{PARENT}/repositories/{repo_id}"
    assert created.format_ == ar.Repository.Format.DOCKER
    assert created.mode == ar.Repository.Mode.STANDARD_REPOSITORY
    assert created.description == "lesson 2.2"
    assert created.registry_uri == f"asia-northeast3-docker.pkg.dev/{PROJECT}/{repo_id}"
    assert created.create_time.year >= 2024

    got = client.get_repository(name=created.name)
    assert got.name == created.name and got.format_ == ar.Repository.Format.DOCKER
    assert created.name in [r.name for r in client.list_repositories(parent=PARENT)]

    client.delete_repository(name=created.name).result(timeout=10)
    with _raises(client, exceptions.NotFound, exceptions.NotFound, "Requested entity was not found"):
        client.get_repository(name=created.name)
    assert created.name not in [r.name for r in client.list_repositories(parent=PARENT)]


def test_a_duplicate_repository_is_refused(client):
    repo_id = f"twice-{client.transport.kind}"
    client.create_repository(parent=PARENT, repository_id=repo_id, repository=DOCKER).result()
    with _raises(client, exceptions.AlreadyExists, exceptions.Conflict, "the repository already exists"):
        client.create_repository(parent=PARENT, repository_id=repo_id, repository=DOCKER)


def test_a_repository_needs_a_format(client):
    with _raises(client, exceptions.InvalidArgument, exceptions.BadRequest, "format"):
        client.create_repository(parent=PARENT, repository_id="no-format", repository=ar.Repository())


def test_a_repository_id_follows_the_naming_rule(client):
    with _raises(client, exceptions.InvalidArgument, exceptions.BadRequest, "lowercase letters"):
        client.create_repository(parent=PARENT, repository_id="My_Repo", repository=DOCKER)


def test_a_location_artifact_registry_lacks_is_refused(client):
    with _raises(client, exceptions.InvalidArgument, exceptions.BadRequest, "asia-northeast3-a is not a valid"):
        client.create_repository(parent=f"projects/{PROJECT}/locations/asia-northeast3-a", repository_id="zone",
                                 repository=DOCKER)


def test_another_project_is_denied_as_iam_denies_it(client):
    with _raises(client, exceptions.PermissionDenied, exceptions.Forbidden,
                 "Permission 'artifactregistry.repositories.create' denied on resource "
                 "'//artifactregistry.googleapis.com/projects/someone-else/locations/asia-northeast3'") as caught:
        client.create_repository(parent="projects/someone-else/locations/asia-northeast3", repository_id="x",
                                 repository=DOCKER)
    # the ErrorInfo detail reaches the client over both transports (gRPC: grpc-status-details-bin)
    assert caught.value.reason == "IAM_PERMISSION_DENIED" and caught.value.domain == "iam.googleapis.com"
    assert caught.value.metadata == {"permission": "artifactregistry.repositories.create",
                                     "resource": "projects/someone-else/locations/asia-northeast3"}


def test_list_docker_images_of_a_missing_repository_is_not_found(client):
    with _raises(client, exceptions.NotFound, exceptions.NotFound, "not found"):
        list(client.list_docker_images(parent=f"{PARENT}/repositories/nothing-here"))


def test_a_check_reads_the_cloud_through_the_official_client_over_rest(cloud, clients, tmp_path):
    """labkit.checks' CheckContext.google(api): what a lab's GCP checks read state with."""
    from labkit.checks.core import CheckContext

    clients["grpc"].create_repository(parent=PARENT, repository_id="seen-by-checks", repository=DOCKER).result(timeout=10)
    ctx = CheckContext(endpoint=f"http://127.0.0.1:{cloud.port}", home=tmp_path)
    registry = ctx.google("artifactregistry")
    assert registry.transport.kind == "rest"
    assert f"{PARENT}/repositories/seen-by-checks" in [r.name for r in registry.list_repositories(parent=PARENT)]
    assert ctx.google("artifactregistry") is registry
    assert ctx.google("run").transport.kind == ctx.google("revisions").transport.kind == "rest"
