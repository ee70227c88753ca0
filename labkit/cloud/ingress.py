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
from typing import Callable, Iterator

from labkit.cloud.http1 import CHUNK, BadMessage, Reader, read_response_head
from labkit.cloud.runtime.network import connect

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "transfer-encoding", "upgrade"})
UPSTREAM_TIMEOUT_S = 60.0  # an ALB's default idle timeout


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
        # Idle kept-alive connections per upstream (a Reader each), shared by the server's threads.
        self._idle: dict[Upstream, list[Reader]] = {}

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
        for readers in idle.values():
            for reader in readers:
                reader.sock.close()

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

    def owns(self, host_header: str) -> bool:
        """Does a request with this Host belong to the ingress (a route, or a service name without one)?"""
        from labkit.net import is_cloud_name

        host, port = split_host(host_header)
        if is_cloud_name(host):
            return True
        with self._lock:
            return (host, port) in self._routes

    def route_for_host(self, host_header: str) -> Route | None:
        with self._lock:
            return self._routes.get(split_host(host_header))

    def nothing_here_answer(self, host_header: str) -> "Answer":
        host, port = split_host(host_header)
        return text_answer(404, f"labkit local cloud: nothing answers at http://{host}:{port}/ "
                                f"(no service, load balancer listener or endpoint has this address: "
                                f"deleted, not created yet, or a typo)\n")

    def nothing_here(self, environ, start_response):
        """What a client of a URL no service has (any more) gets: real DNS would not resolve the name
        or the address would refuse; here a 404 that says so, never another service's answer."""
        return _wsgi(self.nothing_here_answer(environ.get("HTTP_HOST", "")), start_response)

    def serve(self, route: Route, environ, start_response):
        """The WSGI way in (the gateway's, for a connection werkzeug serves): answer() then observe."""
        answer = self.answer(route, environ)
        body = _wsgi(answer, start_response)
        if route.observe is None:
            return body
        return _observed(body, route.observe, environ, answer.status)

    def answer(self, route: Route, environ) -> "Answer":
        """The answer to one request (environ: WSGI's keys; its body in wsgi.input): the route's own
        reply, its `unavailable` or `bad_gateway` page, or the upstream's response (its body a
        generator: read it to its end, or close it). The caller sends it, then calls route.observe."""
        upstream = route.pick(environ)
        if upstream is None:
            return text_answer(*route.unavailable())
        if isinstance(upstream, Reply):
            return text_answer(upstream.status, upstream.body, upstream.content_type, upstream.headers)
        method = environ.get("REQUEST_METHOD", "GET")
        target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or _path_of(environ)
        body = _body_of(environ)
        headers = _request_headers(environ)
        try:
            return self._exchange(upstream, method, target, body, headers)
        except (OSError, BadMessage, ValueError):
            return text_answer(*route.bad_gateway)

    def _exchange(self, upstream: Upstream, method, target, body, headers) -> "Answer":
        if body and "Content-Length" not in headers:
            headers["Content-Length"] = str(len(body))
        elif body is None and method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = "0"
        request = "".join([f"{method} {target} HTTP/1.1\r\n", *(f"{k}: {v}\r\n" for k, v in headers.items()),
                           "\r\n"]).encode("latin-1") + (body or b"")
        for attempt in (1, 2):  # a kept-alive connection the app closed meanwhile: one fresh try
            with self._lock:
                idle = self._idle.get(upstream)
                reader = idle.pop() if idle else None
            fresh = reader is None
            if fresh:
                reader = Reader(connect(upstream.address, upstream.port, UPSTREAM_TIMEOUT_S))
            try:
                reader.sock.sendall(request)
                status, reason, out, framing, length, keep = read_response_head(reader, method)
            except (OSError, BadMessage, ValueError):
                reader.sock.close()
                if fresh or attempt == 2:
                    raise
                continue
            kept = (upstream, reader) if keep else None
            return Answer(status, reason, [(k, v) for k, v in out if k.lower() not in HOP_BY_HOP],
                          self._stream(reader, framing, length, kept), length if framing == "length" else None)
        raise OSError("unreachable")

    def _stream(self, reader: "Reader", framing: str, length: int, kept):
        complete = False
        try:
            if framing == "length":
                left = length
                while left > 0:
                    chunk = reader.exact(min(left, CHUNK))
                    left -= len(chunk)
                    yield chunk
            elif framing == "chunked":
                yield from reader.chunked()
            elif framing == "close":
                while True:
                    chunk = reader.some(CHUNK)
                    if not chunk:
                        break
                    yield chunk
            complete = True
        finally:
            if complete and kept is not None:  # only a connection whose response was read to its end can carry another
                with self._lock:
                    self._idle.setdefault(kept[0], []).append(reader)
            else:
                reader.sock.close()

    def forget(self, upstream: Upstream) -> None:
        """Close the idle connections to an upstream that went away (a stopped container)."""
        with self._lock:
            for reader in self._idle.pop(upstream, []):
                reader.sock.close()


def _observed(body, observe, environ, status: int):
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
        observe_safely(observe, environ, status, size)


def observe_safely(observe, environ, status: int, size: int) -> None:
    try:
        observe(environ, status, size)
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


@dataclass
class Answer:
    """One response, to be sent: by werkzeug (serve) or by the ingress's own server (ingress_server.py)."""
    status: int
    reason: str
    headers: list                   # end-to-end fields (hop-by-hop ones removed)
    body: Iterator[bytes]           # read to its end, or close() it
    length: int | None = None       # the body's length when known (Content-Length), else None


def text_answer(status: int, body: str, content_type: str = "text/plain; charset=utf-8",
                headers: tuple = ()) -> Answer:
    data = body.encode("utf-8")
    return Answer(status, http.client.responses.get(status, ""),
                  [("Content-Type", content_type), ("Content-Length", str(len(data))), *headers], iter([data]),
                  len(data))


def _wsgi(answer: Answer, start_response):
    start_response(f"{answer.status} {answer.reason}", list(answer.headers))
    return answer.body
