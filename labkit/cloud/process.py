"""Start, find and stop local-cloud processes. The only module clients need to run one.

A cloud is a child process (`python -m labkit.cloud.server`) bound to 127.0.0.1. Its record
(`cloud.json` in its home) says where it listens; `labkit.start()`, `labkit up` and the grader
all go through `start_cloud` / `find_cloud`, so there is one way to start one.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from labkit.cloud.owner import ENV as OWNER_ENV
from labkit.config import HOST

READY_TIMEOUT_S = 30.0

# The cloud is on 127.0.0.1: never through a proxy that http_proxy/HTTP_PROXY may name (urllib would)
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class CloudStartError(RuntimeError):
    """The local cloud did not come up (port taken by something else, crash at start)."""


@dataclass
class CloudProcess:
    port: int
    pid: int
    home: str
    token: str  # control token for /_labkit/* (reset, state); never given to a student kernel by the grader

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def healthy(self, timeout: float = 1.0) -> bool:
        return health(self.port, timeout=timeout) is not None

    def control(self, action: str, payload: dict | None = None, timeout: float = 10.0) -> dict:
        """POST /_labkit/<action> with the control token."""
        body = json.dumps(payload or {}).encode()
        req = urllib.request.Request(
            f"{self.endpoint}/_labkit/{action}", data=body, method="POST",
            headers={"Content-Type": "application/json", "X-Labkit-Token": self.token},
        )
        with _DIRECT.open(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"{}")

    def stop(self, timeout: float = 5.0) -> None:
        _terminate(self.pid, timeout)
        record = Path(self.home) / "cloud.json"
        try:
            if json.loads(record.read_text()).get("pid") == self.pid:
                record.unlink()
        except (OSError, ValueError):
            pass


def health(port: int, timeout: float = 1.0) -> dict | None:
    """The cloud's /_labkit/health answer, or None if nothing healthy listens there."""
    try:
        with _DIRECT.open(f"http://{HOST}:{port}/_labkit/health", timeout=timeout) as resp:
            data = json.loads(resp.read())
            return data if data.get("service") == "labkit" else None
    except (OSError, ValueError):
        return None


def port_in_use(port: int) -> bool:
    """Something (anything) already listens on 127.0.0.1:port."""
    with socket.socket() as s:
        # As the server binds: connections a stopped cloud left in TIME_WAIT do not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def find_cloud(home: Path, port: int) -> CloudProcess | None:
    """A healthy cloud already serving `port` (with its record from `home` if it is ours)."""
    info = health(port)
    if info is None:
        return None
    record = _read_record(home)
    if record and record.port == port:
        return record
    return CloudProcess(port=port, pid=int(info.get("pid", 0)), home=str(home), token="")


LABS_DIR = "labs"  # each lab's own cloud and client state: HOME/labs/<lab id>/ (a fresh slate per lab)


def lab_home(home: Path, lab_id: str) -> Path:
    return Path(home) / LABS_DIR / lab_id


def clouds_under(home: Path) -> list[CloudProcess]:
    """Every cloud whose record is in `home` or in one of its labs' homes and that still answers
    as that record's process: what `labkit down --all` and the JupyterLab launcher stop."""
    homes = [Path(home), *sorted((Path(home) / LABS_DIR).glob("*/"))]
    found = []
    for h in homes:
        record = _read_record(h)
        if record is not None and _alive(record.pid):
            info = health(record.port)
            if info is not None and info.get("pid") == record.pid:
                found.append(record)
    return found


def start_cloud(home: Path, port: int | None = None, token: str | None = None,
                wait: bool = True, extra_env: dict | None = None, owner: int | None = None,
                template: "CloudTemplate | None" = None) -> CloudProcess:
    """Start a new cloud process serving `port` (a free one if None), detached from the caller's
    session so it outlives a restarted kernel. Its state and log live in `home`. With `owner` (a pid:
    a test run, a grader), the cloud stops itself when that process is gone (labkit/cloud/owner.py).
    With `template` (a CloudTemplate), the cloud is forked from it instead of a new interpreter;
    the cloud is then not the caller's child (ask the template how it ended: `template.signal_of`)."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    token = token or secrets.token_hex(16)
    if template is not None:
        env = dict(extra_env or {}, LABKIT_CONTROL_TOKEN=token)
        if owner is not None:
            env[OWNER_ENV] = str(owner)
        cloud = CloudProcess(port=port, pid=template.fork(home, port, env), home=str(home), token=token)
        if wait:
            _wait_ready(cloud, None, template)
        _write_record(home, cloud)
        return cloud
    env = dict(os.environ)
    env.update(extra_env or {})
    env["LABKIT_CONTROL_TOKEN"] = token
    if owner is not None:
        env[OWNER_ENV] = str(owner)
    log = open(home / "cloud.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "labkit.cloud.server", "--port", str(port), "--home", str(home)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
        start_new_session=True, close_fds=True,
        cwd=home,  # whatever moto writes to its working folder (its recorder's file) stays in the cloud's home
    )
    log.close()
    cloud = CloudProcess(port=port, pid=proc.pid, home=str(home), token=token)
    if wait:
        _wait_ready(cloud, proc)
    _write_record(home, cloud)
    return cloud


def _wait_ready(cloud: CloudProcess, proc: subprocess.Popen | None, template: "CloudTemplate | None" = None) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        info = health(cloud.port, timeout=0.5)
        if info is not None and info.get("pid") == cloud.pid:
            return
        ended = proc.poll() is not None if proc is not None else not template.running(cloud.pid)
        if ended:
            log = Path(cloud.home) / "cloud.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            code = proc.returncode if proc is not None else "?"
            raise CloudStartError(f"the local cloud exited at start (code {code}).\n{tail}")
        time.sleep(0.01 if template is not None else 0.02)
    _terminate(cloud.pid, 2)
    raise CloudStartError(f"the local cloud did not answer on port {cloud.port} within {READY_TIMEOUT_S:.0f} s")


def _write_record(home: Path, cloud: CloudProcess) -> None:
    path = home / "cloud.json"
    path.write_text(json.dumps(asdict(cloud)))
    path.chmod(0o600)


def _read_record(home: Path) -> CloudProcess | None:
    try:
        return CloudProcess(**json.loads((Path(home) / "cloud.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _alive(pid: int) -> bool:
    """Exists and is not a zombie (a cloud started by a kernel stays its zombie child until reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _terminate(pid: int, timeout: float) -> None:
    if pid <= 0:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:  # not our child: poll for existence instead
            if not _alive(pid):
                return
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


class CloudTemplate:
    """A process that has imported the cloud's code once and forks each cloud from it
    (labkit/cloud/template.py; the grader keeps one per worker). Its environment is `env` (what
    every cloud it forks starts with; each adds its own `extra_env`, token and owner). It ends with
    the process that made it, and so do its clouds. Not thread-safe."""

    def __init__(self, env: dict | None = None, ready_timeout: float = 60.0):
        from labkit import forkserver

        self._process = forkserver.Template([sys.executable, "-m", "labkit.cloud.template"],
                                            os.environ if env is None else env, "the cloud template",
                                            ready_timeout, unavailable=CloudStartError)
        self.process, self.conn = self._process.process, self._process.conn
        self.moto = False

    def alive(self) -> bool:
        return self._process.alive()

    def _ask(self, request: dict) -> dict:
        self._process.check_alive()
        self.conn.send(json.dumps(request).encode())
        reply = json.loads(self.conn.recv(1 << 16) or b"{}")
        if "error" in reply:
            raise CloudStartError(f"the cloud template: {reply['error']}")
        return reply

    def fork(self, home: Path, port: int, env: dict) -> int:
        """A new cloud serving `port` with its state in `home`; returns its pid."""
        return int(self._ask({"start": {"home": str(home), "port": port, "env": env}})["pid"])

    def running(self, pid: int) -> bool:
        try:
            return bool(self._ask({"status": pid}).get("running"))
        except (CloudStartError, OSError, ValueError):
            return _alive(pid)

    def signal_of(self, pid: int) -> int | None:
        """The signal that ended cloud `pid`, if it has ended by one."""
        try:
            return self._ask({"status": pid}).get("signal")
        except (CloudStartError, OSError, ValueError):
            return None

    def preload_moto(self) -> None:
        """Import moto in the template (once): later clouds need not (a lab whose clouds use it)."""
        if not self.moto:
            self.moto = True
            if not self._ask({"preload_moto": True}).get("ok"):  # it could no longer fork safely
                self.close()
                raise CloudStartError("the cloud template has threads after importing moto: closed")

    def close(self) -> None:
        self._process.close()
