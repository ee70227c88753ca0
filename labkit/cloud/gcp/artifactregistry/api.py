"""Artifact Registry's methods on the hosting (gRPC and REST alike): requests and answers are the
client library's own messages; the rules are models.py's."""
from __future__ import annotations

from urllib.parse import quote, unquote

from google.cloud import artifactregistry_v1 as ar
from google.protobuf import timestamp_pb2

from labkit.cloud.gcp import errors, operations
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


# -- packages, versions and tags: the same images seen the generic way (a Docker image is a package,
# each digest a version, each docker tag a tag pointing at a version) ------------------------------
def _package_id(image: str) -> str:
    return quote(image, safe="")


def _packages(state, repository_name: str) -> dict[str, list]:
    """package id -> its images, in push order."""
    out: dict[str, list] = {}
    for image in models.backend(state).docker_images(repository_name):
        out.setdefault(_package_id(image.image), []).append(image)
    return out


def _package_images(state, package_name: str) -> list:
    repository_name, sep, package = package_name.partition("/packages/")
    if not sep or "/" in package:
        raise errors.InvalidArgument(f"Invalid package name {package_name!r}.")  # assumed wording
    images = _packages(state, repository_name).get(quote(unquote(package), safe=""))
    if not images:
        raise errors.NotFound("Requested entity was not found.")
    return images


def _package_message(repository_name: str, package: str, images: list) -> ar.Package:
    return ar.Package(name=f"{repository_name}/packages/{package}", display_name=unquote(package),
                      create_time=_time(min(i.uploaded_at for i in images)),
                      update_time=_time(max(i.uploaded_at for i in images)))


def _version_message(package_name: str, image, full: bool) -> ar.Version:
    version = ar.Version(name=f"{package_name}/versions/{image.digest}", create_time=_time(image.uploaded_at),
                         update_time=_time(image.uploaded_at))
    if full:
        version.related_tags = [ar.Tag(name=f"{package_name}/tags/{t}", version=version.name) for t in image.tags]
    return version


@service.method("ListPackages")
def list_packages(state, request: ar.ListPackagesRequest):
    packages = _packages(state, request.parent)
    items, token = page(sorted(packages), request.page_size, request.page_token)
    return ar.ListPackagesResponse(packages=[_package_message(request.parent, p, packages[p]) for p in items],
                                   next_page_token=token)


@service.method("GetPackage")
def get_package(state, request: ar.GetPackageRequest):
    images = _package_images(state, request.name)
    repository_name, _, package = request.name.partition("/packages/")
    return _package_message(repository_name, quote(unquote(package), safe=""), images)


@service.method("ListVersions")
def list_versions(state, request: ar.ListVersionsRequest):
    images = _package_images(state, request.parent)
    full = request.view == ar.VersionView.FULL
    items, token = page(images, request.page_size, request.page_token)
    return ar.ListVersionsResponse(versions=[_version_message(request.parent, i, full) for i in items],
                                   next_page_token=token)


@service.method("GetVersion")
def get_version(state, request: ar.GetVersionRequest):
    package_name, sep, digest = request.name.partition("/versions/")
    for image in _package_images(state, package_name) if sep else []:
        if image.digest == digest:
            return _version_message(package_name, image, request.view == ar.VersionView.FULL)
    raise errors.NotFound("Requested entity was not found.")


@service.method("ListTags")
def list_tags(state, request: ar.ListTagsRequest):
    tags = [ar.Tag(name=f"{request.parent}/tags/{t}", version=f"{request.parent}/versions/{i.digest}")
            for i in _package_images(state, request.parent) for t in i.tags]
    tags.sort(key=lambda t: t.name)
    items, token = page(tags, request.page_size, request.page_token)
    return ar.ListTagsResponse(tags=items, next_page_token=token)


@service.method("GetTag")
def get_tag(state, request: ar.GetTagRequest):
    package_name, sep, tag = request.name.partition("/tags/")
    for image in _package_images(state, package_name) if sep else []:
        if tag in image.tags:
            return ar.Tag(name=request.name, version=f"{package_name}/versions/{image.digest}")
    raise errors.NotFound("Requested entity was not found.")
