"""ECR's state and rules: repositories, images, layer blobs, uploads and auth tokens, kept per
account, then per region (`Registry`). No HTTP here: api.py (ECR's AWS JSON API) and
labkit/cloud/registry (the OCI distribution API) both call `EcrBackend`, so an image pushed one
way is seen the other way, and both share one blob store.

Obtain the backend with `backend(state)`; `CloudState.reset()` drops it. Times come from
`state.clock`, ids from `state.ids`; every public method holds `state.lock` (the server is threaded).

Blobs live in memory (a dict of bytes per registry): a lab image is a few MB, and a fresh cloud
per grading run frees it all.
"""
from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass, field

from labkit.cloud.aws.ecr import errors
from labkit.cloud.registry import oci
from labkit.cloud.state import locked as _locked

SERVICE = "ecr"
TOKEN_LIFETIME_S = 12 * 3600          # GetAuthorizationToken: "valid for 12 hours"
DOWNLOAD_URL_LIFETIME_S = 3600        # how long a GetDownloadUrlForLayer URL works
SCAN_QUOTA_S = 24 * 3600              # basic scanning: one scan per image per 24 hours
PART_SIZE = 10 * 1024 * 1024          # InitiateLayerUpload's partSize (our choice; see docs/fidelity.md)
MAX_TAGS = 50                         # resource tags per repository

REPOSITORY_NAME = re.compile(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*")
REPOSITORY_NAME_TEXT = r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*"
IMAGE_TAG = re.compile(r"[a-zA-Z0-9-_.]+")
IMAGE_TAG_TEXT = "[a-zA-Z0-9-_.]+"
REGISTRY_ID = re.compile(r"[0-9]{12}")
MUTABILITIES = ("MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
TAG_STATUSES = ("TAGGED", "UNTAGGED", "ANY")


def backend(state) -> "EcrBackend":
    """The cloud's one ECR backend (created on first use, dropped by state.reset())."""
    return state.service(SERVICE, EcrBackend)


# -- validation (shared by every operation that takes these parameters) -----------------------

def validate_repository_name(name) -> str:
    if not isinstance(name, str):
        raise errors.InvalidParameter.constraint("repositoryName", "must not be null")
    if len(name) < 2:
        raise errors.InvalidParameter.constraint("repositoryName", "must have length greater than or equal to 2")
    if len(name) > 256:
        raise errors.InvalidParameter.constraint("repositoryName", "must have length less than or equal to 256")
    if not REPOSITORY_NAME.fullmatch(name):
        raise errors.InvalidParameter.constraint(
            "repositoryName", f"must satisfy regular expression '{REPOSITORY_NAME_TEXT}'")
    return name


def tag_problem(tag) -> str | None:
    """Why `tag` is not a valid image tag (ECR's constraint text), or None."""
    if not isinstance(tag, str) or not tag:
        return "must have length greater than or equal to 1"
    if len(tag) > 300:
        return "must have length less than or equal to 300"
    if not IMAGE_TAG.fullmatch(tag):
        return f"must satisfy regular expression '{IMAGE_TAG_TEXT}'"
    return None


def validate_tag(tag) -> str:
    problem = tag_problem(tag)
    if problem:
        raise errors.InvalidParameter.constraint("imageTag", problem)
    return tag


def validate_registry_id(registry_id) -> str:
    if not isinstance(registry_id, str) or not REGISTRY_ID.fullmatch(registry_id):
        raise errors.InvalidParameter.constraint("registryId", "must satisfy regular expression '[0-9]{12}'")
    return registry_id


# -- state ------------------------------------------------------------------------------------

@dataclass
class Image:
    """One manifest stored in one repository (ECR's unit: an image is a digest; tags point to it)."""
    digest: str
    manifest: bytes
    media_type: str
    artifact_media_type: str | None
    size: int
    pushed_at: float
    children: list[str] = field(default_factory=list)
    subject: str | None = None
    tags: list[str] = field(default_factory=list)
    last_pulled_at: float | None = None
    scanned_at: float | None = None

    def image_id(self, tag: str | None = None) -> dict:
        return {"imageDigest": self.digest, "imageTag": tag} if tag else {"imageDigest": self.digest}


@dataclass
class Repository:
    account: str
    region: str
    name: str
    created_at: float
    tag_mutability: str = "MUTABLE"
    mutability_exclusions: list[dict] = field(default_factory=list)
    scan_on_push: bool = False
    encryption: dict = field(default_factory=lambda: {"encryptionType": "AES256"})
    resource_tags: list[dict] = field(default_factory=list)
    lifecycle_policy: str | None = None
    policy: str | None = None
    images: dict[str, Image] = field(default_factory=dict)   # digest -> image, in push order
    tag_index: dict[str, str] = field(default_factory=dict)  # tag -> digest
    layers: dict[str, str | None] = field(default_factory=dict)  # blob digest -> media type (None if unknown)

    @property
    def arn(self) -> str:
        return f"arn:aws:ecr:{self.region}:{self.account}:repository/{self.name}"

    @property
    def uri(self) -> str:
        return f"{registry_host(self.account, self.region)}/{self.name}"

    def tag_is_immutable(self, tag: str) -> bool:
        matched = any(_wildcard(f.get("filter", ""), tag) for f in self.mutability_exclusions)
        return {"MUTABLE": False, "IMMUTABLE": True,
                "IMMUTABLE_WITH_EXCLUSION": not matched, "MUTABLE_WITH_EXCLUSION": matched}[self.tag_mutability]


@dataclass
class Upload:
    id: str
    repository: str
    started_at: float
    data: bytearray = field(default_factory=bytearray)


@dataclass
class Registry:
    """One account's private registry in one region: what ACCOUNT.dkr.ecr.REGION.amazonaws.com holds."""
    account: str
    region: str
    repositories: dict[str, Repository] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)       # content-addressed, shared by repositories
    uploads: dict[str, Upload] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)      # password -> expires at


def registry_host(account: str, region: str) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com"


def _wildcard(pattern: str, tag: str) -> bool:
    return fnmatch.fnmatchcase(tag, pattern.replace("[", "[[]").replace("?", "[?]"))


# -- the backend --------------------------------------------------------------------------------

class EcrBackend:
    def __init__(self, state):
        self.clock = state.clock
        self.ids = state.ids
        self.lock = state.lock
        self._registries: dict[str, dict[str, Registry]] = {}   # [account][region]
        self._secret = hashlib.sha256(f"labkit-ecr-{self.ids()}".encode()).digest()  # signs download URLs

    # -- lookups ----------------------------------------------------------------------------
    def registry(self, account: str, region: str) -> Registry:
        by_region = self._registries.setdefault(account, {})
        if region not in by_region:
            by_region[region] = Registry(account=account, region=region)
        return by_region[region]

    def _repo(self, account: str, region: str, name) -> Repository:
        validate_repository_name(name)
        repo = self.registry(account, region).repositories.get(name)
        if repo is None:
            raise errors.RepositoryNotFound(name, account)
        return repo

    @_locked
    def get_repository(self, account: str, region: str, name: str) -> Repository:
        return self._repo(account, region, name)

    def _new_id(self) -> str:
        """A UUID (ECR's upload ids are UUIDs), derived from the injected id generator."""
        raw = self.ids()
        try:
            return str(uuid.UUID(hex=raw))
        except ValueError:
            return str(uuid.UUID(hex=hashlib.sha256(raw.encode()).hexdigest()[:32]))

    # -- repositories ------------------------------------------------------------------------
    @_locked
    def create_repository(self, account: str, region: str, name, *, tags=None, tag_mutability=None,
                          mutability_exclusions=None, scan_on_push=False, encryption=None) -> Repository:
        """Known gap: KMS encryption is recorded and echoed, nothing is encrypted, no key is checked."""
        validate_repository_name(name)
        mutability = tag_mutability or "MUTABLE"
        if mutability not in MUTABILITIES:
            raise errors.InvalidParameter.constraint(
                "imageTagMutability", f"must satisfy enum value set: [{', '.join(MUTABILITIES)}]")
        exclusions = self._exclusions(mutability, mutability_exclusions)
        resource_tags = self._merge_tags([], tags or [])
        encryption = dict(encryption or {"encryptionType": "AES256"})
        if encryption.get("encryptionType") not in ("AES256", "KMS", "KMS_DSSE"):
            raise errors.InvalidParameter.constraint("encryptionConfiguration.encryptionType",
                                                     "must satisfy enum value set: [AES256, KMS, KMS_DSSE]")
        if encryption["encryptionType"] == "AES256":
            encryption.pop("kmsKey", None)
        elif not encryption.get("kmsKey"):
            # KMS without a key: ECR uses the AWS managed key; we name it (no key exists)
            encryption["kmsKey"] = f"arn:aws:kms:{region}:{account}:alias/aws/ecr"
        registry = self.registry(account, region)
        if name in registry.repositories:
            raise errors.RepositoryAlreadyExists(name, account)
        repo = Repository(account=account, region=region, name=name, created_at=self.clock(),
                          tag_mutability=mutability, mutability_exclusions=exclusions,
                          scan_on_push=bool(scan_on_push), encryption=encryption, resource_tags=resource_tags)
        registry.repositories[name] = repo
        return repo

    @staticmethod
    def _exclusions(mutability: str, filters) -> list[dict]:
        filters = list(filters or [])
        if filters and not mutability.endswith("_WITH_EXCLUSION"):
            raise errors.InvalidParameter(
                "Image tag mutability exclusion filters can only be specified with IMMUTABLE_WITH_EXCLUSION or "
                "MUTABLE_WITH_EXCLUSION")
        if mutability.endswith("_WITH_EXCLUSION") and not filters:
            raise errors.InvalidParameter(
                f"Image tag mutability exclusion filters must be specified with {mutability}")
        for f in filters:
            if not isinstance(f, dict) or f.get("filterType") != "WILDCARD" or not f.get("filter"):
                raise errors.InvalidParameter.constraint("imageTagMutabilityExclusionFilters",
                                                         "filterType must be WILDCARD and filter must not be empty")
        return [{"filterType": f["filterType"], "filter": f["filter"]} for f in filters]

    @_locked
    def describe_repositories(self, account: str, region: str, names=None) -> list[Repository]:
        registry = self.registry(account, region)
        if names is None:
            return list(registry.repositories.values())
        return [self._repo(account, region, n) for n in names]

    @_locked
    def delete_repository(self, account: str, region: str, name, force: bool = False) -> Repository:
        repo = self._repo(account, region, name)
        if repo.images and not force:
            raise errors.RepositoryNotEmpty(name, account)
        registry = self.registry(account, region)
        del registry.repositories[name]
        for upload_id in [u.id for u in registry.uploads.values() if u.repository == name]:
            del registry.uploads[upload_id]
        return repo

    @_locked
    def put_image_tag_mutability(self, account, region, name, mutability, exclusions=None) -> Repository:
        repo = self._repo(account, region, name)
        if mutability not in MUTABILITIES:
            raise errors.InvalidParameter.constraint(
                "imageTagMutability", f"must satisfy enum value set: [{', '.join(MUTABILITIES)}]")
        repo.mutability_exclusions = self._exclusions(mutability, exclusions)
        repo.tag_mutability = mutability
        return repo

    @_locked
    def put_image_scanning_configuration(self, account, region, name, scan_on_push: bool) -> Repository:
        repo = self._repo(account, region, name)
        repo.scan_on_push = bool(scan_on_push)
        return repo

    # -- resource tags ---------------------------------------------------------------------------
    def _repo_by_arn(self, arn) -> Repository:
        match = re.fullmatch(r"arn:aws:ecr:([a-z0-9-]+):([0-9]{12}):repository/(.+)", arn or "")
        if not match:
            raise errors.InvalidParameter(f"Invalid parameter at 'resourceArn' failed to satisfy constraint: "
                                          f"'Invalid ARN: {arn}'")
        region, account, name = match.groups()
        return self._repo(account, region, name)

    def _merge_tags(self, current: list[dict], new: list) -> list[dict]:
        merged = {t["Key"]: t["Value"] for t in current}
        for t in new:
            if not isinstance(t, dict) or not isinstance(t.get("Key"), str) or not isinstance(t.get("Value"), str):
                raise errors.InvalidTagParameter("Invalid parameter at 'tags' failed to satisfy constraint: "
                                                 "'Each tag needs a Key and a Value'")
            key = t["Key"]
            if not 1 <= len(key) <= 128 or len(t["Value"]) > 256:
                raise errors.InvalidTagParameter(f"Invalid parameter at 'tags' failed to satisfy constraint: "
                                                 f"'Tag keys must be 1-128 characters and values 0-256: {key}'")
            if key.lower().startswith("aws:"):
                raise errors.InvalidTagParameter("Invalid parameter at 'tags' failed to satisfy constraint: "
                                                 "'Tag keys may not start with aws:'")
            merged[key] = t["Value"]
        if len(merged) > MAX_TAGS:
            raise errors.TooManyTags(f"A repository can have at most {MAX_TAGS} tags")
        return [{"Key": k, "Value": v} for k, v in merged.items()]

    @_locked
    def tag_resource(self, arn, tags) -> None:
        repo = self._repo_by_arn(arn)
        repo.resource_tags = self._merge_tags(repo.resource_tags, tags or [])

    @_locked
    def untag_resource(self, arn, keys) -> None:
        repo = self._repo_by_arn(arn)
        drop = set(keys or [])
        repo.resource_tags = [t for t in repo.resource_tags if t["Key"] not in drop]

    @_locked
    def list_tags_for_resource(self, arn) -> list[dict]:
        return list(self._repo_by_arn(arn).resource_tags)

    # -- policies (stored and returned; never evaluated) -------------------------------------
    @_locked
    def put_lifecycle_policy(self, account, region, name, text) -> Repository:
        """Known gap: the policy is validated and stored but never applied (no image expires)."""
        repo = self._repo(account, region, name)
        _check_lifecycle_policy(text)
        repo.lifecycle_policy = text
        return repo

    @_locked
    def get_lifecycle_policy(self, account, region, name) -> str:
        repo = self._repo(account, region, name)
        if repo.lifecycle_policy is None:
            raise errors.LifecyclePolicyNotFound(name, account)
        return repo.lifecycle_policy

    @_locked
    def delete_lifecycle_policy(self, account, region, name) -> str:
        text = self.get_lifecycle_policy(account, region, name)
        self._repo(account, region, name).lifecycle_policy = None
        return text

    @_locked
    def set_repository_policy(self, account, region, name, text) -> Repository:
        """Known gap: the policy is stored and returned, never enforced."""
        repo = self._repo(account, region, name)
        try:
            doc = json.loads(text)
        except (TypeError, ValueError):
            doc = None
        if not isinstance(doc, dict) or "Statement" not in doc:
            raise errors.InvalidParameter("Invalid parameter at 'PolicyText' failed to satisfy constraint: "
                                          "'Invalid repository policy provided'")
        repo.policy = text
        return repo

    @_locked
    def get_repository_policy(self, account, region, name) -> str:
        repo = self._repo(account, region, name)
        if repo.policy is None:
            raise errors.RepositoryPolicyNotFound(name, account)
        return repo.policy

    @_locked
    def delete_repository_policy(self, account, region, name) -> str:
        text = self.get_repository_policy(account, region, name)
        self._repo(account, region, name).policy = None
        return text

    # -- auth tokens -------------------------------------------------------------------------------
    @_locked
    def get_authorization_token(self, account: str, region: str) -> tuple[str, float]:
        """A new registry password for (account, region) and when it expires (12 h by the clock).
        The password is opaque, shaped like ECR's (base64 JSON with an expiration)."""
        expires_at = self.clock() + TOKEN_LIFETIME_S
        payload = base64.b64encode(hashlib.sha256(f"{self.ids()}{self.ids()}".encode()).digest() * 4).decode()
        body = {"payload": payload, "datakey": base64.b64encode(self.ids().encode()).decode(),
                "version": "2", "type": "DATA_KEY", "expiration": int(expires_at)}
        password = base64.b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()
        self.registry(account, region).tokens[password] = expires_at
        return password, expires_at

    @_locked
    def check_password(self, account: str, region: str, password: str) -> str:
        """'ok', 'expired', or 'invalid' (not issued by this cloud for this account and region)."""
        expires_at = self.registry(account, region).tokens.get(password)
        if expires_at is None:
            return "invalid"
        return "ok" if self.clock() < expires_at else "expired"

    # -- images --------------------------------------------------------------------------------
    def _find(self, repo: Repository, image_id: dict) -> Image | None:
        """The image an ImageIdentifier names, or None (a tag and a digest must agree)."""
        digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
        if tag is not None:
            by_tag = repo.tag_index.get(tag)
            if by_tag is None or (digest is not None and digest != by_tag):
                return None
            return repo.images[by_tag]
        return repo.images.get(digest) if digest is not None else None

    @staticmethod
    def _id_failure(image_id) -> tuple[str, str] | None:
        """(failureCode, failureReason) for an ImageIdentifier that cannot name an image."""
        if not isinstance(image_id, dict) or (image_id.get("imageDigest") is None and image_id.get("imageTag") is None):
            return "MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null"
        digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
        if digest is not None and not (isinstance(digest, str) and oci.DIGEST_SHAPE.match(digest)):
            return "InvalidImageDigest", "Invalid request parameters: image digest should satisfy the regex " \
                                         "'[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"
        if tag is not None and tag_problem(tag):
            return "InvalidImageTag", f"Invalid request parameters: image tag {tag_problem(tag)}"
        return None

    @_locked
    def list_images(self, account, region, name, tag_status=None) -> list[dict]:
        """Image ids, one per tag (an untagged image once, without imageTag)."""
        repo = self._repo(account, region, name)
        status = self._tag_status(tag_status)
        ids = []
        for image in repo.images.values():
            if image.tags and status in ("TAGGED", "ANY"):
                ids += [image.image_id(t) for t in image.tags]
            elif not image.tags and status in ("UNTAGGED", "ANY"):
                ids.append(image.image_id())
        return ids

    @staticmethod
    def _tag_status(value) -> str:
        value = value or "ANY"
        if value not in TAG_STATUSES:
            raise errors.InvalidParameter.constraint("filter.tagStatus", "must satisfy enum value set: "
                                                                         "[TAGGED, UNTAGGED, ANY]")
        return value

    @_locked
    def describe_images(self, account, region, name, image_ids=None, tag_status=None) -> list[Image]:
        repo = self._repo(account, region, name)
        status = self._tag_status(tag_status)
        if image_ids is None:
            found = list(repo.images.values())
        else:
            found = []
            for image_id in image_ids:
                failure = self._id_failure(image_id)
                if failure:
                    raise errors.InvalidParameter(failure[1])
                image = self._find(repo, image_id)
                if image is None:
                    raise errors.ImageNotFound(image_id, name, account)
                if image not in found:
                    found.append(image)
        return [i for i in found if status == "ANY" or (status == "TAGGED") == bool(i.tags)]

    @_locked
    def batch_get_image(self, account, region, name, image_ids) -> tuple[list[tuple[Image, dict]], list[dict]]:
        """([(image, the imageId to report)], failures). Records the pull time, as ECR does."""
        repo = self._repo(account, region, name)
        found, failures = [], []
        for image_id in image_ids or []:
            failure = self._id_failure(image_id)
            image = None if failure else self._find(repo, image_id)
            if failure or image is None:
                code, reason = failure or ("ImageNotFound", "Requested image not found")
                failures.append({"imageId": _clean_id(image_id), "failureCode": code, "failureReason": reason})
                continue
            image.last_pulled_at = self.clock()
            found.append((image, image.image_id(image_id.get("imageTag"))))
        return found, failures

    @_locked
    def put_image(self, account, region, name, manifest: bytes, media_type: str | None = None,
                  tag: str | None = None, digest: str | None = None, *, via_registry: bool = False) -> Image:
        """Store a manifest (PutImage, or a registry manifest PUT with via_registry=True).

        The digest is sha256 of the exact bytes. Every blob the manifest references must already be
        in the repository (LayersNotFound), every child of an index must be an image of the
        repository (ReferencedImagesNotFound). Tags:
        - PutImage of the digest a tag already names -> ImageAlreadyExists (any mutability);
          the registry accepts that re-push as a no-op on a mutable repository.
        - an immutable tag that exists -> ImageTagAlreadyExists, even for the same digest through
          the registry (ECR: "returned if you push an image with a tag that is already in the repository").
        - a mutable tag moves; the image it left stays, untagged.
        """
        repo = self._repo(account, region, name)
        if tag is not None:
            validate_tag(tag)
        try:
            parsed = oci.parse(manifest, media_type)
        except oci.ManifestError as exc:
            raise errors.InvalidManifest(str(exc)) from None
        computed = oci.digest_of(manifest)
        if digest is not None and digest != computed:
            raise errors.ImageDigestDoesNotMatch(digest, computed)
        missing = [d.digest for d in parsed.required_blobs() if d.digest not in repo.layers]
        if missing:
            raise errors.LayersNotFound(missing, name, account)
        missing = [c.digest for c in parsed.children if c.digest not in repo.images]
        if missing:
            raise errors.ReferencedImagesNotFound(missing, name, account)
        existing = repo.images.get(computed)
        if tag is not None:
            current = repo.tag_index.get(tag)
            if current == computed and not via_registry:
                raise errors.ImageAlreadyExists(computed, tag, name, account)
            if current is not None and repo.tag_is_immutable(tag):
                raise errors.ImageTagAlreadyExists(tag, name)
            if current == computed:
                return existing
        elif existing is not None:
            if via_registry:
                return existing
            raise errors.ImageAlreadyExists(computed, None, name, account)

        if existing is None:
            size = parsed.layers_size()
            if parsed.is_index:
                sizes = [repo.images[c.digest].size for c in parsed.children]
                size = max(sizes, default=0)
            existing = Image(digest=computed, manifest=bytes(manifest), media_type=parsed.media_type,
                             artifact_media_type=parsed.artifact_media_type, size=size, pushed_at=self.clock(),
                             children=[c.digest for c in parsed.children], subject=parsed.subject)
            for d in parsed.required_blobs():
                if d.media_type:
                    repo.layers[d.digest] = d.media_type
            repo.images[computed] = existing
            if repo.scan_on_push:
                existing.scanned_at = self.clock()
        if tag is not None:
            old = repo.tag_index.get(tag)
            if old is not None and old in repo.images:
                repo.images[old].tags.remove(tag)
            repo.tag_index[tag] = computed
            existing.tags.append(tag)
        return existing

    @_locked
    def batch_delete_image(self, account, region, name, image_ids) -> tuple[list[dict], list[dict]]:
        """Delete by tag: remove the tag (and the image with its last tag). Delete by digest: the
        image and all its tags, unless a manifest list in the repository references it."""
        repo = self._repo(account, region, name)
        deleted, failures = [], []
        for image_id in image_ids or []:
            failure = self._id_failure(image_id)
            image = None if failure else self._find(repo, image_id)
            if failure or image is None:
                code, reason = failure or ("ImageNotFound", "Requested image not found")
                failures.append({"imageId": _clean_id(image_id), "failureCode": code, "failureReason": reason})
                continue
            tag = image_id.get("imageTag")
            parents = [i.digest for i in repo.images.values() if image.digest in i.children]
            if tag is not None and len(image.tags) > 1:
                self._untag(repo, image, tag)
                deleted.append(image.image_id(tag))
                continue
            if parents:
                failures.append({"imageId": _clean_id(image_id), "failureCode": "ImageReferencedByManifestList",
                                 "failureReason": f"Requested image referenced by a manifest list: {parents}"})
                continue
            deleted += [image.image_id(t) for t in image.tags] or [image.image_id()]
            for t in list(image.tags):
                self._untag(repo, image, t)
            del repo.images[image.digest]
        return deleted, failures

    @staticmethod
    def _untag(repo: Repository, image: Image, tag: str) -> None:
        image.tags.remove(tag)
        repo.tag_index.pop(tag, None)

    # -- scanning ------------------------------------------------------------------------------
    @_locked
    def start_image_scan(self, account, region, name, image_id) -> Image:
        """Known gap: a scan completes at once and finds nothing (no vulnerability database)."""
        repo = self._repo(account, region, name)
        image = self._image(repo, image_id)
        now = self.clock()
        if image.scanned_at is not None and now - image.scanned_at < SCAN_QUOTA_S:
            raise errors.LimitExceeded("The scan quota per image has been exceeded. Wait and try again.")
        image.scanned_at = now
        return image

    @_locked
    def scanned_image(self, account, region, name, image_id) -> Image:
        repo = self._repo(account, region, name)
        image = self._image(repo, image_id)
        if image.scanned_at is None:
            raise errors.ScanNotFound(image_id, name, account)
        return image

    def _image(self, repo: Repository, image_id) -> Image:
        failure = self._id_failure(image_id)
        if failure:
            raise errors.InvalidParameter(failure[1])
        image = self._find(repo, image_id)
        if image is None:
            raise errors.ImageNotFound(image_id, repo.name, repo.account)
        return image

    # -- layers and uploads (ECR's layer API and the registry's blob uploads share these) -------
    @_locked
    def check_layers(self, account, region, name, digests) -> tuple[list[dict], list[dict]]:
        repo = self._repo(account, region, name)
        blobs = self.registry(account, region).blobs
        layers, failures = [], []
        for d in digests or []:
            if not isinstance(d, str) or not oci.DIGEST_SHAPE.match(d):
                failures.append({"layerDigest": d, "failureCode": "InvalidLayerDigest",
                                 "failureReason": "Invalid layer digest"})
            elif d not in repo.layers:
                failures.append({"layerDigest": d, "failureCode": "MissingLayerDigest",
                                 "failureReason": "Could not find layer"})
            else:
                layer = {"layerDigest": d, "layerAvailability": "AVAILABLE", "layerSize": len(blobs[d])}
                if repo.layers[d]:
                    layer["mediaType"] = repo.layers[d]
                layers.append(layer)
        return layers, failures

    @_locked
    def initiate_upload(self, account, region, name) -> Upload:
        repo = self._repo(account, region, name)
        upload = Upload(id=self._new_id(), repository=repo.name, started_at=self.clock())
        self.registry(account, region).uploads[upload.id] = upload
        return upload

    def _upload(self, account, region, name, upload_id) -> Upload:
        repo = self._repo(account, region, name)
        upload = self.registry(account, region).uploads.get(upload_id)
        if upload is None or upload.repository != repo.name:
            raise errors.UploadNotFound(upload_id, name, account)
        return upload

    @_locked
    def get_upload(self, account, region, name, upload_id) -> Upload:
        return self._upload(account, region, name, upload_id)

    @_locked
    def upload_part(self, account, region, name, upload_id, data: bytes,
                    first: int | None = None, last: int | None = None) -> int:
        """Append a part; `first` must be the next byte (InvalidLayerPart otherwise). Returns the
        last byte received (-1 while empty)."""
        upload = self._upload(account, region, name, upload_id)
        have = len(upload.data)
        if first is not None and (first != have or (last is not None and last != first + len(data) - 1)):
            raise errors.InvalidLayerPart(upload_id, name, account, have - 1)
        upload.data += data
        return len(upload.data) - 1

    @_locked
    def complete_upload(self, account, region, name, upload_id, digest, final: bytes = b"",
                        *, via_registry: bool = False) -> str:
        """Check the digest and store the blob in the repository. Through the ECR API an empty
        upload is EmptyUpload and a blob the repository has is LayerAlreadyExists; the registry
        accepts both (an empty blob is legal in OCI; re-uploads are idempotent)."""
        upload = self._upload(account, region, name, upload_id)
        data = bytes(upload.data + final)
        if not via_registry and not data:
            raise errors.EmptyUpload(upload_id, name, account)
        if not isinstance(digest, str) or not oci.DIGEST.match(digest):
            raise errors.InvalidLayer(f"Invalid layer digest '{digest}': only sha256 digests are supported")
        computed = oci.digest_of(data)
        if computed != digest:
            raise errors.InvalidLayer(f"The calculated digest '{computed}' of the upload with id '{upload_id}' "
                                      f"does not match the layer digest '{digest}'")
        registry = self.registry(account, region)
        del registry.uploads[upload_id]
        repo = registry.repositories[name]
        if digest in repo.layers and not via_registry:
            raise errors.LayerAlreadyExists(digest, name, account)
        registry.blobs.setdefault(digest, data)
        repo.layers.setdefault(digest, None)
        return digest

    @_locked
    def cancel_upload(self, account, region, name, upload_id) -> None:
        self._upload(account, region, name, upload_id)
        del self.registry(account, region).uploads[upload_id]

    @_locked
    def put_blob(self, account, region, name, digest: str, data: bytes) -> str:
        """A monolithic blob upload (registry POST ?digest=)."""
        upload = self.initiate_upload(account, region, name)
        return self.complete_upload(account, region, name, upload.id, digest, data, via_registry=True)

    @_locked
    def mount_blob(self, account, region, name, digest: str, source: str) -> bool:
        """Link a blob of repository `source` into `name` (cross-repository mount). False when the
        source does not hold it (the client then uploads it)."""
        repo = self._repo(account, region, name)
        try:
            src = self._repo(account, region, source)
        except errors.EcrError:
            return False
        if digest not in src.layers:
            return False
        repo.layers.setdefault(digest, src.layers[digest])
        return True

    @_locked
    def blob(self, account, region, name, digest) -> bytes:
        """A blob of the repository (layer or config), by digest."""
        repo = self._repo(account, region, name)
        if not isinstance(digest, str) or not oci.DIGEST_SHAPE.match(digest):
            raise errors.InvalidParameter.constraint("layerDigest",
                                                     "must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'")
        if digest not in repo.layers:
            raise errors.LayerNotFound(digest, name, account)
        return self.registry(account, region).blobs[digest]

    @_locked
    def manifest(self, account, region, name, reference: str, *, pull: bool = True) -> Image:
        """The image a registry reference (tag or digest) names; records the pull time."""
        repo = self._repo(account, region, name)
        image_id = {"imageDigest": reference} if reference.startswith("sha256:") else {"imageTag": reference}
        image = self._find(repo, image_id)
        if image is None:
            raise errors.ImageNotFound(image_id, name, account)
        if pull:
            image.last_pulled_at = self.clock()
        return image

    @_locked
    def catalog(self, account, region) -> list[str]:
        return sorted(self.registry(account, region).repositories)

    # -- download URLs (GetDownloadUrlForLayer) --------------------------------------------------
    def sign_download(self, account: str, region: str, name: str, digest: str) -> dict:
        """Query parameters that let a plain GET of /v2/NAME/blobs/DIGEST through without registry
        credentials, until they expire (a stand-in for ECR's presigned S3 URLs)."""
        expires = int(self.clock()) + DOWNLOAD_URL_LIFETIME_S
        credential = f"{account}/{region}"
        return {"X-Amz-Credential": credential, "Expires": str(expires),
                "X-Amz-Signature": self._signature(credential, name, digest, expires)}

    def check_download(self, name: str, digest: str, query) -> tuple[str, str] | None:
        """(account, region) if `query` is a valid, unexpired signature for this blob, else None."""
        credential, expires, signature = (query.get("X-Amz-Credential"), query.get("Expires"),
                                          query.get("X-Amz-Signature"))
        if not (credential and expires and signature and expires.isdigit() and "/" in credential):
            return None
        if not hmac.compare_digest(signature, self._signature(credential, name, digest, int(expires))):
            return None
        if self.clock() >= int(expires):
            return None
        account, region = credential.split("/", 1)
        return account, region

    def _signature(self, credential: str, name: str, digest: str, expires: int) -> str:
        message = f"{credential}\n{name}\n{digest}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()


def _clean_id(image_id) -> dict:
    if not isinstance(image_id, dict):
        return {}
    return {k: v for k, v in image_id.items() if k in ("imageDigest", "imageTag") and v is not None}


def _check_lifecycle_policy(text) -> None:
    """ECR validates a lifecycle policy's JSON shape when it is put; so do we (the common rules)."""
    def fail(why: str):
        raise errors.InvalidParameter(f"Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
                                      f"'Lifecycle policy validation failure: {why}'")
    try:
        doc = json.loads(text)
    except (TypeError, ValueError):
        fail("the policy is not valid JSON")
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list) or not doc["rules"]:
        fail("object has missing required properties ([\"rules\"])")
    priorities = set()
    for rule in doc["rules"]:
        if not isinstance(rule, dict):
            fail("each rule must be an object")
        for key in ("rulePriority", "selection", "action"):
            if key not in rule:
                fail(f"object has missing required properties ([\"{key}\"])")
        if not isinstance(rule["rulePriority"], int) or rule["rulePriority"] < 1 or rule["rulePriority"] in priorities:
            fail("rulePriority must be a unique positive integer")
        priorities.add(rule["rulePriority"])
        selection = rule["selection"]
        if not isinstance(selection, dict) or selection.get("tagStatus") not in ("tagged", "untagged", "any"):
            fail("selection.tagStatus must be one of tagged, untagged, any")
        if selection.get("countType") not in ("imageCountMoreThan", "sinceImagePushed"):
            fail("selection.countType must be imageCountMoreThan or sinceImagePushed")
        if not isinstance(selection.get("countNumber"), int) or selection["countNumber"] < 1:
            fail("selection.countNumber must be a positive integer")
        if selection["tagStatus"] == "tagged" and not (selection.get("tagPrefixList") or selection.get("tagPatternList")):
            fail("tagPrefixList or tagPatternList is required when tagStatus is tagged")
        if not isinstance(rule["action"], dict) or rule["action"].get("type") != "expire":
            fail("action.type must be expire")
