"""Artifact Registry's state and rules: repositories per project and location; the images inside
them live in the shared blob/manifest store of the local cloud's registry (the ECR model, under an
account of their own, AR_ACCOUNT, that no ECR call can name), so a push shows up here at once.

No protocol code here: api.py turns these into the client library's messages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from labkit.cloud.gcp import errors
from labkit.cloud.gcp.project import DEFAULT_PROJECT, PROJECT_NUMBER

SERVICE = "gcp-artifactregistry"
AR_ACCOUNT = "artifact-registry"  # the ECR model's account for AR images: not 12 digits, so ECR's API never sees it
# Artifact Registry's regions and multi-regions (cloud.google.com/artifact-registry/docs/repositories/repo-locations)
LOCATIONS = {
    "asia", "europe", "us",
    "africa-south1", "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
    "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2", "australia-southeast1",
    "australia-southeast2", "europe-central2", "europe-north1", "europe-southwest1", "europe-west1",
    "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-west8", "europe-west9",
    "europe-west10", "europe-west12", "me-central1", "me-central2", "me-west1", "northamerica-northeast1",
    "northamerica-northeast2", "southamerica-east1", "southamerica-west1", "us-central1", "us-east1",
    "us-east4", "us-east5", "us-south1", "us-west1", "us-west2", "us-west3", "us-west4",
}
# "lowercase letters, numbers, and hyphens, start with a letter, not end with a hyphen, 63 characters or less"
REPOSITORY_ID = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
FORMATS = {"DOCKER", "MAVEN", "NPM", "PYTHON", "APT", "YUM", "GO", "KFP", "GENERIC"}


def backend(state) -> "ArtifactRegistry":
    return state.service(SERVICE, ArtifactRegistry)


def docker_host(location: str) -> str:
    return f"{location}-docker.pkg.dev"


@dataclass
class Repository:
    project: str
    location: str
    repository_id: str
    format: str                  # "DOCKER", ...
    created_at: float
    updated_at: float
    description: str = ""
    labels: dict = field(default_factory=dict)
    mode: str = "STANDARD_REPOSITORY"

    @property
    def name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/repositories/{self.repository_id}"

    @property
    def registry_uri(self) -> str:  # what `docker push` names: asia-northeast3-docker.pkg.dev/PROJECT/REPO
        return f"{docker_host(self.location)}/{self.project}/{self.repository_id}"

    @property
    def ecr_prefix(self) -> str:    # the ECR-model repositories of its images: PROJECT/REPO/IMAGE
        return f"{self.project}/{self.repository_id}/"


@dataclass
class DockerImage:
    repository: Repository
    image: str                   # "my-app" or "team/my-app"
    digest: str
    tags: list
    size: int
    media_type: str
    uploaded_at: float

    @property
    def name(self) -> str:       # Google escapes the image's slashes: dockerImages/team%2Fmy-app@sha256:...
        return f"{self.repository.name}/dockerImages/{quote(self.image, safe='')}@{self.digest}"

    @property
    def uri(self) -> str:
        return f"{self.repository.registry_uri}/{self.image}@{self.digest}"


def parse_parent(parent: str) -> tuple[str, str]:
    """projects/P/locations/L -> (P, L), checked as Artifact Registry checks it."""
    parts = parent.split("/")
    if len(parts) != 4 or parts[0] != "projects" or parts[2] != "locations" or not parts[1] or not parts[3]:
        raise errors.InvalidArgument(f"Invalid resource field value in the request: parent {parent!r}")  # assumed
    project, location = _project(parts[1], "artifactregistry.repositories.list", parent), parts[3]
    return project, location


def _project(project: str, permission: str, resource: str) -> str:
    """The local cloud has one project (its id, or its number): any other is denied as IAM denies it."""
    if project in (DEFAULT_PROJECT, PROJECT_NUMBER):
        return DEFAULT_PROJECT
    raise errors.permission_denied(permission, resource, "artifactregistry.googleapis.com")


class ArtifactRegistry:
    def __init__(self, state):
        self.state = state
        self.repositories: dict[str, Repository] = {}  # name -> repository, in creation order

    # -- repositories --------------------------------------------------------------------------
    def create_repository(self, parent: str, repository_id: str, fmt: str, description: str = "",
                          labels: dict | None = None, mode: str = "STANDARD_REPOSITORY") -> Repository:
        parts = parent.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != "locations":
            raise errors.InvalidArgument(f"Invalid parent {parent!r}.")  # assumed
        project = _project(parts[1], "artifactregistry.repositories.create", parent)
        location = parts[3]
        if location not in LOCATIONS:
            raise errors.InvalidArgument(f"{location} is not a valid location.")  # gcloud's words (podman#12456)
        if not repository_id:
            raise errors.InvalidArgument("Repository ID must be specified.")  # assumed wording
        if not REPOSITORY_ID.fullmatch(repository_id):
            raise errors.InvalidArgument(
                f"Invalid repository ID {repository_id!r}: repository names may only contain lowercase letters, "
                "numbers, and hyphens, must start with a letter, cannot end with a hyphen, and must be 63 "
                "characters or less.")  # the rule is documented; the wording is assumed
        if fmt not in FORMATS:
            raise errors.InvalidArgument("Repository format must be specified.")  # assumed wording
        repo = Repository(project, location, repository_id, fmt, self.state.clock(), self.state.clock(),
                          description, dict(labels or {}), mode)
        if repo.name in self.repositories:
            raise errors.AlreadyExists("the repository already exists")
        self.repositories[repo.name] = repo
        return repo

    def get_repository(self, name: str) -> Repository:
        repo = self.repositories.get(name)
        if repo is None:
            parts = name.split("/")
            if len(parts) != 6 or parts[0] != "projects" or parts[2] != "locations" or parts[4] != "repositories":
                raise errors.InvalidArgument(f"Invalid repository name {name!r}.")  # assumed
            _project(parts[1], "artifactregistry.repositories.get", name)
            raise errors.NotFound("Requested entity was not found.")  # Google's generic NOT_FOUND text
        return repo

    def list_repositories(self, parent: str) -> list[Repository]:
        project, location = parse_parent(parent)
        return [r for r in self.repositories.values() if r.project == project and r.location == location]

    def delete_repository(self, name: str) -> Repository:
        repo = self.get_repository(name)
        del self.repositories[name]
        store = _ecr(self.state)
        for ecr_name in self._ecr_repositories(repo):
            store.delete_repository(AR_ACCOUNT, repo.location, ecr_name, force=True)
        return repo

    def find(self, project: str, location: str, repository_id: str) -> Repository | None:
        project = DEFAULT_PROJECT if project == PROJECT_NUMBER else project
        return self.repositories.get(f"projects/{project}/locations/{location}/repositories/{repository_id}")

    # -- docker images (read from the registry's store) ---------------------------------------------
    def _ecr_repositories(self, repo: Repository) -> list[str]:
        registry = _ecr(self.state).registry(AR_ACCOUNT, repo.location)
        return [n for n in registry.repositories if n.startswith(repo.ecr_prefix)]

    def docker_images(self, repository_name: str) -> list[DockerImage]:
        repo = self.get_repository(repository_name)
        registry = _ecr(self.state).registry(AR_ACCOUNT, repo.location)
        images = []
        for ecr_name in sorted(self._ecr_repositories(repo)):
            for image in registry.repositories[ecr_name].images.values():
                images.append(DockerImage(repo, ecr_name[len(repo.ecr_prefix):], image.digest, list(image.tags),
                                          image.size, image.media_type, image.pushed_at))
        return images

    def docker_image(self, name: str) -> DockerImage:
        """By its name, the image part escaped (team%2Fmy-app@sha256:...) or not."""
        repository_name, sep, image = name.partition("/dockerImages/")
        if not sep or "@" not in image:
            raise errors.InvalidArgument(f"Invalid docker image name {name!r}.")  # assumed wording
        wanted = unquote(image)
        for candidate in self.docker_images(repository_name):
            if f"{candidate.image}@{candidate.digest}" == wanted:
                return candidate
        raise errors.NotFound("Requested entity was not found.")


def _ecr(state):
    from labkit.cloud.aws.ecr import models as ecr_models

    return ecr_models.backend(state)
