"""Imported at start-up by every Python of a container run as a plain process (no network
namespace of its own; the folder is on the container's PYTHONPATH). It gives the container the
network view an app expects: binding 0.0.0.0:PORT (or 127.0.0.1 / localhost / "") binds the
container's own address and host port instead, and connecting to 127.0.0.1:PORT reaches the
container's own app (a published port through its mapping, any other on the container's address
first, then the machine's loopback), so two containers whose apps both bind 0.0.0.0:8080 do not collide and the
app's code is unchanged. LABKIT_CONTAINER_NET = "ADDRESS PORT=HOSTPORT,PORT=HOSTPORT...".
"""
import errno
import os
import socket

_OWN = ("", "0.0.0.0", "127.0.0.1", "localhost")


def _install(value: str) -> None:
    address, _, mapping = value.partition(" ")
    ports = {}
    for item in mapping.split(","):
        inner, sep, outer = item.partition("=")
        if sep and inner.isdigit() and outer.isdigit():
            ports[int(inner)] = int(outer)
    bind, connect, connect_ex = socket.socket.bind, socket.socket.connect, socket.socket.connect_ex

    def mapped(sock, where, any_port):
        if sock.family == socket.AF_INET and isinstance(where, tuple) and len(where) == 2 and where[0] in _OWN:
            if any_port or where[1] in ports:
                return (address, ports.get(where[1], where[1]))
        return where

    def own_first(sock, where):
        """A port the task did not publish: the container's own address first (its app bound there),
        then the machine's loopback (the cloud's services), as a container's own loopback would."""
        target = mapped(sock, where, False)
        if target is where and address != "127.0.0.1" and sock.family == socket.AF_INET \
                and isinstance(where, tuple) and len(where) == 2 and where[0] in _OWN:
            return (address, where[1])
        return None

    def connect_own(self, where):
        first = own_first(self, where)
        if first is not None:
            try:
                return connect(self, first)
            except ConnectionRefusedError:
                pass
        return connect(self, mapped(self, where, False))

    def connect_ex_own(self, where):
        first = own_first(self, where)
        if first is not None:
            code = connect_ex(self, first)
            if code != errno.ECONNREFUSED:
                return code
        return connect_ex(self, mapped(self, where, False))

    socket.socket.bind = lambda self, where: bind(self, mapped(self, where, True))
    socket.socket.connect = connect_own
    socket.socket.connect_ex = connect_ex_own


if os.environ.get("LABKIT_CONTAINER_NET"):
    _install(os.environ["LABKIT_CONTAINER_NET"])
