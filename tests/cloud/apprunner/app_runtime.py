"""A runtime with issue 8's interface (start, get, list, stop, stop_all; Container's fields; on_log /
on_exit from a thread of its own) whose containers behave like the lesson's app (section 9.1) without
an image being run: a container that publishes port 8080 serves `Hello from {CLOUD_PROVIDER}!` over
real HTTP on 127.0.0.1:<free port> (so health checks and the ingress really reach it), logs as
Flask's development server does, and a test decides whether an app instead never listens or exits.

Test-only: the cloud process itself never takes this runtime.
"""
from __future__ import annotations

import http.client
import http.server
import socket
import threading
import time

from labkit.cloud.runtime import ContainerSpec, RuntimeLimit

SIGTERM_EXIT = 143
APP_PORT = 8080  # the lesson's app listens on 8080 whatever port App Runner is told


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppContainer:
    def __init__(self, spec: ContainerSpec):
        self.spec = spec
        self.name = spec.name
        self.state = "starting"
        self.address = "127.0.0.1"
        self.ports = {port: free_port() for port in spec.ports}
        self.exit_code: int | None = None
        self.pid: int | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.stop_reason: str | None = None
        self.server: http.server.ThreadingHTTPServer | None = None
        self.requests = 0

    def http_get(self, port: int, path: str = "/", timeout: float = 2.0):
        host_port = self.ports.get(port)
        if host_port is None or self.state != "running":
            return None
        conn = http.client.HTTPConnection(self.address, host_port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            return None
        finally:
            conn.close()


class AppRuntime:
    def __init__(self, max_containers: int = 16):
        self.max_containers = max_containers
        self._containers: dict[str, AppContainer] = {}
        self._lock = threading.Lock()
        self.started: list[ContainerSpec] = []
        self.behaviour = lambda spec: "serve"  # "serve" | "silent" (never listens) | "exit" (exits at once)
        self.listen_after_s = 0.0              # "serve": seconds before the app listens

    # -- the interface ---------------------------------------------------------------------------
    def start(self, spec: ContainerSpec) -> AppContainer:
        with self._lock:
            alive = [c for c in self._containers.values() if c.state != "exited"]
            if len(alive) >= self.max_containers:
                raise RuntimeLimit(f"the local cloud runs at most {self.max_containers} containers at once")
            if spec.name in self._containers and self._containers[spec.name].state != "exited":
                raise ValueError(f"a container named {spec.name!r} is already running")
            container = AppContainer(spec)
            self._containers[spec.name] = container
            self.started.append(spec)
        container.state, container.started_at = "running", time.time()
        behaviour = self.behaviour(spec)
        if behaviour == "serve":
            threading.Thread(target=self._serve, args=(container, self.listen_after_s), daemon=True).start()
        elif behaviour == "exit":
            def crash():
                time.sleep(0.05)
                self.log(spec.name, "Traceback (most recent call last):", "stderr")
                self.log(spec.name, "ModuleNotFoundError: No module named 'flask'", "stderr")
                self.exit(spec.name, 1)
            threading.Thread(target=crash, daemon=True).start()
        return container

    def get(self, name: str) -> AppContainer | None:
        return self._containers.get(name)

    def list(self) -> list[AppContainer]:
        return list(self._containers.values())

    def stop(self, name: str, timeout: float = 30.0, reason: str = "stopped") -> None:
        container = self._containers.get(name)
        if container is not None and container.state != "exited":
            container.stop_reason = reason
            self._finish(container, SIGTERM_EXIT, reason)

    def stop_all(self, timeout: float = 5.0, reason: str = "stopped") -> None:
        for container in list(self._containers.values()):
            self.stop(container.name, timeout=timeout, reason=reason)

    # -- what a test makes happen -------------------------------------------------------------------
    def exit(self, name: str, code: int | None, reason: str = "exited") -> None:
        self._finish(self._containers[name], code, reason)

    def log(self, name: str, line: str, stream: str = "stdout") -> None:
        container = self._containers[name]
        self._on_thread(container.spec.on_log, container, stream, int(time.time() * 1000), line)

    def running(self) -> list[AppContainer]:
        return [c for c in self._containers.values() if c.state == "running"]

    def reset(self) -> None:
        self.stop_all()
        with self._lock:
            self._containers.clear()
            self.started.clear()
        self.behaviour, self.listen_after_s, self.max_containers = (lambda spec: "serve"), 0.0, 16

    # -- the lesson's app --------------------------------------------------------------------------
    def _serve(self, container: AppContainer, delay: float) -> None:
        host_port = container.ports.get(APP_PORT)
        if host_port is None:
            return  # it listens on 8080 inside, which nobody can reach
        time.sleep(delay)
        greeting = f"Hello from {container.spec.environment.get('CLOUD_PROVIDER', 'Container')}!".encode()
        runtime = self

        class App(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                container.requests += 1
                status, body = (200, greeting) if self.path == "/" else (404, b"Not Found")
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                runtime.log(container.name, f'127.0.0.1 - - "GET {self.path} HTTP/1.1" {status} -', "stderr")

            def log_message(self, *args):
                pass

        if container.state != "running":
            return
        container.server = http.server.ThreadingHTTPServer(("127.0.0.1", host_port), App)
        threading.Thread(target=container.server.serve_forever, daemon=True).start()
        self.log(container.name, f" * Running on http://127.0.0.1:{APP_PORT}", "stderr")

    def _finish(self, container: AppContainer, code: int | None, reason: str) -> None:
        if container.state == "exited":
            return
        container.state, container.exit_code, container.finished_at = "exited", code, time.time()
        if container.server is not None:
            container.server.shutdown()
            container.server.server_close()
        self._on_thread(container.spec.on_exit, container, code, reason)

    @staticmethod
    def _on_thread(callback, *args) -> None:
        if callback is None:
            return
        worker = threading.Thread(target=callback, args=args, daemon=True)
        worker.start()
        worker.join(5)
