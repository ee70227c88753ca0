"""A runtime that follows issue 8's interface exactly (labkit/cloud/runtime: start, get, list, stop,
stop_all; Container's fields; on_log / on_exit called from a thread that is not the caller's)
without running anything: a test decides when a container runs, logs or exits.
"""
from __future__ import annotations

import threading
import time

from labkit.cloud.runtime import ContainerSpec, RuntimeLimit

SIGTERM_EXIT = 143  # what a process killed by SIGTERM reports (128 + 15)


class FakeContainer:
    def __init__(self, spec: ContainerSpec, address: str):
        self.spec = spec
        self.name = spec.name
        self.state = "starting"
        self.address = address
        self.ports = {port: port for port in spec.ports}
        self.exit_code: int | None = None
        self.pid: int | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.stop_reason: str | None = None
        self.executed: list[list[str]] = []
        self.runtime: "FakeRuntime | None" = None

    def http_get(self, port: int, path: str = "/", timeout: float = 2.0):
        return (200, b"ok") if self.state == "running" and port in self.ports else None

    def exec(self, argv: list[str], timeout: float = 30):
        self.executed.append(list(argv))
        answer = self.runtime.exec_answer if self.runtime is not None else None
        return answer(self, list(argv)) if answer is not None else (0, b"", b"")


class FakeRuntime:
    def __init__(self, max_containers: int = 16, auto_run: bool = True):
        self.max_containers = max_containers
        self.auto_run = auto_run  # containers reach "running" at once unless a test holds them
        self._containers: dict[str, FakeContainer] = {}
        self._lock = threading.Lock()
        self._next_address = 1
        self.started: list[ContainerSpec] = []
        self.exec_answer = None  # a test's (container, argv) -> (exit code, stdout, stderr) for Container.exec

    # -- the interface -------------------------------------------------------------------------
    def start(self, spec: ContainerSpec) -> FakeContainer:
        with self._lock:
            alive = [c for c in self._containers.values() if c.state != "exited"]
            if len(alive) >= self.max_containers:
                raise RuntimeLimit(f"the runtime already runs {self.max_containers} containers")
            if spec.name in self._containers and self._containers[spec.name].state != "exited":
                raise ValueError(f"container {spec.name} exists")
            container = FakeContainer(spec, f"127.0.1.{self._next_address}")
            container.runtime = self
            self._next_address += 1
            container.pid = 10000 + self._next_address
            self._containers[spec.name] = container
            self.started.append(spec)
        if self.auto_run:
            self.run(spec.name)
        return container

    def get(self, name: str) -> FakeContainer | None:
        return self._containers.get(name)

    def list(self) -> list[FakeContainer]:
        return list(self._containers.values())

    def stop(self, name: str, timeout: float = 30.0, reason: str = "stopped") -> None:
        container = self._containers.get(name)
        if container is not None and container.state != "exited":
            container.stop_reason = reason
            self._finish(container, SIGTERM_EXIT, reason)

    def stop_all(self, timeout: float = 5.0, reason: str = "stopped") -> None:
        for container in list(self._containers.values()):
            self.stop(container.name, timeout=timeout, reason=reason)

    # -- what a test makes happen -----------------------------------------------------------------
    def run(self, name: str) -> None:
        container = self._containers[name]
        container.state, container.started_at = "running", time.time()

    def exit(self, name: str, code: int | None, reason: str = "exited") -> None:
        """The container's process ends by itself (code None: it could not be started at all)."""
        self._finish(self._containers[name], code, reason)

    def log(self, name: str, line: str, stream: str = "stdout", timestamp_ms: int | None = None) -> None:
        container = self._containers[name]
        when = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
        self._on_thread(container.spec.on_log, container, stream, when, line)

    def named(self, suffix: str) -> list[FakeContainer]:
        """Every container whose name ends with `suffix` (e.g. '/my-container')."""
        return [c for c in self._containers.values() if c.name.endswith(suffix)]

    def reset(self, max_containers: int = 16) -> None:
        """Between tests: nothing running, containers run at once again."""
        self.stop_all()
        self.auto_run, self.max_containers = True, max_containers
        self.exec_answer = None
        with self._lock:
            self._containers.clear()
            self.started.clear()

    def _finish(self, container: FakeContainer, code: int | None, reason: str) -> None:
        container.state, container.exit_code, container.finished_at = "exited", code, time.time()
        self._on_thread(container.spec.on_exit, container, code, reason)

    @staticmethod
    def _on_thread(callback, *args) -> None:
        """Callbacks run on the runtime's threads, never the caller's (issue 8): so do ours."""
        if callback is None:
            return
        worker = threading.Thread(target=callback, args=args, daemon=True)
        worker.start()
        worker.join(5)
