"""The URLs the local cloud's services hand out, reachable from this process.

An App Runner ServiceUrl (`abc.ap-northeast-2.awsapprunner.com`), an ALB's DNS name
(`my-alb-123.ap-northeast-2.elb.amazonaws.com`), an ECS Express Mode endpoint (`*.ecs.REGION.on.aws`) or a
Cloud Run URL (`*.run.app`) is resolved by public
DNS in the real cloud; here nothing may leave 127.0.0.1, so these names resolve to the local cloud's
port, which routes by the `Host` header (labkit/cloud/ingress.py). `install()` (done by
`labkit.start()`) makes that true for every Python client of the kernel (requests, urllib, http.client,
boto3); a shell command reaches the same with `curl -H "Host: NAME" http://127.0.0.1:4566/`.

The local cloud answers these names in plain HTTP (it has no certificate for them): `http://NAME/`.
Other names resolve as before, so the loopback guard and real DNS behave as they did.
"""
from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit

from labkit.config import HOST, settings

CLOUD_DOMAINS = (".awsapprunner.com", ".elb.amazonaws.com", ".on.aws", ".run.app")  # .on.aws: ECS Express Mode
_real_getaddrinfo = socket.getaddrinfo
_installed = threading.Lock()


def is_cloud_name(host: str) -> bool:
    name = (host or "").rstrip(".").lower()
    return name.endswith(CLOUD_DOMAINS)


def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if isinstance(host, str) and is_cloud_name(host) and family in (0, socket.AF_INET, socket.AF_UNSPEC):
        kind = type or socket.SOCK_STREAM
        return [(socket.AF_INET, kind, proto or socket.IPPROTO_TCP, "", (HOST, settings().aws_port))]
    return _real_getaddrinfo(host, port, family, type, proto, flags)


def install() -> None:
    """Resolve the cloud's service names to its port in this process (idempotent)."""
    with _installed:
        if socket.getaddrinfo is not _getaddrinfo:
            socket.getaddrinfo = _getaddrinfo


def split_url(url: str) -> tuple[str, int, str]:
    """(host, port, path?query) of a service URL given with or without a scheme ("abc.awsapprunner.com",
    "https://abc.awsapprunner.com/x"). https is answered as http: the local cloud has no certificates."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    port = parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return (parts.hostname or "").lower(), port, path


def get(url: str, timeout: float = 10.0, endpoint: str | None = None) -> tuple[int, str]:
    """(status, body text) of one GET on a service URL of the local cloud, through its port (that of
    `endpoint`, e.g. a check's CheckContext.endpoint, else this process's cloud)."""
    client = Client(timeout=timeout, endpoint=endpoint)
    try:
        return client.get(url)
    finally:
        client.close()


class Client:
    """GETs of service URLs over one kept-alive connection to the cloud's port (the cloud keeps a
    service URL's connection open: labkit/cloud/ingress_server.py): for one thread at a time, as
    labkit.aws.hit gives each of its threads one. A connection the cloud closed meanwhile is opened
    again, and the GET sent once more (a GET may be repeated). A few lines of HTTP/1.1 of its own
    (labkit/cloud/http1.py) rather than http.client: a third of the CPU per request, which is what
    1,000 requests from a notebook cost. Errors are OSErrors (a malformed answer: ConnectionError)."""

    def __init__(self, timeout: float = 10.0, endpoint: str | None = None):
        self.timeout = timeout
        self.cloud_port = urlsplit(endpoint).port if endpoint else settings().aws_port
        self._reader = None

    def get(self, url: str) -> tuple[int, str]:
        from labkit.cloud.http1 import BadMessage, Reader, read_body, read_response_head

        host, port, path = split_url(url)
        request = f"GET {path} HTTP/1.1\r\nHost: {host if port == 80 else f'{host}:{port}'}\r\n\r\n"
        for attempt in (1, 2):
            reused = self._reader is not None
            if not reused:
                self._reader = Reader(socket.create_connection((HOST, self.cloud_port), timeout=self.timeout))
            try:
                self._reader.sock.sendall(request.encode("latin-1"))
                status, _, _, framing, length, keep = read_response_head(self._reader, "GET")
                body = read_body(self._reader, framing, length)
            except (ConnectionResetError, BrokenPipeError) as exc:
                self.close()
                if reused and attempt == 1:  # the cloud closed an idle connection: once more, on a new one
                    continue
                raise exc
            except BadMessage as bad:
                self.close()
                raise ConnectionError(f"the local cloud answered something that is not HTTP/1.1: {bad}") from None
            except BaseException:
                self.close()
                raise
            if not keep:
                self.close()
            return status, body.decode("utf-8", "replace")
        raise ConnectionError("unreachable")

    def close(self) -> None:
        if self._reader is not None:
            self._reader.sock.close()
            self._reader = None
