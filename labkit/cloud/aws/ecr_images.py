"""An ECR image URI -> the files the runtime runs (`ImageFiles`), read through the shared ECR model.
Every AWS compute service of the local cloud (ECS, App Runner, ECS Express Mode) pulls this way and
words a failure its own way.
"""
from __future__ import annotations

import re

from labkit.cloud.runtime import ImageFiles

ECR_REFERENCE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
                           r"(?P<name>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$")


def parse(image: str) -> tuple[str, str, str, str] | None:
    """(account, region, repository, reference) of an ECR image URI; None for any other registry."""
    match = ECR_REFERENCE.match(image or "")
    if not match:
        return None
    reference = match.group("digest") or match.group("tag") or "latest"
    return match.group("account"), match.group("region"), match.group("name"), reference


def image_files(state, account: str, region: str, repository: str, reference: str) -> ImageFiles:
    """The image's files. Raises the ECR model's EcrError (no repository or tag) or the runtime's
    ImageUnavailable, a LookupError (not a runnable image)."""
    from labkit.cloud.runtime.images import image_files as runtime_image_files

    return runtime_image_files(state, account, region, repository, reference)
