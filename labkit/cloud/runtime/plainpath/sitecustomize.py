"""Imported at start-up by every Python of a container run as a plain process (no network
namespace of its own; the folder is on the container's PYTHONPATH). It gives the container the
network view an app expects: binding 0.0.0.0:PORT (or 127.0.0.1 / localhost / "") binds the
container's own address and host port instead, and connecting to 127.0.0.1:PORT of a published
port reaches it, so two containers whose apps both bind 0.0.0.0:8080 do not collide and the
app's code is unchanged. LABKIT_CONTAINER_NET = "ADDRESS PORT=HOSTPORT,PORT=HOSTPORT...".
"""
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

    socket.socket.bind = lambda self, where: bind(self, mapped(self, where, True))
    socket.socket.connect = lambda self, where: connect(self, mapped(self, where, False))
    socket.socket.connect_ex = lambda self, where: connect_ex(self, mapped(self, where, False))


if os.environ.get("LABKIT_CONTAINER_NET"):
    _install(os.environ["LABKIT_CONTAINER_NET"])
