"""Byte relays between the sandbox's loopback and its one cloud (standard library only: inside the
sandbox it runs as `python -I -S relay.py inside PORT SOCKET -- KERNEL ARGV...`).

inside:  listens on 127.0.0.1:PORT in the sandbox's network namespace, forwards each connection to
         the unix SOCKET (bound in from outside), then becomes the kernel (exec). The relay lives
         on as the kernel's child and ends with the sandbox.
outside: `serve_outside(SOCKET, PORT)` (a thread in the grader's worker) accepts on SOCKET and
         forwards to 127.0.0.1:PORT, the submission's cloud, and to nothing else.
"""
from __future__ import annotations

import os
import socket
import sys
import threading

CHUNK = 1 << 16


def _pump(src: socket.socket, dst: socket.socket) -> None:
    # The same pump as labkit/cloud/runtime/agent.py's: this file runs by path inside a sandbox,
    # with no package to import from, so it keeps its own copy.
    try:
        while True:
            data = src.recv(CHUNK)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


def _join(a: socket.socket, connect) -> None:
    try:
        b = connect()
    except OSError:
        a.close()
        return
    back = threading.Thread(target=_pump, args=(b, a), daemon=True)
    back.start()
    _pump(a, b)
    back.join()
    a.close()
    b.close()


def _serve(listener: socket.socket, connect) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_join, args=(conn, connect), daemon=True).start()


def _connect_unix(path: str):
    def connect():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        return s
    return connect


def _connect_tcp(port: int):
    def connect():
        return socket.create_connection(("127.0.0.1", port))
    return connect


def serve_outside(socket_path: str, port: int) -> socket.socket:
    """Start forwarding SOCKET -> 127.0.0.1:PORT in a daemon thread; close the returned listener
    to stop."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    os.chmod(socket_path, 0o600)
    listener.listen(64)
    threading.Thread(target=_serve, args=(listener, _connect_tcp(port)), daemon=True,
                     name=f"cloud-relay-{port}").start()
    return listener


def inside(port: int, socket_path: str, argv: list[str]) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    if os.fork() == 0:  # the relay: serves until the sandbox ends
        os.setsid()  # not in the kernel's process group: an interrupt of the kernel is not for it
        _serve(listener, _connect_unix(socket_path))
        os._exit(0)
    listener.close()
    os.execv(argv[0], argv)


if __name__ == "__main__":
    if len(sys.argv) < 5 or sys.argv[1] != "inside" or "--" not in sys.argv:
        sys.exit("usage: relay.py inside PORT SOCKET -- ARGV...")
    split = sys.argv.index("--")
    inside(int(sys.argv[2]), sys.argv[3], sys.argv[split + 1:])
