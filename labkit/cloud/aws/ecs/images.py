"""A container's image reference -> the files the runtime runs (`ImageFiles`), through the shared
ECR/registry model, or the CannotPullContainerError ECS reports when that fails.

`image_files` is the one function that does the resolution: labkit/cloud/runtime/images.py's when it
exists (issue 8), else the small reading below. Tests replace `resolve` to serve their own images.
"""
from __future__ import annotations

import json
import re

from labkit.cloud.aws.ecr import errors as ecr_errors
from labkit.cloud.aws.ecr import models as ecr_models
from labkit.cloud.aws.ecs.runtime_bridge import ImageFiles
from labkit.cloud.registry import oci

ECR_REFERENCE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
                           r"(?P<name>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$")


class PullError(Exception):
    """The image cannot be pulled; the message is the task's stoppedReason, as ECS words it."""


def not_found(image: str) -> PullError:
    # What Fargate (platform 1.4.0, containerd) reports for a tag or repository the registry lacks.
    return PullError(f"CannotPullContainerError: pull image manifest has been retried 5 time(s): "
                     f"failed to resolve ref {image}: {image}: not found")


def parse(image: str) -> tuple[str, str, str, str] | None:
    """(account, region, repository, reference) of an ECR image URI; None for any other registry."""
    match = ECR_REFERENCE.match(image or "")
    if not match:
        return None
    reference = match.group("digest") or match.group("tag") or "latest"
    return match.group("account"), match.group("region"), match.group("name"), reference


def resolve(state, image: str) -> ImageFiles:
    """The image's files; raises PullError with ECS's reason."""
    where = parse(image)
    if where is None:
        # Known gap: only this cloud's own ECR can be pulled from (nothing leaves 127.0.0.1).
        raise PullError(f"CannotPullContainerError: pull image manifest has been retried 5 time(s): "
                        f"failed to resolve ref {image}: the labkit local cloud runs images from its own "
                        f"ECR only (push the image to ECR first)")
    try:
        return image_files(state, *where)
    except ecr_errors.EcrError:
        raise not_found(image) from None
    except LookupError as exc:  # the runtime's ImageUnavailable: missing, or not a runnable image
        text = str(exc)
        if "not found" in text or "does not exist" in text:
            raise not_found(image) from None
        raise PullError(f"CannotPullContainerError: {text}") from None


def image_files(state, account: str, region: str, repository: str, reference: str) -> ImageFiles:
    try:
        from labkit.cloud.runtime.images import image_files as runtime_image_files
    except ImportError:
        return _read_from_ecr(state, account, region, repository, reference)
    return runtime_image_files(state, account, region, repository, reference)


def _read_from_ecr(state, account, region, repository, reference) -> ImageFiles:
    backend = ecr_models.backend(state)
    image = backend.manifest(account, region, repository, reference, pull=True)
    manifest = oci.parse(image.manifest, image.media_type)
    digest = image.digest
    if manifest.is_index():  # a multi-platform image: the linux/amd64 one, as Fargate (X86_64) picks
        doc = json.loads(image.manifest)
        chosen = next((m for m in doc.get("manifests", [])
                       if (m.get("platform") or {}).get("os") == "linux"
                       and (m.get("platform") or {}).get("architecture") == "amd64"), None)
        chosen = chosen or (doc.get("manifests") or [None])[0]
        if chosen is None:
            raise ecr_errors.ImageNotFound({"imageTag": reference}, repository, account)
        child = backend.manifest(account, region, repository, chosen["digest"], pull=False)
        manifest, digest = oci.parse(child.manifest, child.media_type), child.digest
    config = json.loads(backend.blob(account, region, repository, manifest.config.digest))

    def reader(layer_digest):
        return lambda: backend.blob(account, region, repository, layer_digest)
    return ImageFiles(digest=digest, config=config,
                      layers=[(layer.digest, reader(layer.digest)) for layer in manifest.layers])
