"""gRPC for the Google APIs, on the cloud's own port.

The cloud's HTTP server (labkit/cloud/server.py) peeks at each new connection; one that opens
with the HTTP/2 preface is handed to `relay`, which pumps its bytes to a grpcio server listening on
a unix socket in the cloud's home (made on the first such connection). That server dispatches every
method of every GoogleService (hosting.SERVICES) generically: the request parsed into the client
library's message class, the handler's answer serialized back, a GcpError sent as a gRPC status
with google.rpc.Status details (the `grpc-status-details-bin` trailer google-api-core reads).
"""
from __future__ import annotations

import atexit
import os
import socket
import tempfile
import threading
import weakref
from concurrent import futures
from pathlib import Path

import grpc
from google.protobuf import any_pb2
from google.rpc import status_pb2
from grpc_status import rpc_status

from labkit.cloud.gcp import errors, hosting

SOCKET_NAME = "gcp-grpc.sock"
WORKERS = 16  # concurrent calls (WaitOperation holds one while it waits)

_servers: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # CloudState -> (server, socket path)
_servers_lock = threading.Lock()


def relay(state, conn: socket.socket) -> None:
    """Pump a client's HTTP/2 connection to this cloud's gRPC server until either side ends."""
    from labkit.cloud.runtime.agent import pump

    path = socket_path(state)
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(path)
    except OSError:
        upstream.close()
        return
    back = threading.Thread(target=pump, args=(upstream, conn), name="grpc-relay", daemon=True)
    back.start()
    pump(conn, upstream)
    back.join()
    upstream.close()


def socket_path(state) -> str:
    """The unix socket of this cloud's gRPC server, started on first use."""
    with _servers_lock:
        if state not in _servers:
            _servers[state] = _start(state)
        return _servers[state][1]


def _start(state):
    folder = Path(state.home) if state.home else Path(tempfile.mkdtemp(prefix="labkit-gcp-"))
    folder.mkdir(parents=True, exist_ok=True)  # `python -m labkit.cloud.server --home NEW` makes no folder
    path = str(folder / SOCKET_NAME)
    if len(path.encode()) > 100:  # sun_path holds 108 bytes: a deep home gets a short private folder
        path = str(Path(tempfile.mkdtemp(prefix="labkit-gcp-")) / SOCKET_NAME)
    if os.path.exists(path):
        os.unlink(path)  # left by a cloud that was killed
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="grpc"),
                         handlers=[_Dispatch(state)])
    server.add_insecure_port(f"unix:{path}")
    server.start()
    os.chmod(path, 0o600)  # only the cloud's user: others reach it through the port, as everyone does
    atexit.register(server.stop, 0)
    return server, path


class _Dispatch(grpc.GenericRpcHandler):
    def __init__(self, state):
        self.state = state
        self.by_path: dict[str, hosting.Method] = {}
        for service in hosting.services():
            for method in service.methods.values():
                known = self.by_path.get(method.path)
                if known is None or (known.handler is None and method.handler is not None):
                    self.by_path[method.path] = method

    def service(self, handler_call_details):
        method = self.by_path.get(handler_call_details.method)
        if method is None:
            return None  # grpc answers UNIMPLEMENTED "Method not found!"
        return grpc.unary_unary_rpc_method_handler(
            lambda request, context: self._invoke(method, request, context),
            request_deserializer=lambda data: parse(method.request_type, data),
            response_serializer=serialize)

    def _invoke(self, method, request, context):
        try:
            return hosting.call(self.state, method, request)
        except errors.GcpError as exc:
            context.abort_with_status(rpc_status.to_status(status_of(exc)))
        except Exception as exc:  # our bug
            context.abort_with_status(rpc_status.to_status(status_of(hosting.internal_error(exc))))


def parse(message_type: type, data: bytes):
    return hosting.wrap(message_type, hosting.pb_class(message_type).FromString(data))


def serialize(message) -> bytes:
    if message is None:
        return b""  # google.protobuf.Empty
    return hosting.to_pb(message).SerializeToString()


def status_of(error: errors.GcpError) -> status_pb2.Status:
    status = status_pb2.Status(code=error.code.value[0], message=error.message)
    for detail in error.details:
        packed = any_pb2.Any()
        packed.Pack(hosting.to_pb(detail))
        status.details.append(packed)
    return status
