"""An Artifact Registry image URI -> the files the runtime runs (`ImageFiles`), for Cloud Run:

    image_files(state, "asia-northeast3-docker.pkg.dev/labkit-project/my-repo/my-app:v1")

Raises ImageNotFound with the words Cloud Run uses when it cannot pull (its message says which:
no such repository, image or tag, or not an image it can run)."""
from __future__ import annotations

import re

from labkit.cloud.gcp import errors
from labkit.cloud.gcp.artifactregistry import models

AR_IMAGE = re.compile(r"^(?P<location>[a-z0-9-]+)-docker\.pkg\.dev/(?P<project>[^/]+)/(?P<repository>[^/]+)/"
                      r"(?P<image>[^:@]+)(?::(?P<tag>[^@/]+))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$")


class ImageNotFound(errors.NotFound):
    """The image cannot be pulled from Artifact Registry (a GcpError: NOT_FOUND)."""


def parse(image_uri: str) -> dict | None:
    """{location, project, repository, image, reference} of an Artifact Registry URI; None otherwise."""
    match = AR_IMAGE.match(image_uri or "")
    if not match:
        return None
    parts = match.groupdict()
    parts["reference"] = parts.pop("digest") or parts.pop("tag") or "latest"
    parts.pop("tag", None)
    return parts


def image_files(state, image_uri: str):
    from labkit.cloud.runtime.images import ImageUnavailable, image_files as runtime_image_files

    parts = parse(image_uri)
    if parts is None:
        raise ImageNotFound(f"Image '{image_uri}' is not an Artifact Registry image "
                            f"(LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE).")  # assumed wording
    with state.lock:
        repo = models.backend(state).find(parts["project"], parts["location"], parts["repository"])
    if repo is None:
        raise ImageNotFound(f"Image '{image_uri}' not found: repository {parts['repository']} does not exist "
                            f"in {parts['location']}.")  # assumed wording
    name = f"{repo.project}/{repo.repository_id}/{parts['image']}"
    try:
        return runtime_image_files(state, models.AR_ACCOUNT, repo.location, name, parts["reference"])
    except ImageUnavailable as exc:
        text = str(exc)
        if "index" in text:
            raise ImageNotFound(f"Image '{image_uri}' is an image index; the local cloud runs single-platform "
                                f"images.") from None
        raise ImageNotFound(f"Image '{image_uri}' not found.") from None  # Cloud Run's words (assumed)
