"""The in-process local cloud the service tests share: the real gateway (labkit/cloud/gateway.py, the same
WSGI app `python -m labkit.cloud.server` serves) run by werkzeug on a free 127.0.0.1 port, optionally with
a test runtime as its `state.runtime`, so boto3 and the AWS CLI reach it over HTTP exactly as they reach
the cloud process; plus the small helpers every service's tests use (polling, errors, the AWS CLI).

Test-only: the cloud process itself never takes a test runtime.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from labkit.cloud.gateway import Gateway
from labkit.cloud.server import CloudRequestHandler

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


def install_runtime(state, runtime) -> None:
    """Make `runtime` the cloud's `state.runtime` (CloudState makes a real one lazily, only when none is set)."""
    if isinstance(getattr(type(state), "runtime", None), property):
        state._runtime = runtime
    else:
        state.runtime = runtime


class _Quiet(CloudRequestHandler):  # the cloud process's handler: HTTP, and gRPC on the same port
    def log_request(self, *args, **kwargs):  # one line per request would bury the test output
        pass


class LocalCloud:
    def __init__(self, home: Path, token: str, runtime=None):
        self.token = token
        self.gateway = Gateway(home=str(home), control_token=token)
        self.runtime = runtime
        if runtime is not None:
            install_runtime(self.gateway.state, runtime)
        self.server = make_server("127.0.0.1", 0, self.gateway, threaded=True, request_handler=_Quiet)
        self.port = self.server.server_port
        self.endpoint = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def state(self):
        return self.gateway.state

    def reset(self) -> None:
        assert requests.post(self.endpoint + "/_labkit/reset", headers={"X-Labkit-Token": self.token},
                             timeout=30).ok
        if self.runtime is not None:
            self.runtime.reset()

    def get(self, host: str, path: str = "/") -> tuple[int, str]:
        """GET http://HOST/path as a student's kernel sends it: to the cloud's port, by Host."""
        answer = requests.get(self.endpoint + path, headers={"Host": host}, timeout=10)
        return answer.status_code, answer.text

    def stop(self) -> None:
        self.server.shutdown()
        if self.runtime is not None:
            self.runtime.reset()


def wait_for(condition, timeout: float = 10.0, what: str = "condition", interval: float = 0.02):
    """Poll until condition() is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def error_of(excinfo) -> tuple[str, str]:
    """(code, message) of a botocore ClientError caught by pytest.raises."""
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def cli_environment(port: int, tmp_path: Path) -> dict:
    """Environment for the AWS CLI pointed at a cloud on `port`, as `labkit env` leaves a terminal."""
    if AWS is None:
        pytest.skip("the aws CLI is not installed")
    from labkit import env as cloud_env
    from labkit.config import Settings

    env = dict(os.environ)
    cloud_env.apply(cloud_env.cloud_environment(Settings(home=tmp_path / "labkit-home", aws_port=port,
                                                         managed=True)), env)
    env["HOME"] = str(tmp_path)
    return env


def aws(env: dict, *args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([AWS, *args], env=env, capture_output=True, text=True, timeout=60, cwd=cwd)


def processes_marked(variable: str, marker: str) -> list[int]:
    """Pids of every process whose environment holds VARIABLE=marker (a container's processes, found
    by a variable its test gave it): what is left running, seen from the machine."""
    found = []
    wanted = f"{variable}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if wanted in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


class Terminal:
    """A student's terminal pointed at a cloud process, as `eval "$(labkit env)"` leaves it."""

    def __init__(self, cloud, home: Path):
        from labkit import env as cloud_env
        from labkit.config import Settings

        self.cloud = cloud
        self.env = dict(os.environ)
        cloud_env.apply(cloud_env.cloud_environment(Settings(home=home, aws_port=cloud.port, managed=True)),
                        self.env)
        self.env.update(HOME=str(home), LABKIT_LANG="en", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
        self.env.pop("JPY_PARENT_PID", None)

    def run(self, *argv: str, cwd=None, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(list(argv), env=self.env, capture_output=True, text=True, timeout=180, cwd=cwd,
                                input=stdin)
        if check:
            assert result.returncode == 0, f"{argv}: {result.stderr}"
        return result

    def aws(self, *args: str, cwd=None) -> dict:
        import json

        out = self.run(AWS, *args, cwd=cwd).stdout
        return json.loads(out) if out.strip() else {}

    def labkit(self, *args: str, cwd=None, stdin=None, check=True) -> subprocess.CompletedProcess:
        return self.run(sys.executable, "-m", "labkit.cli", *args, cwd=cwd, stdin=stdin, check=check)
