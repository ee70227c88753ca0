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

import re
import shutil

from labkit import env as cloud_env
from labkit.cloud.process import (CloudProcess, CloudStartError, _read_record, find_cloud, free_port, lab_home,
                                  port_in_use, start_cloud)
from labkit.config import DEFAULT_ACCOUNT, DEFAULT_REGION, Settings, base_home, settings


class CloudNotRunning(RuntimeError):
    pass


class PortInUse(CloudStartError):
    """The port is held by a program that is not the local cloud (LocalStack also uses 4566)."""


# A cloud another kernel is starting right now holds the port before it answers: wait this long
# for it to answer before calling the port's owner a stranger.
STARTING_GRACE_S = 5.0

# Each lab has its own cloud (a fresh account, as a Skills Boost lab gets a fresh project): lab NN
# prefers port 4600 + NN, so `labkit env --lab lab02` is the same every time; any free port if taken.
LAB_PORT_BASE = 4600
LAB_ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass
class Session:
    endpoint: str
    account: str
    region: str
    pid: int
    reused: bool
    lab: str | None = None

    def _repr_markdown_(self) -> str:  # what a notebook shows after `labkit.start()`
        from labkit.messages import text

        key = "start.reused" if self.reused else "start.started"
        shown = text(key, endpoint=self.endpoint, account=self.account, region=self.region)
        if self.lab:
            shown += "\n\n" + text("start.lab_own_cloud", lab=self.lab)
        return shown

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


def lab_settings(lab: str) -> Settings:
    """Where lab `lab`'s own cloud and client state live (HOME/labs/<lab>/), and its port: the one
    its running cloud serves, else the preferred one."""
    if not LAB_ID_RE.match(lab):
        raise ValueError(f"not a lab id: {lab!r} (e.g. 'lab02')")
    home = lab_home(base_home(), lab)
    record = _read_record(home)
    if record is not None and find_cloud(home, record.port) is not None:
        port = record.port
    else:
        digits = re.sub(r"\D", "", lab)
        port = LAB_PORT_BASE + (int(digits) % 100 if digits else 99)
    return Settings(home=home, aws_port=port, managed=False, lab=lab)


def ensure_lab_cloud(lab: str) -> tuple[CloudProcess, bool, Settings]:
    """Lab `lab`'s own cloud, started if needed: nothing the lessons or other labs left counts."""
    s = lab_settings(lab)
    cloud = find_cloud(s.home, s.aws_port)
    record = _read_record(s.home)
    if cloud is not None and record is not None and cloud.pid == record.pid:
        return cloud, True, s
    port = s.aws_port if not port_in_use(s.aws_port) else free_port()
    try:
        return start_cloud(s.home, port), False, Settings(home=s.home, aws_port=port, managed=False, lab=lab)
    except CloudStartError:
        if not port_in_use(port):
            raise  # the cloud failed for a reason of its own
    # something else took the port between the check and the cloud's bind (another lab's cloud
    # starting at the same moment): a lab's cloud may live on any port, its record says which
    port = free_port()
    return start_cloud(s.home, port), False, Settings(home=s.home, aws_port=port, managed=False, lab=lab)


def lab_environment(s: Settings) -> dict[str, str | None]:
    env = cloud_env.cloud_environment(s)
    env.update({"LABKIT_LAB": s.lab, "LABKIT_BASE_HOME": str(base_home())} if s.lab
               else {"LABKIT_LAB": None, "LABKIT_BASE_HOME": None})
    return env


def start(lang: str | None = None, lab: str | None = None) -> Session:
    """Start or reuse the local cloud and point boto3 and shell commands at it.

    Introduced in every lesson's first cell; a lab's first cell passes its id
    (`labkit.start(lab="lab02")`) and gets a cloud and a docker login/image store of its own, so
    the lab starts from a clean slate, as the grader runs it. After it ran, real credentials in
    ~/.aws or the environment are never used by this kernel or by commands it starts.
    """
    if lang:
        os.environ["LABKIT_LANG"] = lang
    if lab and not settings().managed:  # the grader gives each submission its own cloud already
        cloud, reused, s = ensure_lab_cloud(lab)
    else:
        cloud, reused = ensure_cloud()
        s = settings()
        lab = None
    cloud_env.apply(lab_environment(s))
    _put_own_bin_on_path()
    _fast_commands()
    _forget_cached_boto3_session()
    _service_urls()
    return Session(endpoint=cloud.endpoint, account=DEFAULT_ACCOUNT, region=DEFAULT_REGION,
                   pid=cloud.pid, reused=reused, lab=lab)


def reset() -> str:
    """Start this lab over: its cloud forgets everything (repositories, images, services) and its
    docker logins and local images are removed. Other labs and the lessons are not touched; the
    notebook's own files (e.g. `app/`) stay. In a lesson's kernel: the lessons' cloud is reset."""
    from labkit.messages import text

    s = settings()
    if s.managed:
        return text("reset.managed")
    record = _read_record(s.home)
    if record is None or not record.healthy():
        return text("cli.reset.none")
    record.control("reset")
    if s.lab:
        shutil.rmtree(s.home / "docker", ignore_errors=True)
        return text("reset.lab_done", lab=s.lab)
    return text("cli.reset.done")


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


def _fast_commands() -> None:
    """In a kernel, `!aws` and `!labkit docker` go through this kernel's fork servers (same output,
    a fraction of the start-up; see labkit/fastcli). Off with LABKIT_FASTCLI=0; never fails."""
    from labkit.fastcli import launcher

    launcher.enable()


def _service_urls() -> None:
    """App Runner, ALB and Cloud Run URLs resolve to the local cloud in this kernel (labkit/net.py)."""
    from labkit import net

    net.install()


def _forget_cached_boto3_session() -> None:
    """A boto3 default session made before start() may hold real credentials: drop it."""
    boto3 = sys.modules.get("boto3")
    if boto3 is not None:
        boto3.DEFAULT_SESSION = None
