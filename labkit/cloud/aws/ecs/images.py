"""A container's image reference -> the files the runtime runs (`ImageFiles`, labkit/cloud/aws/ecr_images.py),
or the CannotPullContainerError ECS reports when that fails. Tests replace `resolve` to serve their own images.
"""
from __future__ import annotations

from labkit.cloud.aws.ecr import errors as ecr_errors
from labkit.cloud.aws.ecr_images import image_files, parse
from labkit.cloud.runtime import ImageFiles


class PullError(Exception):
    """The image cannot be pulled; the message is the task's stoppedReason, as ECS words it."""


def not_found(image: str) -> PullError:
    # What Fargate (platform 1.4.0, containerd) reports for a tag or repository the registry lacks.
    return PullError(f"CannotPullContainerError: pull image manifest has been retried 5 time(s): "
                     f"failed to resolve ref {image}: {image}: not found")


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
