"""The front door of the URLs the local cloud's services hand out (an App Runner ServiceUrl, an ALB's
DNS name, a Cloud Run URL): requests for a registered host name reach the cloud's AWS port and are
proxied to an upstream the service picks per request (its container, or a healthy target by weight).

Real clouds resolve these names in public DNS; here nothing resolves them, so a client reaches them
through the cloud's port with the name in the `Host` header (what labkit's resolver hook in the
kernel does, `labkit/net.py`; `curl -H "Host: NAME" http://127.0.0.1:4566/` by hand). Plain HTTP only:
the local cloud has no certificates for these names (docs/fidelity.md, "Service URLs").

A service registers a Route (host, listener port, pick) and removes it by owner when the resource
goes; the gateway asks `route_for(environ)` before anything else, so an app's own `/v2/...` or
`/_labkit/...` paths reach the app, never the registry or the control endpoints.
"""
from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass
from typing import Callable

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "transfer-encoding", "upgrade"})
UPSTREAM_TIMEOUT_S = 60.0  # an ALB's default idle timeout
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Upstream:
    address: str
    port: int


@dataclass(frozen=True)
class Reply:
    """An answer the route gives itself (an ALB's fixed-response or redirect action)."""
    status: int
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple = ()


@dataclass
class Route:
    host: str                                   # lower-case host name, e.g. "abc.ap-northeast-2.awsapprunner.com"
    port: int                                   # the listener port the URL names (80 when it names none)
    pick: Callable[[dict], "Upstream | Reply | None"]  # pick(environ), per request: where this one goes
    unavailable: Callable[[], tuple[int, str]]  # (status, body) when pick gives nothing (ALB: 503)
    owner: str                                  # e.g. an App Runner service's ARN: remove(owner) drops its routes
    bad_gateway: tuple[int, str] = (502, "502 Bad Gateway")  # the upstream refused or broke the connection
    # observe(environ, status, response bytes) once the answer has been sent (a request log: Cloud Run)
    observe: Callable[[dict, int, int], None] | None = None


class Ingress:
    def __init__(self):
        self._lock = threading.Lock()
        self._routes: dict[tuple[str, int], Route] = {}
        # Idle kept-alive connections per upstream, shared by the server's threads (werkzeug's server
        # closes every client connection, so a request's thread never serves a second one).
        self._idle: dict[Upstream, list[http.client.HTTPConnection]] = {}

    # -- the services' side --------------------------------------------------------------------
    def add(self, route: Route) -> None:
        with self._lock:
            self._routes[(route.host.lower(), route.port)] = route

    def remove(self, owner: str) -> None:
        with self._lock:
            for key in [k for k, r in self._routes.items() if r.owner == owner]:
                del self._routes[key]

    def clear(self) -> None:
        with self._lock:
            self._routes.clear()
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def routes(self) -> list[Route]:
        with self._lock:
            return list(self._routes.values())

    # -- the gateway's side --------------------------------------------------------------------
    def route_for(self, environ) -> Route | None:
        if not self._routes:
            return None
        host, port = split_host(environ.get("HTTP_HOST", ""))
        with self._lock:
            return self._routes.get((host, port))

    def is_service_name(self, environ) -> bool:
        """A name of the kind services hand out (labkit/net.py CLOUD_DOMAINS), routed or not."""
        from labkit.net import is_cloud_name

        return is_cloud_name(split_host(environ.get("HTTP_HOST", ""))[0])

    def nothing_here(self, environ, start_response):
        """What a client of a URL no service has (any more) gets: real DNS would not resolve the name
        or the address would refuse; here a 404 that says so, never another service's answer."""
        host, port = split_host(environ.get("HTTP_HOST", ""))
        return _text(start_response, 404, f"labkit local cloud: nothing answers at http://{host}:{port}/ "
                                          f"(no service, load balancer listener or endpoint has this address: "
                                          f"deleted, not created yet, or a typo)\n")

    def serve(self, route: Route, environ, start_response):
        if route.observe is None:
            return self._serve(route, environ, start_response)
        seen = {}

        def noting(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        return _observed(self._serve(route, environ, noting), route.observe, environ, seen)

    def _serve(self, route: Route, environ, start_response):
        upstream = route.pick(environ)
        if upstream is None:
            return _text(start_response, *route.unavailable())
        if isinstance(upstream, Reply):
            return _text(start_response, upstream.status, upstream.body, upstream.content_type, upstream.headers)
        method = environ.get("REQUEST_METHOD", "GET")
        target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or _path_of(environ)
        body = _body_of(environ)
        headers = _request_headers(environ)
        try:
            response, kept = self._send(upstream, method, target, body, headers)
        except (OSError, http.client.HTTPException):
            return _text(start_response, *route.bad_gateway)
        out = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
        start_response(f"{response.status} {response.reason}", out)
        return self._stream(response, kept)

    def _stream(self, response, kept):
        complete = False
        try:
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    complete = True
                    break
                yield chunk
        finally:
            response.close()
            if complete:  # only a connection whose response was read to its end can carry another
                self._give_back(kept)
            elif kept is not None:
                kept[1].close()

    def _send(self, upstream: Upstream, method, target, body, headers):
        for attempt in (1, 2):  # a kept-alive connection the app closed meanwhile: one fresh try
            with self._lock:
                idle = self._idle.get(upstream)
                conn = idle.pop() if idle else None
            fresh = conn is None
            if fresh:
                conn = http.client.HTTPConnection(upstream.address, upstream.port, timeout=UPSTREAM_TIMEOUT_S)
            try:
                conn.request(method, target, body=body, headers=headers)
                response = conn.getresponse()
            except (OSError, http.client.HTTPException):
                conn.close()
                if fresh or attempt == 2:
                    raise
                continue
            return response, (None if response.will_close else (upstream, conn))
        raise http.client.HTTPException("unreachable")

    def _give_back(self, kept) -> None:
        if kept is not None:
            upstream, conn = kept
            with self._lock:
                self._idle.setdefault(upstream, []).append(conn)

    def forget(self, upstream: Upstream) -> None:
        """Close the idle connections to an upstream that went away (a stopped container)."""
        with self._lock:
            for conn in self._idle.pop(upstream, []):
                conn.close()


def _observed(body, observe, environ, seen):
    """The answer's bytes, passed on; then observe(environ, status, size), even if the client left."""
    size = 0
    try:
        for chunk in body:
            size += len(chunk)
            yield chunk
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
        try:
            observe(environ, seen.get("status", 502), size)
        except Exception:  # a log line must never break an answer
            import sys
            import traceback

            traceback.print_exc(file=sys.stderr)


def split_host(header: str) -> tuple[str, int]:
    """("name", port) of a Host header; port 80 when none is named."""
    name, sep, port = header.strip().lower().rpartition(":")
    if sep and port.isdigit() and not name.endswith("]"):
        return name, int(port)
    return header.strip().lower(), 80


def _path_of(environ) -> str:
    from urllib.parse import quote

    path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


def _body_of(environ) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else None


def _request_headers(environ) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").title()
            if name.lower() not in HOP_BY_HOP:
                headers[name] = value
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            headers[name] = environ[key]
    client = environ.get("REMOTE_ADDR", "127.0.0.1")
    forwarded = headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{forwarded}, {client}" if forwarded else client
    headers["X-Forwarded-Proto"] = "http"
    headers["X-Forwarded-Port"] = str(split_host(environ.get("HTTP_HOST", ""))[1])
    return headers


def _text(start_response, status: int, body: str, content_type: str = "text/plain; charset=utf-8",
          headers: tuple = ()):
    data = body.encode("utf-8")
    reason = http.client.responses.get(status, "")
    start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(data))),
                                         *headers])
    return [data]
