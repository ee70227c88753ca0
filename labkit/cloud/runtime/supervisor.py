"""Runtime: starts, logs, stops containers; a bounded number at once; never restarts one (the
services decide that). Every container process dies with the cloud process, even when that is
SIGKILLed: bubblewrap's --die-with-parent (and the pid namespace), or, for a plain process, the
agent's pipe from the cloud closing (agent.py).

Processes are started by one long-lived thread: Linux's "die with the parent" follows the
*thread* that started a child, so a request thread that ends must never be that parent.
"""
from __future__ import annotations

import atexit
import os
import queue
import signal
import socket
import subprocess
import tempfile
import sys
import threading
import traceback
import time
import uuid
from concurrent.futures import Future
from pathlib import Path

from labkit.cloud.runtime import launch as launching
from labkit.cloud.runtime.container import Container, agent_call
from labkit.cloud.runtime.network import Addresses, Relay
from labkit.cloud.runtime.plan import make_plan
from labkit.cloud.runtime.rootfs import RootfsCache, copy_rootfs, remove_tree
from labkit.cloud.runtime.spec import CannotStart, ContainerSpec, RuntimeLimit
from labkit.cloud.runtime.standin import add_python, flavour, stand_in

KEEP_EXITED = 64          # exited containers still listed (services read their exit codes)
LINE_LIMIT = 256 * 1024   # a longer line is delivered in pieces
KILL_GRACE_S = 5.0        # after SIGKILL, how long stop() still waits for the exit
AGENT_START_S = 10.0      # how long a started process may take to become "running"


class _Fd:
    """A file descriptor closed at most once (like a socket object's close)."""

    def __init__(self, fd: int):
        self.fd = fd

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _listen(path: Path) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(64)
    return listener


class _Spawner:
    """Runs callables on one thread that lives as long as the process (see the module docstring)."""

    def __init__(self):
        self._jobs: queue.Queue = queue.Queue()
        threading.Thread(target=self._loop, name="runtime-spawner", daemon=True).start()

    def _loop(self) -> None:
        while True:
            job, future = self._jobs.get()
            try:
                future.set_result(job())
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)

    def call(self, job):
        future: Future = Future()
        self._jobs.put((job, future))
        return future.result()


class Runtime:
    def __init__(self, home: Path, max_containers: int = 16, clock=time.time):
        self.home = Path(home)
        self.max_containers = max_containers
        self.clock = clock
        self._lock = threading.Lock()
        self._containers: dict[str, Container] = {}
        self._images = RootfsCache(self.home)
        self._addresses = Addresses()
        self._spawner = _Spawner()
        # a cloud killed earlier left its containers' folders: nothing of theirs runs any more
        remove_tree(self.home / "containers")
        self._sockets = self._socket_folder()

    def _socket_folder(self) -> Path:
        """Unix sockets need short paths (108 bytes): a private folder in the temp folder, named in
        HOME/sockets so the next runtime on this home removes a leftover one."""
        record = self.home / "sockets"
        try:
            old = Path(record.read_text().strip())
            if old.name.startswith("labkit-rt-"):
                remove_tree(old)
        except OSError:
            pass
        folder = Path(tempfile.mkdtemp(prefix="labkit-rt-"))
        self.home.mkdir(parents=True, exist_ok=True)
        record.write_text(str(folder))
        atexit.register(remove_tree, folder)
        return folder

    # -- the interface -----------------------------------------------------------------------------
    def start(self, spec: ContainerSpec) -> Container:
        """Returns at once (state "starting"); raises RuntimeLimit when full."""
        with self._lock:
            existing = self._containers.get(spec.name)
            if existing is not None and existing.state != "exited":
                raise ValueError(f"a container named {spec.name!r} is already running")
            active = sum(1 for c in self._containers.values() if c.state != "exited")
            if active >= self.max_containers:
                raise RuntimeLimit(f"the local cloud runs at most {self.max_containers} containers at once")
            try:
                address, ports, reserved = self._addresses.allocate(list(dict.fromkeys(spec.ports)))
            except OSError as exc:
                raise RuntimeLimit(str(exc)) from None
            container = Container(spec, address, ports, self.clock)
            container.reserved = reserved  # bound sockets: the relay listens on them, a plain app gets them freed
            self._containers.pop(spec.name, None)
            self._containers[spec.name] = container
            exited = [name for name, c in self._containers.items() if c.state == "exited"]
            for name in exited[:max(0, len(exited) - KEEP_EXITED)]:
                del self._containers[name]
        threading.Thread(target=self._launch, args=(container,), name=f"launch-{spec.name}", daemon=True).start()
        return container

    def get(self, name) -> Container | None:
        with self._lock:
            return self._containers.get(name)

    def list(self) -> list[Container]:
        with self._lock:
            return list(self._containers.values())

    def stop(self, name, timeout: float = 30.0, reason: str = "stopped") -> None:
        """The image's StopSignal (SIGTERM), then SIGKILL after `timeout`; returns once it exited."""
        container = self.get(name)
        if container is None or container.exited.is_set():
            return
        if container.stop_reason is None:
            container.stop_reason = reason
        container.launched.wait(timeout)
        if container.process is not None and not container.exited.is_set():
            signalled = container.signal(container.stop_signal)
            if not signalled or not container.exited.wait(timeout):
                self._kill(container)
        container.exited.wait(KILL_GRACE_S)

    def stop_all(self, timeout: float = 5.0, reason: str = "stopped") -> None:
        """Stop every container at once (on reset, on the cloud's shutdown)."""
        threads = [threading.Thread(target=self.stop, args=(c.name, timeout, reason), daemon=True)
                   for c in self.list() if c.state != "exited"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # -- starting ----------------------------------------------------------------------------------
    def _launch(self, container: Container) -> None:
        spec = container.spec
        try:
            iso = launching.isolation()
            image_root = self._images.get(spec.image, flavour(), finish=add_python)
            standin = stand_in(image_root)
            cid = uuid.uuid4().hex[:12]
            folder = self.home / "containers" / cid
            folder.mkdir(parents=True)
            container.cleanup.append(lambda: remove_tree(folder))
            run_dir = self._sockets / cid
            run_dir.mkdir(mode=0o700)
            container.cleanup.append(lambda: remove_tree(run_dir))
            plan = make_plan(spec, image_root, hostname=cid)
            container.stop_signal = plan.stop_signal
            # the agent's sockets, listening before it starts, in a folder the container never sees
            handed = [_listen(run_dir / "agent.sock")]
            container.cleanup.append(lambda: [handle.close() for handle in handed])
            read_end, write_end = os.pipe()  # the agent's line to this process: closes when it dies
            handed.append(_Fd(read_end))
            container.cleanup.append(lambda: os.close(write_end))
            if iso.bwrap:
                root = image_root if iso.overlay else copy_rootfs(image_root, folder / "rootfs")
                view = launching.host_view(root, standin)
                etc = folder / "etc"
                etc.mkdir()
                (etc / "hostname").write_text(cid + "\n")
                (etc / "hosts").write_text(f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                           f"127.0.0.1\t{cid}\n")
                relay_fds = {}
                for port, host_port in container.ports.items():
                    handed.append(_listen(run_dir / f"p{port}.sock"))
                    relay_fds[port] = handed[-1].fileno()
                    relay = Relay(container.address, host_port, run_dir / f"p{port}.sock",
                                  bound=container.reserved.pop(port, None), port=port)
                    container.cleanup.append(relay.close)
                how = launching.bwrap_launch(iso, plan, view, lower=image_root if iso.overlay else None, etc_dir=etc,
                                             hostname=cid, control_fd=handed[0].fileno(), relay_fds=relay_fds,
                                             standin=standin, parent_fd=read_end)
            else:
                _free_reserved(container)  # the app binds them itself (the sitecustomize maps its binds)
                root = copy_rootfs(image_root, folder / "rootfs")
                container.plain_root = root
                how = launching.plain_launch(plan, root, address=container.address, ports=container.ports,
                                             standin=standin, control_fd=handed[0].fileno(), parent_fd=read_end)
            container.run_dir = run_dir
            if container.stop_reason is not None:
                raise CannotStart(container.stop_reason)
            container.process = self._spawner.call(lambda: subprocess.Popen(
                how.argv, env=how.env, cwd=how.cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, pass_fds=how.pass_fds, start_new_session=True))
            for handle in handed:  # the agent has them now; this process only connects by path
                handle.close()
        except CannotStart as exc:
            self._finish(container, None, str(exc))
            return
        except Exception as exc:  # a failure of the runtime itself: the container cannot start
            traceback.print_exc(file=sys.stderr)  # the cloud's log says where
            self._finish(container, None, f"cannot start the container: {exc}")
            return
        container.pid = container.process.pid
        container.started_at = self.clock()
        readers = [threading.Thread(target=self._read, args=(container, stream, name), daemon=True,
                                    name=f"log-{name}-{spec.name}")
                   for stream, name in ((container.process.stdout, "stdout"), (container.process.stderr, "stderr"))]
        for reader in readers:
            reader.start()
        threading.Thread(target=self._wait, args=(container, readers), daemon=True, name=f"wait-{spec.name}").start()
        # "running" once the agent has started the command and answers (exec and stop need it)
        deadline = time.monotonic() + AGENT_START_S
        while container.process.poll() is None and time.monotonic() < deadline \
                and not agent_call(run_dir, {"op": "ping"}, AGENT_START_S):
            time.sleep(0.01)
        with self._lock:
            if not container.exited.is_set():
                container.state = "running"
        container.launched.set()

    def _read(self, container: Container, stream, name: str) -> None:
        on_log = container.spec.on_log
        for raw in iter(lambda: stream.readline(LINE_LIMIT), b""):
            if on_log is None:
                continue
            try:
                on_log(container, name, container.now_ms(), raw.decode("utf-8", "replace").rstrip("\r\n"))
            except Exception:  # a service's callback must not stop the logs
                pass
        stream.close()

    def _wait(self, container: Container, readers: list[threading.Thread]) -> None:
        code = container.process.wait()
        for reader in readers:
            reader.join(5)
        self._finish(container, 128 - code if code < 0 else code, container.stop_reason or "exited")

    def _kill(self, container: Container) -> None:
        process = container.process
        if process is None or process.poll() is not None:
            return
        if container.plain_root is not None and container.run_dir is not None:
            agent_call(container.run_dir, {"op": "kill"}, 2)  # the command's own process group too
        try:
            os.killpg(process.pid, signal.SIGKILL)  # bubblewrap takes its namespace down with it
        except OSError:
            pass

    def _finish(self, container: Container, code: int | None, reason: str) -> None:
        with self._lock:
            if container.exited.is_set():
                return
            container.state = "exited"
            container.exit_code = code
            container.reason = reason
            container.finished_at = self.clock()
            self._addresses.release(container.address)
        _free_reserved(container)
        for step in reversed(container.cleanup):
            try:
                step()
            except OSError:
                pass
        container.launched.set()
        container.exited.set()
        if container.spec.on_exit is not None:
            try:
                container.spec.on_exit(container, code, reason)
            except Exception:
                pass


def _free_reserved(container: Container) -> None:
    """Close the port reservations no relay took (a plain process, or a start that failed)."""
    reserved = getattr(container, "reserved", None) or {}
    while reserved:
        _, sock = reserved.popitem()
        sock.close()
