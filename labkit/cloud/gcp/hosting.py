"""One Google API service of the local cloud, served over gRPC and REST from one set of handlers.

    service = GoogleService("artifactregistry", artifactregistry_v1.ArtifactRegistryClient)

    @service.method("CreateRepository")
    def create_repository(state, request):   # request: the client library's proto-plus message
        ...
        return operation                       # a proto-plus / protobuf message, or an operations.Op

Everything about the wire comes from the client library itself, never from hand-written protos:
- the methods, their gRPC paths and message classes: the library's gRPC transport, built on a channel
  that only records the stubs it makes (`_methods_of`);
- the REST routes: the `http_options` of its REST transport base (`_rules_of`), so the paths are
  Google's (`/v1/{parent=projects/*/locations/*}/repositories`), served under `/gcp/<api>/`.
Handlers run under `state.lock` (unless registered with lock=False) and raise errors.GcpError.
A method of the proto service without a handler answers UNIMPLEMENTED / 501, saying so. Methods
of google.longrunning.Operations come from operations.py for every API (MIXINS).

Services are listed once, in SERVICES (adding an API: its folder and one line there).
"""
from __future__ import annotations

import importlib
import sys
import threading
import traceback
from dataclasses import dataclass, field

import grpc

from labkit.cloud.gcp import errors

# "module:attribute" of every GoogleService of the local cloud (imported on the first GCP request)
SERVICES = [
    "labkit.cloud.gcp.artifactregistry.api:service",
    "labkit.cloud.gcp.run.api:services",
    "labkit.cloud.gcp.run.api:revisions",
]
# proto services whose methods every API shares; their handlers live in one module each
MIXINS = {
    "google.longrunning.Operations": "labkit.cloud.gcp.operations:HANDLERS",
    "google.cloud.location.Locations": "labkit.cloud.gcp.locations:HANDLERS",
}


@dataclass
class Method:
    name: str                    # "CreateRepository"
    path: str                    # "/google.devtools.artifactregistry.v1.ArtifactRegistry/CreateRepository"
    request_type: type           # proto-plus class (the API's own) or protobuf class (mixins)
    response_type: type | None   # None: google.protobuf.Empty
    rules: list = field(default_factory=list)  # [(verb, uri template, body)] from the REST transport
    handler: object = None
    lock: bool = True

    @property
    def proto_service(self) -> str:
        return self.path.split("/")[1]

    @property
    def full_name(self) -> str:
        return f"{self.proto_service}.{self.name}"


class GoogleService:
    def __init__(self, api: str, client: type):
        """api: the REST prefix (/gcp/<api>/) and gcloud's name for it (api_endpoint_overrides/<api>);
        client: the library's client class (run_v2.ServicesClient)."""
        self.api = api
        self.client = client
        self.methods: dict[str, Method] = _methods_of(client.get_transport_class("grpc"))
        for name, rules in _rules_of(client.get_transport_class("rest")).items():
            if name in self.methods:
                self.methods[name].rules = rules
        own = {m.proto_service for m in self.methods.values()} - set(MIXINS)
        self.proto_service = own.pop() if len(own) == 1 else ",".join(sorted(own))

    def method(self, name: str, lock: bool = True):
        if name not in self.methods or self.methods[name].proto_service != self.proto_service:
            raise ValueError(f"{self.proto_service} has no method {name}")

        def register(fn):
            self.methods[name].handler, self.methods[name].lock = fn, lock
            return fn
        return register


def call(state, method: Method, request):
    """Run a method's handler (both protocols come here). Returns a message or None (Empty)."""
    from labkit.cloud.gcp import operations

    handler = method.handler
    if handler is None:
        handler, lock = _mixin_handler(method)
    else:
        lock = method.lock
    if handler is None:
        raise errors.Unimplemented(f"The labkit local cloud does not emulate {method.full_name} "
                                   f"(its gRPC path {method.path}).")
    if lock:
        with state.lock:  # the answer is shaped from live objects: nothing may change them meanwhile
            return _message(handler(state, request), operations.Op)
    return _message(handler(state, request), operations.Op)


def _message(response, op_class):
    return response.proto() if isinstance(response, op_class) else response


def internal_error(exc: Exception) -> errors.GcpError:
    """Our bug, said in Google's shape (and logged with its traceback on the cloud's stderr)."""
    traceback.print_exc(file=sys.stderr)
    return errors.Internal(f"labkit local cloud error: {type(exc).__name__}: {exc}")


# -- the services, loaded once ----------------------------------------------------------------------
_loaded: list[GoogleService] | None = None
_load_lock = threading.Lock()


def services() -> list[GoogleService]:
    global _loaded
    with _load_lock:
        if _loaded is None:
            found = []
            for spec in SERVICES:
                module, _, name = spec.partition(":")
                try:
                    found.append(getattr(importlib.import_module(module), name))
                except ModuleNotFoundError as exc:  # an API not written yet: the others still serve
                    if not module.startswith(exc.name or "\0"):
                        raise
                except Exception:  # one API that cannot load: the others still serve, and the log says why
                    print(f"labkit local cloud: the Google API {spec} is not served:", file=sys.stderr)
                    traceback.print_exc(file=sys.stderr)
            _loaded = found
        return _loaded


def _mixin_handler(method: Method):
    spec = MIXINS.get(method.proto_service)
    if spec is None:
        return None, True
    module, _, name = spec.partition(":")
    entry = getattr(importlib.import_module(module), name).get(method.name)
    if entry is None:
        return None, True
    return entry if isinstance(entry, tuple) else (entry, True)


# -- what the client library says about the wire ---------------------------------------------------
class _RecordingChannel(grpc.Channel):
    """A channel that makes no connection: it notes each unary stub a transport asks it for."""

    def __init__(self):
        self.stubs: dict[str, tuple] = {}

    def unary_unary(self, method, request_serializer=None, response_deserializer=None, _registered_method=False):
        self.stubs[method] = (request_serializer, response_deserializer)
        return lambda *args, **kwargs: None

    def unary_stream(self, *args, **kwargs):
        return lambda *a, **k: None

    stream_unary = stream_stream = unary_stream

    def subscribe(self, callback, try_to_connect=False):
        pass

    def unsubscribe(self, callback):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _methods_of(grpc_transport: type) -> dict[str, Method]:
    channel = _RecordingChannel()
    transport = grpc_transport(channel=channel)  # a grpc.Channel: no credentials are looked up
    transport._logged_channel = channel  # its logging interceptor makes stubs only when called
    transport._stubs.clear()
    hints: dict[str, tuple] = {}  # gRPC path -> the property's annotated (request, response) types
    for attr, value in vars(grpc_transport).items():  # every RPC property (mixins too) makes its stub
        if isinstance(value, property) and attr not in ("operations_client", "grpc_channel", "kind"):
            before = set(channel.stubs)
            try:
                getattr(transport, attr)
            except Exception:  # not an RPC property
                continue
            for path in set(channel.stubs) - before:
                hints[path] = _annotated(value.fget)
    methods = {}
    for path, (serializer, deserializer) in channel.stubs.items():
        proto_service, name = path.strip("/").split("/")
        hinted_request, hinted_response = hints.get(path, (None, None))
        request_type = _owner(serializer) or hinted_request or _from_pool(proto_service, name, "input_type")
        response_type = _owner(deserializer) or hinted_response or _from_pool(proto_service, name, "output_type")
        methods[name] = Method(name, path, request_type, response_type)
    return methods


def _annotated(fget) -> tuple:
    """`-> Callable[[RequestType], ResponseType]` of a transport's RPC property."""
    import typing

    args = typing.get_args(getattr(fget, "__annotations__", {}).get("return"))
    if len(args) != 2 or not args[0]:
        return None, None
    request, response = args[0][0], args[1]
    return (request if isinstance(request, type) else None,
            response if isinstance(response, type) and response is not type(None) else None)


def _owner(fn) -> type | None:
    """The message class of a stub's (de)serializer: proto-plus `Cls.serialize`, protobuf `Cls.FromString`."""
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, type) and (hasattr(owner, "pb") or hasattr(owner, "DESCRIPTOR")):
        return owner
    return None


def _from_pool(proto_service: str, name: str, which: str) -> type | None:
    """For stubs made with the protobuf base class's SerializeToString (mixins): the descriptor pool."""
    from google.protobuf import descriptor_pool, message_factory

    try:
        service = descriptor_pool.Default().FindServiceByName(proto_service)
    except KeyError:
        return None
    message = getattr(service.methods_by_name[name], which)
    if message.full_name == "google.protobuf.Empty":
        return None
    return message_factory.GetMessageClass(message)


def _rules_of(rest_transport: type) -> dict[str, list]:
    """Method name -> [(verb, uri, body)] from the nested `_Base<Method>` classes' _get_http_options."""
    rules = {}
    for klass in rest_transport.__mro__:
        for attr, value in vars(klass).items():
            if attr.startswith("_Base") and isinstance(value, type) and hasattr(value, "_get_http_options"):
                name = attr[len("_Base"):]
                rules.setdefault(name, [(o["method"].upper(), o["uri"], o.get("body"))
                                        for o in value._get_http_options()])
    return rules


# -- messages -------------------------------------------------------------------------------------
def pb_class(message_type: type) -> type:
    """The protobuf class behind a proto-plus class (or the class itself)."""
    return message_type.pb() if hasattr(message_type, "pb") and not hasattr(message_type, "DESCRIPTOR") else message_type


def to_pb(message):
    """The protobuf message of a proto-plus message (or the message itself)."""
    return type(message).pb(message) if hasattr(type(message), "pb") and not hasattr(message, "DESCRIPTOR") else message


def wrap(message_type: type, pb):
    """A parsed protobuf message as the handler's type (proto-plus wraps it without copying)."""
    return message_type.wrap(pb) if pb_class(message_type) is not message_type else pb
