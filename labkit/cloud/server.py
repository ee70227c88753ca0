"""Entry point of the local-cloud process: `python -m labkit.cloud.server --port 4566 --home DIR`.

Binds 127.0.0.1 only. Moto is imported in a background thread after the socket is bound, so
the first ECR call (served by this project's own ECR layer) never waits for moto's import.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from labkit.cloud.gateway import Gateway
from labkit.config import HOST


HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # what a gRPC client sends first (RFC 9113 3.4)


class CloudRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, plus gRPC on the same port: a connection that opens with the HTTP/2
    preface goes to the Google APIs' gRPC server (labkit/cloud/gcp/grpc_server.py), any other is
    HTTP/1.1 as before (its cost: one MSG_PEEK of the bytes it would read anyway)."""

    def handle(self):
        if opens_with_http2(self.connection):
            from labkit.cloud.gcp.grpc_server import relay

            relay(self.server.app.state, self.connection)
            return
        super().handle()


def opens_with_http2(conn: socket.socket) -> bool:
    try:
        start = conn.recv(len(HTTP2_PREFACE), socket.MSG_PEEK)
        if start and len(start) < len(HTTP2_PREFACE) and HTTP2_PREFACE.startswith(start):
            start = conn.recv(len(HTTP2_PREFACE), socket.MSG_PEEK | socket.MSG_WAITALL)  # the rest is on its way
    except OSError:
        return False
    return start == HTTP2_PREFACE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit-cloud")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--home", required=True)
    args = parser.parse_args(argv)

    gateway = Gateway(home=args.home, control_token=os.environ.pop("LABKIT_CONTROL_TOKEN", ""))
    server = make_server(HOST, args.port, gateway, threaded=True, request_handler=CloudRequestHandler)
    if os.environ.get("LABKIT_CLOUD_WARM_UP", "1") != "0":  # the grader's clouds load moto only if asked
        threading.Thread(target=gateway.warm_up, name="moto-import", daemon=True).start()

    def _leave() -> None:
        gateway.state.stop_containers(timeout=2.0)  # within the 5 s `labkit down` waits before SIGKILL
        server.shutdown()

    def _stop(signum, frame):  # SIGTERM from `labkit down` / the grader: leave cleanly
        threading.Thread(target=_leave, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"labkit local cloud listening on http://{HOST}:{args.port} (pid {os.getpid()})", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
