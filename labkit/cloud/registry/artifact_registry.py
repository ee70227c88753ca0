"""The Docker registry of Artifact Registry (LOCATION-docker.pkg.dev) as the OCI API sees it.

Names are PROJECT/REPOSITORY/IMAGE (IMAGE may have slashes). The Artifact Registry repository must
exist before a push, as on GCP; its images are kept by the ECR model under an account of their own
(gcp/artifactregistry/models.AR_ACCOUNT), so the OCI handlers, uploads, digests and ECR's checks are
shared, and Artifact Registry's list_docker_images reads them back.

Auth, as docker meets it on pkg.dev: a request without credentials gets 401 with
`WWW-Authenticate: Bearer realm="https://HOST/v2/token",service="HOST"`; the token endpoint takes
Basic `oauth2accesstoken` (or gcloud's credential helper's `_dcgcloud_token`) with the local access
token (gcp/project.ACCESS_TOKEN) and answers a bearer token, which every request then carries.
Basic credentials are also taken on every request directly.
"""
from __future__ import annotations

import base64
import binascii
import json
import re

from werkzeug.wrappers import Response

from labkit.cloud.gcp.artifactregistry import models as ar_models
from labkit.cloud.gcp.project import ACCESS_TOKEN, DEFAULT_PROJECT
from labkit.cloud.registry.ecr import EcrStore, Unauthenticated
from labkit.cloud.registry.errors import RegistryError

AR_HOST = re.compile(r"^(?P<location>[a-z0-9-]+)-docker\.pkg\.dev(?::\d+)?$")
USERS = ("oauth2accesstoken", "_dcgcloud_token")
TOKEN_PATH = "/v2/token"


def store_for(state, host: str) -> "ArtifactStore | None":
    match = AR_HOST.match((host or "").lower())
    if not match or match.group("location") not in ar_models.LOCATIONS:
        return None
    return ArtifactStore(state, match.group("location"))


class ArtifactStore(EcrStore):
    def __init__(self, state, location: str):
        super().__init__(state, ar_models.AR_ACCOUNT, location)
        self.state = state
        self.location = location
        self.host = ar_models.docker_host(location)

    # -- auth ---------------------------------------------------------------------------------
    def challenge(self) -> str:
        return f'Bearer realm="https://{self.host}{TOKEN_PATH}",service="{self.host}"'

    def authenticate(self, authorization: str) -> None:
        scheme, _, value = (authorization or "").partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            if value != ACCESS_TOKEN:
                raise _unauthenticated()
            return
        if scheme.lower() != "basic" or not value:
            raise Unauthenticated()
        user, password = _basic(value)
        if not user and not password:
            raise Unauthenticated()
        if user not in USERS or password != ACCESS_TOKEN:
            raise _unauthenticated()

    def token(self, authorization: str) -> Response:
        """GET /v2/token?scope=...&service=...: Basic credentials in, a bearer token out."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() == "basic":
            user, password = _basic(value.strip())
            if user in USERS and password == ACCESS_TOKEN:
                body = {"token": ACCESS_TOKEN, "access_token": ACCESS_TOKEN, "expires_in": 3600}
                return Response(json.dumps(body), status=200, content_type="application/json")
        raise _unauthenticated()

    # -- names ----------------------------------------------------------------------------------
    def prepare(self, name: str, writing: bool) -> None:
        """PROJECT/REPOSITORY/IMAGE must name an existing Docker repository of Artifact Registry;
        the ECR-model repository behind IMAGE is made on first use."""
        parts = name.split("/")
        if len(parts) < 3:
            raise RegistryError("NAME_INVALID", "Missing image name. Pushes should be of the form docker push "
                                                "HOST-NAME/PROJECT-ID/REPOSITORY/IMAGE")
        project, repository_id = parts[0], parts[1]
        if project != DEFAULT_PROJECT:
            action = "uploadArtifacts" if writing else "downloadArtifacts"
            raise RegistryError("DENIED", f'Permission "artifactregistry.repositories.{action}" denied on resource '
                                          f'"projects/{project}/locations/{self.location}/repositories/'
                                          f'{repository_id}" (or it may not exist)')
        with self.state.lock:
            repo = ar_models.backend(self.state).find(project, self.location, repository_id)
            if repo is None:
                raise RegistryError("NAME_UNKNOWN", f'Repository "{repository_id}" not found')
            ecr_name = f"{repo.project}/{repo.repository_id}/{'/'.join(parts[2:])}"
            registry = self.backend.registry(self.account, self.region)
            if ecr_name not in registry.repositories:
                self.backend.create_repository(self.account, self.region, ecr_name)


def _basic(value: str) -> tuple[str, str]:
    try:
        user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return "", ""
    return user, password


def _unauthenticated() -> RegistryError:
    return RegistryError("UNAUTHORIZED", "Unauthenticated request. Unauthenticated requests do not have "
                                         "permission to access this Artifact Registry repository; run "
                                         "`gcloud auth configure-docker` or log in with user oauth2accesstoken "
                                         "and an access token")
