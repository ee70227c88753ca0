"""Where a container's ports are reachable from the host, and the relay that gets them there.

Each container gets a loopback address of its own, 127.0.1.N (Linux routes all of 127/8 to the
loopback), so two containers both publishing 8080 are both reachable on 8080. Where 127.0.1.N
cannot be bound (macOS has only 127.0.0.1), a container gets 127.0.0.1 and free host ports.

With a network namespace of its own (bubblewrap), a published port is a listener outside on
ADDRESS:PORT. For each connection to it the relay connects to 127.0.0.1:PORT in the container's
network with a socket made there: the agent hands them over, unconnected, a batch at a time, over
the unix socket RUN/pPORT.sock (in a folder of the cloud's; the agent got it already listening;
SCM_RIGHTS, agent.py), and the relay copies bytes between the two. The ingress skips even the
relay: `connect(address, port)` takes such a socket and connects it, so a service URL's request
costs the container no copy and no work of the agent's, and the cloud one system call to connect
(the agent's exchange, once per SPARES connections: the lesson's Flask closes each one).
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
CONNECT_S = 5.0     # a connect to a container's app waits this long at most (its backlog full)
MAX_SPARES = 64     # sockets taken from one agent exchange at most (agent.py SPARES hands 32)
_relays: dict[tuple[str, int], "Relay"] = {}  # (address, host port) -> its relay, for connect()
_relays_lock = threading.Lock()


def connect(address: str, port: int, timeout: float) -> socket.socket:
    """A connection to ADDRESS:PORT: a container's published port straight from its agent (no relay
    in between), anything else by TCP."""
    with _relays_lock:
        relay = _relays.get((address, port))
    if relay is not None:
        return relay.open(timeout)
    return socket.create_connection((address, port), timeout=timeout)


def _received_sockets(fds: list[int]) -> list[socket.socket]:
    """The TCP sockets the agent handed over; anything else is closed and refused."""
    if not fds:
        raise ConnectionRefusedError("the container's agent handed over no socket")
    taken, refused = [], False
    for fd in fds:
        sock = socket.socket(fileno=fd)
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
            sock.close()
            refused = True
        else:
            taken.append(sock)
    if refused:
        for sock in taken:
            sock.close()
        raise ConnectionRefusedError("the container's agent handed over something other than a TCP socket")
    return taken


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


def _join(conn: socket.socket, relay: "Relay") -> None:
    try:
        app = relay.open(timeout=5.0)
    except OSError:  # the agent is not listening yet, nothing listens on the port, or the container is gone
        conn.close()
        return
    app.settimeout(None)
    back = threading.Thread(target=pump, args=(app, conn), daemon=True)
    back.start()
    pump(conn, app)
    back.join()
    conn.close()
    app.close()


class Relay:
    """ADDRESS:HOST_PORT on the host -> one published port of one container (through its agent)."""

    def __init__(self, address: str, host_port: int, socket_path: Path, bound: socket.socket | None = None,
                 port: int | None = None):
        self.socket_path = str(socket_path)
        self.key = (address, host_port)
        self.port = host_port if port is None else port  # the app's port inside the container
        self._spares: list[socket.socket] = []  # unconnected sockets of the container's network (agent.py)
        self._spares_lock = threading.Lock()
        self._closed = False
        if bound is None:
            bound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            bound.bind((address, host_port))
        self.listener = bound
        self.listener.listen(64)
        with _relays_lock:
            _relays[self.key] = self
        threading.Thread(target=self._serve, daemon=True, name=f"relay-{address}:{host_port}").start()

    def open(self, timeout: float) -> socket.socket:
        """A new connection to the app's port inside the container (ConnectionRefusedError when nothing
        listens there), on a socket of the container's network. Its connect waits CONNECT_S at most
        (a full backlog), as the agent's own connect used to."""
        sock = self._spare(timeout)
        try:
            sock.settimeout(min(timeout, CONNECT_S))
            sock.connect(("127.0.0.1", self.port))
        except BaseException:
            sock.close()
            raise
        sock.settimeout(timeout)
        return sock

    def _spare(self, timeout: float) -> socket.socket:
        with self._spares_lock:
            if not self._spares:
                if self._closed:
                    raise ConnectionRefusedError("the container is gone")
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as inner:
                    inner.settimeout(timeout)
                    inner.connect(self.socket_path)
                    _, fds, _, _ = socket.recv_fds(inner, 1, MAX_SPARES)
                self._spares = _received_sockets(fds)
            return self._spares.pop()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=_join, args=(conn, self), daemon=True).start()

    def close(self) -> None:
        with _relays_lock:
            if _relays.get(self.key) is self:
                del _relays[self.key]
        with self._spares_lock:
            self._closed = True
            spares, self._spares = self._spares, []
        for sock in spares:
            sock.close()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
