"""The registry of one ECR account and region (ACCOUNT.dkr.ecr.REGION.amazonaws.com) as the OCI
API sees it: ECR's models underneath, ECR's errors turned into OCI codes, ECR's auth rules.

Auth, as ECR does it, on every request (push and pull): HTTP Basic, user `AWS`, password from
GetAuthorizationToken of this cloud for this account and region, not expired (12 h).
- no credentials           -> 401, `WWW-Authenticate: Basic realm="https://HOST/",service="ecr.amazonaws.com"`,
                              body `Not Authorized`
- a password we never issued for this registry (or user not AWS)
                           -> 400 DENIED (ECR answers a token of another region with 400 Bad Request)
- an expired password      -> 403 DENIED "Your authorization token has expired. Reauthenticate and try again."
"""
from __future__ import annotations

import base64
import binascii

from labkit.cloud.aws.ecr import errors as ecr_errors
from labkit.cloud.aws.ecr import models
from labkit.cloud.registry.errors import RegistryError


class Unauthenticated(Exception):
    """No credentials at all: answered 401 with ECR's Basic challenge."""


def ecr_to_oci(exc: ecr_errors.EcrError, default: str = "MANIFEST_INVALID") -> RegistryError:
    """One place that says which OCI code each ECR error becomes."""
    if isinstance(exc, ecr_errors.RepositoryNotFound):
        return RegistryError("NAME_UNKNOWN", exc.message)
    if isinstance(exc, ecr_errors.ImageNotFound):
        return RegistryError("MANIFEST_UNKNOWN", "Requested image not found")
    if isinstance(exc, ecr_errors.LayerNotFound):
        return RegistryError("BLOB_UNKNOWN", exc.message)
    if isinstance(exc, (ecr_errors.LayersNotFound, ecr_errors.ReferencedImagesNotFound)):
        return RegistryError("MANIFEST_BLOB_UNKNOWN", exc.message)
    if isinstance(exc, ecr_errors.ImageTagAlreadyExists):
        return RegistryError("TAG_INVALID", exc.message)
    if isinstance(exc, (ecr_errors.ImageDigestDoesNotMatch, ecr_errors.InvalidLayer)):
        return RegistryError("DIGEST_INVALID", exc.message)
    if isinstance(exc, ecr_errors.InvalidManifest):
        return RegistryError("MANIFEST_INVALID", exc.message)
    if isinstance(exc, ecr_errors.UploadNotFound):
        return RegistryError("BLOB_UPLOAD_UNKNOWN", exc.message)
    if isinstance(exc, ecr_errors.InvalidLayerPart):
        return RegistryError("RANGE_INVALID", exc.message)
    if isinstance(exc, ecr_errors.InvalidParameter) and "'imageTag'" in exc.message:
        return RegistryError("TAG_INVALID", exc.message)
    if isinstance(exc, ecr_errors.InvalidParameter) and "'repositoryName'" in exc.message:
        return RegistryError("NAME_INVALID", exc.message)
    return RegistryError(default, exc.message)


def _translated(default: str = "MANIFEST_INVALID"):
    def wrap(method):
        def run(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except ecr_errors.EcrError as exc:
                raise ecr_to_oci(exc, default) from None
        run.__name__, run.__doc__ = method.__name__, method.__doc__
        return run
    return wrap


class EcrStore:
    """What the OCI API handlers need, for one ECR registry (account + region)."""

    def __init__(self, state, account: str, region: str):
        self.backend = models.backend(state)
        self.account, self.region = account, region
        self.host = models.registry_host(account, region)

    # -- auth ---------------------------------------------------------------------------------
    def challenge(self) -> str:
        return f'Basic realm="https://{self.host}/",service="ecr.amazonaws.com"'

    def authenticate(self, authorization: str) -> None:
        """Raise Unauthenticated (no credentials) or RegistryError (bad or expired ones)."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "basic" or not value.strip():
            raise Unauthenticated()
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            user, password = "", ""
        if not user and not password:  # containers/image sends `Basic Og==` (":") when it has no credentials
            raise Unauthenticated()
        verdict = self.backend.check_password(self.account, self.region, password) if user == "AWS" else "invalid"
        if verdict == "expired":
            raise RegistryError("DENIED", "Your authorization token has expired. Reauthenticate and try again.")
        if verdict != "ok":
            raise RegistryError("DENIED", "Your authorization token is invalid.", status=400)

    # -- repositories and blobs ----------------------------------------------------------------
    @_translated()
    def check_repository(self, name: str) -> None:
        self.backend.get_repository(self.account, self.region, name)

    @_translated()
    def blob(self, name: str, digest: str) -> bytes:
        return self.backend.blob(self.account, self.region, name, digest)

    @_translated()
    def start_upload(self, name: str) -> str:
        return self.backend.initiate_upload(self.account, self.region, name).id

    @_translated()
    def upload_size(self, name: str, upload_id: str) -> int:
        return len(self.backend.get_upload(self.account, self.region, name, upload_id).data)

    @_translated()
    def append(self, name: str, upload_id: str, data: bytes, start: int | None) -> int:
        """Append a chunk (at byte `start` if the client said so). Returns the new size."""
        last = len(data) - 1 + (start or 0) if start is not None else None
        return self.backend.upload_part(self.account, self.region, name, upload_id, data, start, last) + 1

    @_translated("DIGEST_INVALID")
    def finish(self, name: str, upload_id: str, digest: str, data: bytes) -> str:
        return self.backend.complete_upload(self.account, self.region, name, upload_id, digest, data,
                                            via_registry=True)

    @_translated()
    def cancel(self, name: str, upload_id: str) -> None:
        self.backend.cancel_upload(self.account, self.region, name, upload_id)

    @_translated("DIGEST_INVALID")
    def put_blob(self, name: str, digest: str, data: bytes) -> str:
        return self.backend.put_blob(self.account, self.region, name, digest, data)

    @_translated()
    def mount(self, name: str, digest: str, source: str) -> bool:
        return self.backend.mount_blob(self.account, self.region, name, digest, source)

    # -- manifests and tags ----------------------------------------------------------------------
    @_translated()
    def manifest(self, name: str, reference: str, pull: bool = True) -> models.Image:
        return self.backend.manifest(self.account, self.region, name, reference, pull=pull)

    @_translated()
    def put_manifest(self, name: str, reference: str, data: bytes, media_type: str | None) -> str:
        if reference.startswith("sha256:"):
            image = self.backend.put_image(self.account, self.region, name, data, media_type, digest=reference,
                                           via_registry=True)
        else:
            image = self.backend.put_image(self.account, self.region, name, data, media_type, tag=reference,
                                           via_registry=True)
        return image.digest

    @_translated()
    def delete_manifest(self, name: str, reference: str) -> None:
        """By digest: the image and its tags. By tag: the tag (ECR's BatchDeleteImage rules)."""
        image_id = {"imageDigest": reference} if reference.startswith("sha256:") else {"imageTag": reference}
        _, failures = self.backend.batch_delete_image(self.account, self.region, name, [image_id])
        if failures:
            raise ecr_errors.ImageNotFound(image_id, name, self.account)

    @_translated()
    def tags(self, name: str) -> list[str]:
        with self.backend.lock:
            return sorted(self.backend.get_repository(self.account, self.region, name).tag_index)

    def catalog(self) -> list[str]:
        return self.backend.catalog(self.account, self.region)
