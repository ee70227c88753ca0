"""Start JupyterLab as a student (or an instructor) gets it, with the course's launcher `labkit
lab`, in a private home, and stop it.

Everything a server writes (Jupyter settings, the labkit clouds, docker logins) lives under the
`home` given, never in ~/.labkit or ~/.jupyter.
"""
from __future__ import annotations

import functools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GUARD = ROOT / "tests" / "safety" / "guard"  # refuses and logs any connection that is not loopback
READY_TIMEOUT_S = 90  # two cores shared with other tests: JupyterLab takes 5-6 s alone, more under load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def course_copy(tmp: Path) -> Path:
    """A student's copy of course/: notebooks write files (lab 02's app/) beside themselves."""
    target = tmp / "course"
    shutil.copytree(ROOT / "course", target, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "app"))
    return target


@functools.cache
def launcher_available() -> bool:
    """Does this labkit have the `labkit lab` launcher?"""
    labkit = BIN / "labkit"
    if not labkit.exists():
        return False
    done = subprocess.run([str(labkit), "lab", "--help"], capture_output=True, text=True, timeout=60)
    return done.returncode == 0


@dataclass
class JupyterLab:
    url: str        # http://127.0.0.1:PORT (no trailing slash)
    token: str
    home: Path      # HOME of the server and everything it starts
    labkit_home: Path
    log: Path
    net_log: Path
    process: subprocess.Popen
    command: list[str] = field(default_factory=list)

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def page_url(self, path: str = "/") -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.url}{path}{sep}token={self.token}"

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def blocked_connections(self) -> list[str]:
        try:
            lines = self.net_log.read_text().splitlines()
        except OSError:
            return []
        return [line for line in lines if " BLOCKED " in line]

    def stop(self) -> None:
        """Stop the launcher as a terminal's Ctrl-C would (it stops JupyterLab, its kernels and
        the clouds they started), then any cloud still left."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session, started by start_lab
                self.process.wait(timeout=10)
        from labkit.cloud.process import clouds_under

        for cloud in clouds_under(self.labkit_home):
            cloud.stop()


def server_environment(home: Path) -> dict[str, str]:
    """The environment of a student's machine whose home is `home`, with nothing of ours leaking in."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LABKIT_", "JUPYTER", "AWS_", "PYTEST_", "JPY_"))}
    labkit_home = home / ".labkit"
    env.update({
        "HOME": str(home),
        "LABKIT_HOME": str(labkit_home),
        # The lessons' cloud on a port of its own: a cloud another test or person runs on 4566 is not ours.
        "LABKIT_AWS_PORT": str(free_port()),
        "PATH": os.pathsep.join([str(BIN), env.get("PATH", "")]),
        "PYTHONPATH": os.pathsep.join([str(GUARD), str(ROOT)]),
        "LABKIT_NET_LOG": str(home / "net.log"),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def start_lab(home: Path, root: Path, instructor: bool = False, extra_env: dict | None = None) -> JupyterLab:
    """`labkit lab` serving `root`: a copy of course/ (student), or an nbgrader course folder
    (instructor, `--course`), ready to use."""
    if not launcher_available():
        raise RuntimeError(f"`{BIN / 'labkit'} lab` is missing: the browser tests open the course as students do")
    home.mkdir(parents=True, exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    mode = ["--instructor", "--course", str(root)] if instructor else []
    command = [str(BIN / "labkit"), "lab", *mode, "--no-browser", "--port", str(port),
               "--", f"--IdentityProvider.token={token}"]
    env = server_environment(home)
    if not instructor:
        env["LABKIT_COURSE_DIR"] = str(root)
    env.update(extra_env or {})
    log = home / "jupyterlab.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(command, cwd=str(home), env=env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    lab = JupyterLab(url=f"http://127.0.0.1:{port}", token=token, home=home,
                     labkit_home=Path(env["LABKIT_HOME"]), log=log, net_log=Path(env["LABKIT_NET_LOG"]),
                     process=process, command=command)
    try:
        _wait_ready(lab)
    except BaseException:
        lab.stop()
        raise
    return lab


def _wait_ready(lab: JupyterLab) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited at start (code {lab.process.returncode}): "
                               f"{' '.join(lab.command)}\n{lab.log_tail()}")
        try:
            if lab.api("GET", "/api/status").status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"JupyterLab did not answer /api/status within {READY_TIMEOUT_S} s: "
                       f"{' '.join(lab.command)}\n{lab.log_tail()}")
