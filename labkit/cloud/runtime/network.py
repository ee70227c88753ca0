"""Where a container's ports are reachable from the host, and the relay that gets them there.

Each container gets a loopback address of its own, 127.0.1.N (Linux routes all of 127/8 to the
loopback), so two containers both publishing 8080 are both reachable on 8080. Where 127.0.1.N
cannot be bound (macOS has only 127.0.0.1), a container gets 127.0.0.1 and free host ports.

With a network namespace of its own (bubblewrap), a published port is a listener outside on
ADDRESS:PORT that forwards each connection over the unix socket RUN/pPORT.sock (in a folder of
the cloud's; the agent got it already listening) to the agent inside, which connects to
127.0.0.1:PORT in the container's network (agent.py).
"""
from __future__ import annotations

import functools
import random
import socket
import threading
from pathlib import Path

from labkit.cloud.runtime.agent import pump  # the agent runs by path in a container; its pump is shared

PREFIX = "127.0.1."
FALLBACK = "127.0.0.1"


@functools.lru_cache(maxsize=1)
def own_addresses() -> bool:
    """Can this machine bind 127.0.1.N? (Linux: yes; macOS: only with an alias per address.)"""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((PREFIX + "254", 0))
        return True
    except OSError:
        return False


def _reserve(address: str, port: int) -> socket.socket | None:
    """A socket listening on address:port, or None where another process has it. Listening at once:
    with SO_REUSEADDR, Linux lets a second socket bind the same address while neither listens."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
        sock.listen(64)
        return sock
    except OSError:
        sock.close()
        return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((FALLBACK, 0))
        return s.getsockname()[1]


class Addresses:
    """Hands out container addresses; one process-wide lock, released when a container ends."""

    def __init__(self):
        self._lock = threading.Lock()
        self._used: set[str] = set()
        # Each cloud process starts at its own place: clouds side by side (a lab's beside the lessons', a
        # grader's workers, parallel tests) then rarely try the same address. The reservation below is what
        # makes a clash safe; a plain-process app frees it and binds the port itself, a short window in which
        # another cloud could take that address.
        self._next = random.randrange(1, 255)

    def allocate(self, ports: list[int]) -> tuple[str, dict[int, int], dict[int, socket.socket]]:
        """(address, {container port: host port}, {container port: a socket listening there}): the ports
        are taken at once, so another cloud on this machine (a lab's beside the lessons', a grader's
        workers) cannot take them between this choice and the relay's listening."""
        with self._lock:
            if own_addresses():
                for _ in range(254):
                    n, self._next = self._next, self._next % 254 + 1
                    address = PREFIX + str(n)
                    if address in self._used:
                        continue
                    reserved = {}
                    for port in ports:
                        sock = _reserve(address, port)
                        if sock is None:
                            break
                        reserved[port] = sock
                    if len(reserved) == len(ports):
                        self._used.add(address)
                        return address, {p: p for p in ports}, reserved
                    for sock in reserved.values():
                        sock.close()
                raise OSError("no free container address left (127.0.1.1-254)")
            host_ports = {p: _free_port() for p in ports}
            return FALLBACK, host_ports, {}

    def release(self, address: str) -> None:
        with self._lock:
            self._used.discard(address)


def _join(conn: socket.socket, socket_path: str) -> None:
    inner = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        inner.connect(socket_path)
    except OSError:  # the agent is not listening yet, or the container is gone
        inner.close()
        conn.close()
        return
    back = threading.Thread(target=pump, args=(inner, conn), daemon=True)
    back.start()
    pump(conn, inner)
    back.join()
    conn.close()
    inner.close()


class Relay:
    """ADDRESS:HOST_PORT on the host -> the unix socket of one published port of one container."""

    def __init__(self, address: str, host_port: int, socket_path: Path, bound: socket.socket | None = None):
        self.socket_path = str(socket_path)
        if bound is None:
            bound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            bound.bind((address, host_port))
        self.listener = bound
        self.listener.listen(64)
        threading.Thread(target=self._serve, daemon=True, name=f"relay-{address}:{host_port}").start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=_join, args=(conn, self.socket_path), daemon=True).start()

    def close(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
