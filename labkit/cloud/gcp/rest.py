"""REST (HTTP/1.1 + JSON) for the Google APIs: `/gcp/<api>/<Google's path>`.

A client reaches it with `client_options={"api_endpoint": "http://127.0.0.1:P/gcp/<api>"}` (GAPIC
REST transports put the endpoint, path included, before each URI), gcloud with
`api_endpoint_overrides/<api> = http://127.0.0.1:P/gcp/<api>/`. The routes are the client library's
own http_options (hosting.Method.rules), matched verb + path; a request is rebuilt the way the
transport split it (path variables, the `body` field or `*`, the rest as query parameters with
camelCase names) into the library's message class. Answers are JSON (enums as numbers when the
client asks `$alt=json;enum-encoding=int`); errors are Google's body:
`{"error": {"code": 404, "message": "...", "status": "NOT_FOUND", "details": [...]}}`.
"""
from __future__ import annotations

import json
import re
import threading
from urllib.parse import quote, unquote

from google.protobuf import descriptor, json_format
from werkzeug.wrappers import Request, Response

from labkit.cloud.gcp import errors, hosting

PREFIX = "/gcp/"

_routes: dict[str, list] | None = None  # api -> [(verb, regex, {group: field path}, body, method)]
_routes_lock = threading.Lock()


# APIs answered in plain JSON by a handler of their own (no client library describes them here):
# api -> "module:function" taking (state, method, path, body) and returning a dict.
JSON_APIS = {"logging": "labkit.cloud.gcp.logging.api:answer"}


def rest_app(state, environ, start_response):
    request = Request(environ)
    try:
        plain = _plain_answer(state, request)
        if plain is not None:
            response = Response(json.dumps(plain, indent=2), status=200, content_type="application/json; charset=UTF-8")
            return response(environ, start_response)
        pb = _answer(state, request)
        ints = "enum-encoding=int" in request.args.get("$alt", "")
        body = "{}" if pb is None else json_format.MessageToJson(hosting.to_pb(pb), use_integers_for_enums=ints)
        response = Response(body, status=200, content_type="application/json; charset=UTF-8")
    except errors.GcpError as exc:
        response = error_response(exc)
    except Exception as exc:  # our bug
        response = error_response(hosting.internal_error(exc))
    return response(environ, start_response)


def error_response(exc: errors.GcpError) -> Response:
    error = {"code": exc.http_status, "message": exc.message, "status": exc.status_name}
    if exc.details:
        from google.protobuf import any_pb2

        details = []
        for detail in exc.details:
            packed = any_pb2.Any()
            packed.Pack(hosting.to_pb(detail))
            details.append(json_format.MessageToDict(packed))
        error["details"] = details
    return Response(json.dumps({"error": error}, indent=2), status=exc.http_status,
                    content_type="application/json; charset=UTF-8")


def _plain_answer(state, request: Request):
    api, _, path = request.path[len(PREFIX):].partition("/")
    target = JSON_APIS.get(api)
    if target is None:
        return None
    import importlib

    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)(state, request.method, "/" + path,
                                                             request.get_data())


def _answer(state, request: Request):
    # matched undecoded: a name's escaped slash (dockerImages/team%2Fmy-app@...) must stay inside its segment
    raw = (request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or quote(request.path)).split("?")[0]
    api, _, path = raw[len(PREFIX):].partition("/") if raw.startswith(PREFIX) else request.path[len(PREFIX):].partition("/")
    if not api:  # GET /gcp/: which APIs this cloud serves (and, the first time, loading them: a warm-up)
        from google.protobuf import struct_pb2

        listing = struct_pb2.Struct()
        listing.update({"apis": sorted({*_all_routes(), *JSON_APIS}), "grpc": grpc_proto_services()})
        return listing
    path = "/" + path
    routes = _all_routes().get(api)
    if routes is None:
        raise errors.NotFound(f"The labkit local cloud serves no Google API named {api!r} "
                              f"(it serves {', '.join(sorted(_all_routes()))}).")
    for verb, pattern, fields, body_field, method in routes:
        match = pattern.fullmatch(path)
        if match and verb == request.method:
            message = _request_message(method, match, fields, body_field, request)
            from labkit.cloud.gcp import operations

            with operations.asked_through(api):  # ListOperations of this API lists this API's operations
                return hosting.call(state, method, message)
    raise errors.NotFound(f"The requested URL {request.method} {path} is not an operation of the {api} API "
                          f"that the labkit local cloud serves.")


def _request_message(method, match, fields, body_field, request: Request):
    pb = hosting.pb_class(method.request_type)()
    raw = request.get_data()
    try:
        if body_field and raw.strip():
            target = pb if body_field == "*" else getattr(pb, body_field)
            json_format.Parse(raw, target, ignore_unknown_fields=True)
        for group, field_path in fields.items():
            _set(pb, field_path, unquote(match.group(group)))
        query = _query_dict(pb.DESCRIPTOR, request.args)
        if query:
            json_format.ParseDict(query, pb, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise errors.InvalidArgument(f"Invalid JSON payload received. {exc}") from None
    return hosting.wrap(method.request_type, pb)


def _set(pb, field_path: str, value: str) -> None:
    *parents, last = field_path.split(".")
    for part in parents:
        pb = getattr(pb, part)
    setattr(pb, last, value)


def _query_dict(message_descriptor, args) -> dict:
    """Query parameters (`pageSize=5`, `a.b=x`, repeated keys) as a dict ParseDict takes: values
    turned into what each field's JSON form needs (booleans are JSON true/false there)."""
    out: dict = {}
    for key in args:
        if key.startswith("$") or key in ("alt", "prettyPrint", "key", "access_token", "fields"):
            continue
        values = args.getlist(key)
        parts = key.split(".")
        field = _field(message_descriptor, parts)
        if field is None:
            continue
        if field.type == descriptor.FieldDescriptor.TYPE_BOOL:
            values = [v.lower() == "true" for v in values]
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = values if field.is_repeated else values[-1]
    return out


def _field(message_descriptor, parts):
    field = None
    for part in parts:
        if message_descriptor is None:
            return None
        field = message_descriptor.fields_by_camelcase_name.get(part) or message_descriptor.fields_by_name.get(part)
        if field is None:
            return None
        message_descriptor = field.message_type
    return field


def grpc_proto_services() -> list[str]:
    return sorted({m.proto_service for service in hosting.services() for m in service.methods.values()})


# -- routes from the client libraries' http_options ----------------------------------------------------
def warm_up() -> None:
    """Load the Google APIs (hosting.services: their client libraries and method tables) and the REST
    routes now instead of on the first request: the cloud template does it once for every cloud it
    forks (~0.3 CPU-s a cloud otherwise)."""
    _all_routes()


def _all_routes() -> dict[str, list]:
    global _routes
    with _routes_lock:
        if _routes is None:
            routes: dict[str, list] = {}
            for service in hosting.services():
                for method in service.methods.values():
                    for verb, uri, body in method.rules:
                        pattern, fields = compile_template(uri)
                        routes.setdefault(service.api, []).append((verb, pattern, fields, body, method))
            for api_routes in routes.values():
                # a custom verb (`.../services/*}:getIamPolicy`) before the plain resource: `[^/]+` of GetService
                # would take `my-service:getIamPolicy` for a name (sorted() is stable: the rest keep their order)
                api_routes.sort(key=lambda route: not _ends_with_verb(route[1].pattern))
            _routes = routes
        return _routes


_VARIABLE = re.compile(r"\{([^}=]+)(?:=([^}]*))?\}")
_VERB_TAIL = re.compile(r"\\?:[A-Za-z]+$")  # a template's `:verb` (escaped by re.escape or not)


def _ends_with_verb(pattern: str) -> bool:
    return bool(_VERB_TAIL.search(pattern))


def compile_template(uri: str):
    """`/v1/{parent=projects/*/locations/*}/repositories` -> a regex and {group: "parent"}."""
    pattern, fields, last = "", {}, 0
    for i, match in enumerate(_VARIABLE.finditer(uri)):
        pattern += re.escape(uri[last:match.start()])
        group = f"v{i}"
        fields[group] = match.group(1)
        segments = (match.group(2) or "*").split("/")
        pattern += f"(?P<{group}>" + "/".join(".+" if s == "**" else "[^/]+" if s == "*" else re.escape(s)
                                             for s in segments) + ")"
        last = match.end()
    pattern += re.escape(uri[last:])
    return re.compile(pattern), fields
