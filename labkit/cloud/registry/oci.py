"""Manifests and digests as the OCI image spec and Docker's schema 2 define them. Pure functions on
bytes: no HTTP, no state. ECR's models use them to check what a push references; the registry
uses them for digests.

A manifest's digest is "sha256:" + the sha256 of its exact bytes; nothing is ever re-serialised.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

IMAGE_MANIFESTS = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEXES = (DOCKER_MANIFEST_LIST, OCI_INDEX)
MANIFEST_TYPES = IMAGE_MANIFESTS + INDEXES

DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
# botocore's LayerDigest pattern: what ECR's API accepts as the *shape* of a digest
DIGEST_SHAPE = re.compile(r"^[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+$")


class ManifestError(ValueError):
    """The manifest cannot be stored: not JSON, wrong media type, malformed descriptors."""


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def media_type_param(header: str | None) -> str | None:
    """`application/vnd.oci.image.manifest.v1+json; charset=utf-8` -> the bare media type."""
    if not header:
        return None
    return header.split(";", 1)[0].strip() or None


@dataclass
class Descriptor:
    digest: str
    size: int
    media_type: str | None


@dataclass
class Manifest:
    media_type: str
    config: Descriptor | None = None               # image manifests only
    layers: list[Descriptor] = field(default_factory=list)
    children: list[Descriptor] = field(default_factory=list)  # indexes only
    artifact_type: str | None = None
    subject: str | None = None

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEXES

    def required_blobs(self) -> list[Descriptor]:
        """Blobs that must be in the repository before this manifest may be stored (config and
        layers; foreign / non-distributable layers live elsewhere by definition)."""
        blobs = [self.config] if self.config else []
        blobs += [d for d in self.layers if not _external(d)]
        return blobs

    def layers_size(self) -> int:
        """Sum of the layer sizes as pushed (compressed): what ECR calls imageSizeInBytes."""
        return sum(d.size for d in self.layers)

    @property
    def artifact_media_type(self) -> str | None:
        if self.is_index:
            return self.artifact_type
        return self.artifact_type or (self.config.media_type if self.config else None)


def _external(d: Descriptor) -> bool:
    return bool(d.media_type and ("foreign" in d.media_type or "nondistributable" in d.media_type))


def parse(data: bytes, declared: str | None = None) -> Manifest:
    """Parse a manifest pushed with media type `declared` (Content-Type, or PutImage's
    imageManifestMediaType; None when not given). Raises ManifestError.
    Known gap: Docker schema 1 manifests are refused (ECR still stores them)."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ManifestError("Invalid JSON syntax") from None
    if not isinstance(doc, dict):
        raise ManifestError("Invalid JSON syntax")
    inner = doc.get("mediaType")
    declared = media_type_param(declared)
    if declared and inner and declared != inner:
        raise ManifestError(f"Manifest media type '{inner}' does not match the media type '{declared}' of the request")
    media_type = declared or inner
    if not media_type:
        raise ManifestError("Manifest media type must be given when the manifest has no mediaType field")
    if media_type in (DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED):
        raise ManifestError("Docker image manifest V2 schema 1 is not supported by the local cloud")
    if media_type not in MANIFEST_TYPES:
        raise ManifestError(f"Unsupported manifest media type '{media_type}'")
    if doc.get("schemaVersion") != 2:
        raise ManifestError("schemaVersion must be 2")
    manifest = Manifest(media_type=media_type, artifact_type=_str(doc.get("artifactType")))
    subject = doc.get("subject")
    if subject is not None:
        manifest.subject = _descriptor(subject, "subject").digest
    if media_type in INDEXES:
        children = doc.get("manifests")
        if not isinstance(children, list):
            raise ManifestError("An image index needs a 'manifests' list")
        manifest.children = [_descriptor(c, "manifests") for c in children]
    else:
        if "config" not in doc:
            raise ManifestError("An image manifest needs a 'config' descriptor")
        manifest.config = _descriptor(doc["config"], "config")
        layers = doc.get("layers", [])
        if not isinstance(layers, list):
            raise ManifestError("'layers' must be a list")
        manifest.layers = [_descriptor(d, "layers") for d in layers]
    return manifest


def _descriptor(d, where: str) -> Descriptor:
    if not isinstance(d, dict):
        raise ManifestError(f"Invalid descriptor in '{where}'")
    digest, size = d.get("digest"), d.get("size")
    if not isinstance(digest, str) or not DIGEST.match(digest):
        raise ManifestError(f"Invalid digest '{digest}' in '{where}'")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"Invalid size of '{digest}' in '{where}'")
    return Descriptor(digest=digest, size=size, media_type=_str(d.get("mediaType")))


def _str(value) -> str | None:
    return value if isinstance(value, str) and value else None
