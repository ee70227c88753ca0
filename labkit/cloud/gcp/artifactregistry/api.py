"""Artifact Registry's methods on the hosting (gRPC and REST alike): requests and answers are the
client library's own messages; the rules are models.py's."""
from __future__ import annotations

from google.cloud import artifactregistry_v1 as ar
from google.protobuf import timestamp_pb2

from labkit.cloud.gcp import operations
from labkit.cloud.gcp.artifactregistry import models
from labkit.cloud.gcp.hosting import GoogleService
from labkit.cloud.gcp.paging import page

service = GoogleService("artifactregistry", ar.ArtifactRegistryClient)


def _time(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def repository_message(repo: models.Repository) -> ar.Repository:
    return ar.Repository(name=repo.name, format_=ar.Repository.Format[repo.format], description=repo.description,
                         labels=repo.labels, create_time=_time(repo.created_at), update_time=_time(repo.updated_at),
                         mode=ar.Repository.Mode[repo.mode], registry_uri=repo.registry_uri)


def docker_image_message(image: models.DockerImage) -> ar.DockerImage:
    return ar.DockerImage(name=image.name, uri=image.uri, tags=image.tags, image_size_bytes=image.size,
                          media_type=image.media_type, upload_time=_time(image.uploaded_at),
                          update_time=_time(image.uploaded_at))


def _metadata() -> ar.OperationMetadata:
    return ar.OperationMetadata()


@service.method("CreateRepository")
def create_repository(state, request: ar.CreateRepositoryRequest):
    fmt = ar.Repository.Format(request.repository.format_).name
    mode = ar.Repository.Mode(request.repository.mode).name
    repo = models.backend(state).create_repository(
        request.parent, request.repository_id, "" if fmt == "FORMAT_UNSPECIFIED" else fmt,
        request.repository.description, dict(request.repository.labels),
        "STANDARD_REPOSITORY" if mode == "MODE_UNSPECIFIED" else mode)
    return operations.start(state, request.parent, _metadata()).finish(repository_message(repo))


@service.method("GetRepository")
def get_repository(state, request: ar.GetRepositoryRequest):
    return repository_message(models.backend(state).get_repository(request.name))


@service.method("ListRepositories")
def list_repositories(state, request: ar.ListRepositoriesRequest):
    repos = models.backend(state).list_repositories(request.parent)
    items, token = page(repos, request.page_size, request.page_token)
    return ar.ListRepositoriesResponse(repositories=[repository_message(r) for r in items], next_page_token=token)


@service.method("DeleteRepository")
def delete_repository(state, request: ar.DeleteRepositoryRequest):
    repo = models.backend(state).delete_repository(request.name)
    parent = repo.name.rsplit("/repositories/", 1)[0]
    return operations.start(state, parent, _metadata()).finish(None)


@service.method("ListDockerImages")
def list_docker_images(state, request: ar.ListDockerImagesRequest):
    images = models.backend(state).docker_images(request.parent)
    if request.order_by:
        key, _, direction = request.order_by.partition(" ")
        if key in ("upload_time", "update_time", "image_size_bytes", "name"):
            images.sort(key=lambda i: {"name": i.name, "image_size_bytes": i.size}.get(key, i.uploaded_at),
                        reverse=direction.strip().lower() == "desc")
    items, token = page(images, request.page_size, request.page_token)
    return ar.ListDockerImagesResponse(docker_images=[docker_image_message(i) for i in items], next_page_token=token)


@service.method("GetDockerImage")
def get_docker_image(state, request: ar.GetDockerImageRequest):
    return docker_image_message(models.backend(state).docker_image(request.name))
