"""Entry point of the local-cloud process: `python -m labkit.cloud.server --port 4566 --home DIR`.

Binds 127.0.0.1 only. Moto is imported in a background thread after the socket is bound, so
the first ECR call (served by this project's own ECR layer) never waits for moto's import.
"""
from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import sys
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from labkit.cloud import owner
from labkit.cloud.gateway import Gateway
from labkit.cloud.ingress_server import first_request_is_ours, serve_connection
from labkit.config import HOST


HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # what a gRPC client sends first (RFC 9113 3.4)


PEEK = 8 * 1024  # enough for the first request's head of any ordinary client


class CloudRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, plus two ways it steps aside, decided by one MSG_PEEK of the bytes it would
    read anyway: a connection that opens with the HTTP/2 preface goes to the Google APIs' gRPC server
    (labkit/cloud/gcp/grpc_server.py); one whose first request is for a service URL to the ingress's
    own keep-alive server (ingress_server.py), which hands back, untouched, a request for another
    Host. Everything else is werkzeug's as before."""

    def handle(self):
        start = peek(self.connection)
        if start[:len(HTTP2_PREFACE)] == HTTP2_PREFACE:
            from labkit.cloud.gcp.grpc_server import relay

            relay(self.server.app.state, self.connection)
            return
        ingress = self.server.app.state.ingress
        if start and first_request_is_ours(ingress, start):
            rest = serve_connection(ingress, self.connection, self.client_address)
            if rest is None:
                self.close_connection = True
                return
            self.rfile = io.BufferedReader(_Prefixed(rest, self.connection))
        super().handle()


class _Prefixed(io.RawIOBase):
    """A socket's stream with bytes already read put back in front (for werkzeug's rfile)."""

    def __init__(self, prefix: bytes, sock: socket.socket):
        self._prefix, self._sock = memoryview(prefix), sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        return self._sock.recv_into(buffer)


def peek(conn: socket.socket) -> bytes:
    """The first bytes of a connection, left for whoever reads it (b"" when it ended or failed)."""
    try:
        start = conn.recv(PEEK, socket.MSG_PEEK)
        if start and len(start) < len(HTTP2_PREFACE) and HTTP2_PREFACE.startswith(start):
            start = conn.recv(len(HTTP2_PREFACE), socket.MSG_PEEK | socket.MSG_WAITALL)  # the rest is on its way
    except OSError:
        return b""
    return start


def opens_with_http2(conn: socket.socket) -> bool:
    return peek(conn)[:len(HTTP2_PREFACE)] == HTTP2_PREFACE


def make_cloud_server(host: str, port: int, gateway: Gateway, handler=None):
    """The cloud's HTTP server (threaded werkzeug with CloudRequestHandler or a subclass), on host:port."""
    return make_server(host, port, gateway, threaded=True, request_handler=handler or CloudRequestHandler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit-cloud")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--home", required=True)
    args = parser.parse_args(argv)

    from labkit.cloud import botocore_loader

    botocore_loader.share()  # moto's many Sessions parse botocore's JSON once (botocore_loader.py)
    gateway = Gateway(home=args.home, control_token=os.environ.pop("LABKIT_CONTROL_TOKEN", ""))
    server = make_cloud_server(HOST, args.port, gateway)
    if os.environ.get("LABKIT_CLOUD_WARM_UP", "1") != "0":  # the grader's clouds load moto only if asked
        threading.Thread(target=gateway.warm_up, name="moto-import", daemon=True).start()

    def _leave() -> None:
        gateway.state.stop_containers(timeout=2.0)  # within the 5 s `labkit down` waits before SIGKILL
        server.shutdown()

    def _stop(signum, frame):  # SIGTERM from `labkit down` / the grader: leave cleanly
        threading.Thread(target=_leave, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    owner.watch_from_environment(_leave)  # a test run's or a grader's cloud ends with it, even when killed
    print(f"labkit local cloud listening on http://{HOST}:{args.port} (pid {os.getpid()})", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
