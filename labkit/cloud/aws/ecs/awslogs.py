"""The awslogs log driver: a container's stdout/stderr lines into CloudWatch Logs, group
`awslogs-group`, stream `awslogs-stream-prefix/CONTAINER/TASK_ID`, through moto's logs backend in
this process (so `aws logs get-log-events` / `aws logs tail` read them as they come).

As on Fargate, the group must exist unless `awslogs-create-group` is "true": otherwise the task
fails to start with ECS's ResourceInitializationError. moto is imported here lazily (it is slow to
import; the request path never waits for it).
"""
from __future__ import annotations

import threading

MISSING_GROUP = ("ResourceInitializationError: failed to validate logger args: create stream has been retried "
                 "1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log "
                 "group does not exist. : exit status 1")
_lock = threading.Lock()  # moto's log streams are plain lists; our writers come from many runtime threads


class LogSetupError(Exception):
    """The task cannot start: its message is the task's stoppedReason."""


def _backend(account: str, region: str):
    from moto.logs.models import logs_backends

    return logs_backends[account][region]


def stream_name(options: dict, container: str, task_id: str) -> str:
    prefix = options.get("awslogs-stream-prefix")
    # Without a prefix (allowed on EC2) the stream is named after the Docker container id; we use the task id.
    return f"{prefix}/{container}/{task_id}" if prefix else task_id


class Destination:
    """Where one container's lines go."""

    def __init__(self, account: str, region: str, group: str, stream: str):
        self.account, self.region, self.group, self.stream = account, region, group, stream

    def put(self, timestamp_ms: int, line: str) -> None:
        with _lock:
            try:
                _backend(self.account, self.region).put_log_events(
                    self.group, self.stream, [{"timestamp": int(timestamp_ms), "message": line}])
            except Exception:  # the group was deleted meanwhile: the driver drops the line, as awslogs does
                pass


def prepare(account: str, default_region: str, options: dict, container: str, task_id: str) -> Destination:
    """Create the task's log stream (and the group if asked to); raise LogSetupError as ECS reports it."""
    group = options.get("awslogs-group")
    if not group:
        raise LogSetupError("ResourceInitializationError: failed to validate logger args: "
                            "awslogs-group is a required option : exit status 1")
    region = options.get("awslogs-region") or default_region
    stream = stream_name(options, container, task_id)
    with _lock:
        logs = _backend(account, region)
        if group not in logs.groups:
            if str(options.get("awslogs-create-group", "")).lower() != "true":
                raise LogSetupError(MISSING_GROUP)
            logs.create_log_group(group, {})
        if stream not in logs.groups[group].streams:
            logs.create_log_stream(group, stream)
    return Destination(account, region, group, stream)
