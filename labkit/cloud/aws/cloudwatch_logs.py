"""Lines into CloudWatch Logs through moto's logs backend in this process, so `aws logs
get-log-events` reads them as they come: the log sink of every AWS compute service of the local
cloud (ECS's awslogs driver, App Runner's application logs). moto is imported here lazily (it is
slow to import; the request path never waits for it).
"""
from __future__ import annotations

import threading

_lock = threading.Lock()  # moto's log streams are plain lists; our writers come from many runtime threads


class MissingGroup(LookupError):
    """The group does not exist and was not to be created."""


def _backend(account: str, region: str):
    from moto.logs.models import logs_backends

    return logs_backends[account][region]


class Destination:
    """Where one container's lines go."""

    def __init__(self, account: str, region: str, group: str, stream: str):
        self.account, self.region, self.group, self.stream = account, region, group, stream

    def put(self, timestamp_ms: int, line: str) -> None:
        with _lock:
            try:
                _backend(self.account, self.region).put_log_events(
                    self.group, self.stream, [{"timestamp": int(timestamp_ms), "message": line}])
            except Exception:  # the group was deleted meanwhile: the line is dropped, as a log driver does
                pass


def open_stream(account: str, region: str, group: str, stream: str, create_group: bool) -> Destination:
    """The stream (made if new) of the group; the group made only if create_group, else MissingGroup."""
    with _lock:
        logs = _backend(account, region)
        if group not in logs.groups:
            if not create_group:
                raise MissingGroup(group)
            logs.create_log_group(group, {})
        if stream not in logs.groups[group].streams:
            logs.create_log_stream(group, stream)
    return Destination(account, region, group, stream)
