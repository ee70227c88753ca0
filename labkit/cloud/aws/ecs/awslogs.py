"""The awslogs log driver: a container's stdout/stderr lines into CloudWatch Logs
(labkit/cloud/aws/cloudwatch_logs.py), group `awslogs-group`, stream `awslogs-stream-prefix/CONTAINER/TASK_ID`.

As on Fargate, the group must exist unless `awslogs-create-group` is "true": otherwise the task
fails to start with ECS's ResourceInitializationError.
"""
from __future__ import annotations

from labkit.cloud.aws.cloudwatch_logs import Destination, MissingGroup, open_stream

MISSING_GROUP = ("ResourceInitializationError: failed to validate logger args: create stream has been retried "
                 "1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log "
                 "group does not exist. : exit status 1")


class LogSetupError(Exception):
    """The task cannot start: its message is the task's stoppedReason."""


def stream_name(options: dict, container: str, task_id: str) -> str:
    prefix = options.get("awslogs-stream-prefix")
    # Without a prefix (allowed on EC2) the stream is named after the Docker container id; we use the task id.
    return f"{prefix}/{container}/{task_id}" if prefix else task_id


def prepare(account: str, default_region: str, options: dict, container: str, task_id: str) -> Destination:
    """Create the task's log stream (and the group if asked to); raise LogSetupError as ECS reports it."""
    group = options.get("awslogs-group")
    if not group:
        raise LogSetupError("ResourceInitializationError: failed to validate logger args: "
                            "awslogs-group is a required option : exit status 1")
    region = options.get("awslogs-region") or default_region
    create = str(options.get("awslogs-create-group", "")).lower() == "true"
    try:
        return open_stream(account, region, group, stream_name(options, container, task_id), create)
    except MissingGroup:
        raise LogSetupError(MISSING_GROUP) from None
