"""An image pushed to the local cloud's ECR, as the runtime needs it (ImageFiles)."""
from __future__ import annotations

import json

from labkit.cloud.aws.ecr import errors as ecr_errors
from labkit.cloud.aws.ecr import models
from labkit.cloud.registry import oci
from labkit.cloud.runtime.spec import ImageFiles


class ImageUnavailable(LookupError):
    """The image cannot be run: no such repository or image, or not a runnable image manifest.
    The text says which, in the words of a pull that failed."""


def image_files(state, account: str, region: str, repository: str, reference: str) -> ImageFiles:
    """The image `repository:reference` (a tag, or a digest "sha256:...") of ECR in `account` and
    `region`. Layers are read from the shared blob store when the runtime extracts them."""
    backend = models.backend(state)
    uri = f"{models.registry_host(account, region)}/{repository}"
    shown = f"{uri}@{reference}" if reference.startswith("sha256:") else f"{uri}:{reference}"
    try:
        image = backend.manifest(account, region, repository, reference)
        manifest = oci.parse(image.manifest, image.media_type)
        if manifest.is_index or manifest.config is None:
            raise ImageUnavailable(f"{shown} is an image index; the local cloud runs single-platform images")
        config = json.loads(backend.blob(account, region, repository, manifest.config.digest))
    except ecr_errors.RepositoryNotFound:
        raise ImageUnavailable(f"pull access denied for {uri}, repository does not exist") from None
    except ecr_errors.ImageNotFound:
        raise ImageUnavailable(f"failed to resolve reference \"{shown}\": {shown}: not found") from None
    except (ecr_errors.EcrError, oci.ManifestError, ValueError) as exc:
        raise ImageUnavailable(f"{shown}: {getattr(exc, 'message', exc)}") from None

    def reader(digest: str):
        return lambda: backend.blob(account, region, repository, digest)

    return ImageFiles(digest=image.digest, config=config,
                      layers=[(layer.digest, reader(layer.digest)) for layer in manifest.layers])
