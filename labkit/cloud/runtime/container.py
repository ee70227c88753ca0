"""One container as services see it (a read-only view, safe from any thread), and how the runtime
talks to its agent (agent.py) over the unix socket RUN/agent.sock."""
from __future__ import annotations

import base64
import http.client
import json
import signal
import socket
import threading
import time
from pathlib import Path

from labkit.cloud.runtime.launch import map_exec_args


def agent_call(run_dir: Path, request: dict, timeout: float) -> dict | None:
    """Send one request to the agent; None when it cannot be reached (not up yet, or gone)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(run_dir / "agent.sock"))
            s.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
        return json.loads(data.decode()) if data else None
    except (OSError, ValueError):
        return None


class Container:
    """name, state ("starting" | "running" | "exited"), address, ports (container port -> host
    port), exit_code, pid, started_at, finished_at; http_get() and exec(). The runtime alone
    changes it."""

    def __init__(self, spec, address: str, ports: dict[int, int], clock):
        self.spec = spec
        self.name: str = spec.name
        self.labels = dict(spec.labels)
        self.address = address
        self.ports = dict(ports)
        self.state = "starting"
        self.exit_code: int | None = None
        self.reason: str | None = None
        self.pid: int | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self.launched = threading.Event()   # the process exists (or never will)
        self.exited = threading.Event()
        self.stop_reason: str | None = None
        self.stop_signal: int = signal.SIGTERM   # the image's StopSignal, once known
        # the runtime's own bookkeeping
        self.process = None
        self.reserved: dict = {}  # container port -> a socket bound for it until the relay listens (supervisor)
        self.run_dir: Path | None = None
        self.plain_root: Path | None = None   # a plain process's copy of the image (exec maps paths into it)
        self.cleanup: list = []

    def __repr__(self) -> str:
        return f"<Container {self.name} {self.state} {self.address} {self.ports}>"

    # -- what services call --------------------------------------------------------------------
    def http_get(self, port: int, path: str = "/", timeout: float = 2.0) -> tuple[int, bytes] | None:
        """GET http://ADDRESS:HOSTPORT/path as a client outside would; None when nothing answers."""
        host_port = self.ports.get(port)
        if host_port is None or self.state != "running":
            return None
        conn = http.client.HTTPConnection(self.address, host_port, timeout=timeout)
        try:
            conn.request("GET", path, headers={"Host": f"{self.address}:{host_port}"})
            response = conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            return None
        finally:
            conn.close()

    def exec(self, argv: list[str], timeout: float = 30) -> tuple[int, bytes, bytes]:
        """Run argv in the container (its files, environment and working folder): (exit code,
        stdout, stderr). 126 with a message when the container is not running."""
        if self.state != "running" or self.run_dir is None:
            return 126, b"", f"container {self.name} is not running\n".encode()
        request = {"op": "exec", "argv": map_exec_args([str(a) for a in argv], self.plain_root), "timeout": timeout}
        answer = agent_call(self.run_dir, request, timeout + 5)
        if not answer or "code" not in answer:
            return 126, b"", f"container {self.name} did not answer\n".encode()
        return int(answer["code"]), base64.b64decode(answer["stdout"]), base64.b64decode(answer["stderr"])

    # -- the runtime's side ----------------------------------------------------------------------
    def signal(self, signum: int) -> bool:
        """Ask the agent to send `signum` to the container's first process (retried briefly while
        the agent is starting)."""
        deadline = time.monotonic() + 2
        while True:
            if self.run_dir is not None and agent_call(self.run_dir, {"op": "signal", "signal": signum}, 2):
                return True
            if time.monotonic() > deadline or self.exited.is_set():
                return False
            time.sleep(0.05)

    def now_ms(self) -> int:
        return int(self._clock() * 1000)
