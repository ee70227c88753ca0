"""`labkit.start()`: what the first cell of every notebook calls.

Starts the local cloud (or reuses a healthy one on the same port), then points this process
(boto3) and its child processes (`!aws ...`, `!labkit docker ...`) at it with fake credentials.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from labkit import env as cloud_env
from labkit.cloud.process import CloudProcess, CloudStartError, find_cloud, port_in_use, start_cloud
from labkit.config import DEFAULT_ACCOUNT, DEFAULT_REGION, settings


class CloudNotRunning(RuntimeError):
    pass


class PortInUse(CloudStartError):
    """The port is held by a program that is not the local cloud (LocalStack also uses 4566)."""


# A cloud another kernel is starting right now holds the port before it answers: wait this long
# for it to answer before calling the port's owner a stranger.
STARTING_GRACE_S = 5.0


@dataclass
class Session:
    endpoint: str
    account: str
    region: str
    pid: int
    reused: bool

    def _repr_markdown_(self) -> str:  # what a notebook shows after `labkit.start()`
        from labkit.messages import text

        key = "start.reused" if self.reused else "start.started"
        return text(key, endpoint=self.endpoint, account=self.account, region=self.region)

    def __repr__(self) -> str:
        return f"Session(endpoint={self.endpoint!r}, account={self.account!r}, region={self.region!r})"


def ensure_cloud() -> tuple[CloudProcess, bool]:
    """The cloud this process should use, started if needed. Returns (cloud, reused)."""
    s = settings()
    cloud = find_cloud(s.home, s.aws_port)
    if cloud is not None:
        return cloud, True
    if s.managed:  # the grader owns this cloud; if it is gone, starting another would hide that
        raise CloudNotRunning(f"the local cloud managed for this run is not answering on port {s.aws_port}")
    if port_in_use(s.aws_port):
        deadline = time.monotonic() + STARTING_GRACE_S
        while time.monotonic() < deadline:
            cloud = find_cloud(s.home, s.aws_port)
            if cloud is not None:
                return cloud, True
            time.sleep(0.1)
        from labkit.messages import text

        raise PortInUse(text("start.port_in_use", port=s.aws_port, other=s.aws_port + 1))
    return start_cloud(s.home, s.aws_port), False


def start(lang: str | None = None) -> Session:
    """Start or reuse the local cloud and point boto3 and shell commands at it.

    Introduced in every lesson's first cell. After it ran, real credentials in ~/.aws or the
    environment are never used by this kernel or by commands it starts.
    """
    if lang:
        os.environ["LABKIT_LANG"] = lang
    cloud, reused = ensure_cloud()
    cloud_env.apply(cloud_env.cloud_environment(settings()))
    _put_own_bin_on_path()
    _forget_cached_boto3_session()
    return Session(endpoint=cloud.endpoint, account=DEFAULT_ACCOUNT, region=DEFAULT_REGION,
                   pid=cloud.pid, reused=reused)


def status() -> dict:
    s = settings()
    cloud = find_cloud(s.home, s.aws_port)
    return {"running": cloud is not None, "endpoint": s.endpoint, "home": str(s.home),
            "pid": cloud.pid if cloud else None}


def stop() -> bool:
    """Stop the local cloud this process would use. Returns False if none ran."""
    s = settings()
    if s.managed:
        return False
    cloud = find_cloud(s.home, s.aws_port)
    if cloud is None:
        return False
    cloud.stop()
    return True


def _put_own_bin_on_path() -> None:
    """`!aws` and `!labkit` must resolve to this environment's tools even when Jupyter was
    started without activating the virtualenv."""
    bin_dir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bin_dir not in parts:
        os.environ["PATH"] = os.pathsep.join([bin_dir, *parts])


def _forget_cached_boto3_session() -> None:
    """A boto3 default session made before start() may hold real credentials: drop it."""
    boto3 = sys.modules.get("boto3")
    if boto3 is not None:
        boto3.DEFAULT_SESSION = None
