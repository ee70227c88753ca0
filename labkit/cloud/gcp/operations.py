"""Long-running operations (google.longrunning), stored per cloud and served for every API:
GetOperation, ListOperations, WaitOperation, DeleteOperation, CancelOperation (gRPC
google.longrunning.Operations, and each API's REST paths: /v2/{name=projects/*/locations/*/operations/*}).

    op = operations.start(state, "projects/P/locations/L", metadata=service_message)
    ...                                  # the API returns `op` (the hosting sends op.proto())
    op.finish(response_message)          # later (any thread): done, with the response
    op.fail(errors.FailedPrecondition("..."))

Names are PARENT/operations/UUID, as Cloud Run's and Artifact Registry's are. Every API shares
one store, but each lists its own: over REST, `/gcp/run/.../operations` lists the operations whose
metadata is Cloud Run's (as run.googleapis.com would); gRPC has one channel for every API here, so
its ListOperations lists them all (docs/fidelity.md, GCP wire).
"""
from __future__ import annotations

import contextlib
import contextvars
import threading
import time

from google.longrunning import operations_pb2
from google.protobuf import any_pb2
from google.rpc import status_pb2

from labkit.cloud.gcp import errors
from labkit.cloud.gcp.hosting import to_pb
from labkit.cloud.gcp.paging import page

WAIT_LIMIT = 60.0  # seconds a WaitOperation without a timeout waits (the client retries after)
# the package of an operation's metadata -> the API (REST prefix) it belongs to
API_OF_PACKAGE = {"google.cloud.run.": "run", "google.devtools.artifactregistry.": "artifactregistry"}
_asking_api: contextvars.ContextVar[str | None] = contextvars.ContextVar("labkit_gcp_api", default=None)


@contextlib.contextmanager
def asked_through(api: str):
    """The request being answered came through this API's REST prefix (rest.py)."""
    token = _asking_api.set(api)
    try:
        yield
    finally:
        _asking_api.reset(token)


def api_of(op: "Op") -> str | None:
    type_name = op.metadata.type_url.rpartition("/")[2] if op.metadata is not None else ""
    return next((api for package, api in API_OF_PACKAGE.items() if type_name.startswith(package)), None)


class Op:
    def __init__(self, store: "Operations", name: str, metadata=None):
        self._store = store
        self.name = name
        self.done = False
        self.metadata = _any(metadata)
        self.response: any_pb2.Any | None = None
        self.error: status_pb2.Status | None = None

    def finish(self, response=None) -> "Op":
        """Done with `response` (a proto-plus or protobuf message; None: google.protobuf.Empty)."""
        from google.protobuf import empty_pb2

        with self._store.changed:
            self.response = _any(response if response is not None else empty_pb2.Empty())
            self.done = True
            self._store.changed.notify_all()
        return self

    def fail(self, error: errors.GcpError) -> "Op":
        from labkit.cloud.gcp.grpc_server import status_of

        with self._store.changed:
            self.error = status_of(error)
            self.done = True
            self._store.changed.notify_all()
        return self

    def set_metadata(self, metadata) -> None:
        with self._store.changed:
            self.metadata = _any(metadata)

    def proto(self) -> operations_pb2.Operation:
        with self._store.changed:
            op = operations_pb2.Operation(name=self.name, done=self.done)
            if self.metadata is not None:
                op.metadata.CopyFrom(self.metadata)
            if self.error is not None:
                op.error.CopyFrom(self.error)
            elif self.response is not None:
                op.response.CopyFrom(self.response)
            return op


class Operations:
    def __init__(self, state):
        self.state = state
        self.changed = threading.Condition(state.lock)  # the cloud's lock: handlers already hold it
        self.ops: dict[str, Op] = {}

    def get(self, name: str) -> Op:
        op = self.ops.get(name)
        if op is None:
            raise errors.NotFound(f"Operation {name} not found.")  # assumed wording
        return op


def store(state) -> Operations:
    return state.service("gcp-operations", Operations)


def start(state, parent: str, metadata=None) -> Op:
    """A new operation under `parent` (projects/P/locations/L), not done."""
    operations = store(state)
    with operations.changed:
        op = Op(operations, f"{parent}/operations/{state.ids()}", metadata)
        operations.ops[op.name] = op
        return op


def _any(message) -> any_pb2.Any | None:
    if message is None:
        return None
    packed = any_pb2.Any()
    packed.Pack(to_pb(message))
    return packed


# -- the google.longrunning.Operations methods, for every API ----------------------------------------
def get_operation(state, request):
    return store(state).get(request.name).proto()


def list_operations(state, request):
    parent = request.name
    api = _asking_api.get()
    ops = sorted((op for name, op in store(state).ops.items() if name.startswith(parent + "/operations/")
                  and (api is None or api_of(op) in (api, None))), key=lambda op: op.name)
    if request.filter == "done=true":
        ops = [op for op in ops if op.done]
    elif request.filter == "done=false":
        ops = [op for op in ops if not op.done]
    items, token = page(ops, request.page_size, request.page_token)
    return operations_pb2.ListOperationsResponse(operations=[op.proto() for op in items], next_page_token=token)


def delete_operation(state, request):
    operations = store(state)
    operations.get(request.name)
    del operations.ops[request.name]
    return None


def cancel_operation(state, request):
    op = store(state).get(request.name)
    if not op.done:
        op.fail(errors.GcpError("Operation was cancelled."))  # google.rpc.Code CANCELLED
        op.error.code = 1
    return None


def wait_operation(state, request):
    """Waits (without the cloud's lock) until the operation is done or the timeout passes."""
    operations = store(state)
    timeout = WAIT_LIMIT
    if request.HasField("timeout"):
        timeout = min(request.timeout.seconds + request.timeout.nanos / 1e9, WAIT_LIMIT)
    deadline = time.monotonic() + timeout
    with operations.changed:
        op = operations.get(request.name)
        while not op.done and (left := deadline - time.monotonic()) > 0:
            operations.changed.wait(left)
        return op.proto()


HANDLERS = {
    "GetOperation": get_operation,
    "ListOperations": list_operations,
    "DeleteOperation": delete_operation,
    "CancelOperation": cancel_operation,
    "WaitOperation": (wait_operation, False),
}
