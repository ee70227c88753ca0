"""The ingress's own HTTP/1.1 server: a client connection whose requests are for service URLs
(an App Runner ServiceUrl, an ALB's DNS name, a Cloud Run URL) is served here, kept alive, one
request after another, without werkzeug (server.py sends it here after peeking at the first
request's Host). A request for any other Host on such a connection goes back to werkzeug, its
bytes untouched (`serve_connection` returns them).

What it holds to (RFC 9112): Content-Length or chunked request bodies (read whole, sent on with a
Content-Length), `Expect: 100-continue`, HEAD, a client's `Connection: close` and HTTP/1.0 (closed
after the answer unless it asked for keep-alive), pipelined requests answered in order; a malformed
or half-sent request gets 400 and the connection is closed. Responses keep the upstream's
Content-Length, else go chunked (HTTP/1.1) or end with the connection (HTTP/1.0). Route.observe
is called once the answer has been sent, as on werkzeug's way (Cloud Run's request log).
"""
from __future__ import annotations

import http.client
import io
import socket
import time
from email.utils import formatdate
from urllib.parse import unquote_to_bytes

from labkit.cloud.http1 import (BadMessage, Reader, body_framing, connection_tokens, parse_head,
                                parse_request_line)
from labkit.cloud.ingress import Answer, Ingress, observe_safely

IDLE_S = 60.0  # a kept-alive connection with no request for this long is closed (an ALB's idle timeout)
_HOST_FIELD = b"\nhost:"


def first_request_is_ours(ingress: Ingress, start: bytes) -> bool:
    """From the first bytes a connection sent (peeked): is its first request for a service URL?
    True also when its head is not complete yet (serve_connection reads on and decides)."""
    end = start.find(b"\r\n\r\n")
    if end < 0:
        end = start.find(b"\n\n")
        if end < 0:
            return len(start) < 8 * 1024 and not start.startswith(b"PRI ")
    head = start[:end + 1].lower()
    at = head.find(_HOST_FIELD)
    if at < 0:
        return False
    line_end = head.find(b"\n", at + 1)
    host = head[at + len(_HOST_FIELD):line_end].strip().decode("latin-1")
    return ingress.owns(host)


def serve_connection(ingress: Ingress, sock: socket.socket, client: tuple) -> bytes | None:
    """Serve requests on `sock` until the client or a rule closes it (None), or until one arrives
    whose Host the ingress does not own: then its bytes from its first one on (for werkzeug)."""
    reader = Reader(sock)
    server_port = sock.getsockname()[1]
    sock.settimeout(IDLE_S)
    while True:
        try:
            head = reader.head()
        except BadMessage as bad:
            _refuse(sock, bad)
            return None
        except OSError:  # the idle timeout, or the client went
            return None
        if head is None:
            return None
        try:
            start, headers = parse_head(head)
        except BadMessage as bad:
            _refuse(sock, bad)
            return None
        hosts = [v for n, v in headers if n.lower() == "host"]
        if not hosts or (len(hosts) == 1 and not ingress.owns(hosts[0])):  # not a service URL's request
            sock.settimeout(None)  # werkzeug's way: no idle timeout
            return head + b"\r\n\r\n" + bytes(reader.buf)
        try:
            keep = _serve_one(ingress, sock, reader, start, headers, hosts, client, server_port)
        except BadMessage as bad:
            _refuse(sock, bad)
            return None
        except OSError:
            return None
        if not keep:
            return None


def _serve_one(ingress, sock, reader, start, headers, hosts, client, server_port) -> bool:
    method, target, version = parse_request_line(start)
    if len(hosts) != 1:
        raise BadMessage("a request needs exactly one Host")
    path, _, query = target.partition("?")
    if not path.startswith("/"):
        if path.lower().startswith(("http://", "https://")):  # absolute form: its path goes on
            path = "/" + path.split("://", 1)[1].partition("/")[2]
            target = path + ("?" + query if query else "")
        elif not (method == "OPTIONS" and target == "*"):
            raise BadMessage("bad request target")
    tokens = connection_tokens(headers)
    keep = "close" not in tokens and (version == "HTTP/1.1" or "keep-alive" in tokens)
    framing, length = body_framing(headers)
    if framing != "none" and any(n.lower() == "expect" and v.lower() == "100-continue" for n, v in headers) \
            and version == "HTTP/1.1":
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    if framing == "length":
        body = reader.exact(length)
    elif framing == "chunked":
        body = b"".join(reader.chunked())
    else:
        body = b""
    environ = _environ(method, target, path, query, version, headers, body, framing, client, server_port)
    route = ingress.route_for_host(hosts[0])
    answer = ingress.answer(route, environ) if route is not None else ingress.nothing_here_answer(hosts[0])
    try:
        size, keep = _send(sock, answer, method, version, keep)
    finally:
        close = getattr(answer.body, "close", None)
        if close is not None:
            close()
    if route is not None and route.observe is not None:
        observe_safely(route.observe, environ, answer.status, size)
    return keep


def _environ(method, target, path, query, version, headers, body, framing, client, server_port) -> dict:
    """The WSGI keys the routes read (pick, observe: Host, path, query, headers, client address)."""
    environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
               "QUERY_STRING": query, "RAW_URI": target, "REQUEST_URI": target, "SERVER_PROTOCOL": version,
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(server_port), "REMOTE_ADDR": client[0],
               "REMOTE_PORT": client[1], "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body)}
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_LENGTH", "CONTENT_TYPE", "TRANSFER_ENCODING", "EXPECT"):
            if key == "CONTENT_TYPE":
                environ[key] = value
            continue
        key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    if framing != "none":
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def _send(sock: socket.socket, answer: Answer, method: str, version: str, keep: bool) -> tuple[int, bool]:
    """Send the answer; (body bytes sent, connection still usable)."""
    no_body = method == "HEAD" or answer.status in (204, 304) or 100 <= answer.status < 200
    headers = answer.headers
    chunked = False
    if answer.length is None and not no_body:
        if version == "HTTP/1.1":
            chunked = True
        else:
            keep = False  # the body ends with the connection
    lines = [f"HTTP/1.1 {answer.status} {answer.reason}\r\n"]
    lines += [f"{k}: {v}\r\n" for k, v in headers]
    if not any(k.lower() == "date" for k, _ in headers):
        lines.append(f"Date: {formatdate(time.time(), usegmt=True)}\r\n")
    if chunked:
        lines.append("Transfer-Encoding: chunked\r\n")
    if not keep:
        lines.append("Connection: close\r\n")
    elif version == "HTTP/1.0":
        lines.append("Connection: keep-alive\r\n")
    lines.append("\r\n")
    pending = "".join(lines).encode("latin-1")
    size = 0
    if no_body:
        for _ in answer.body:  # an upstream's HEAD answer has none; a Reply's text is not sent
            pass
        sock.sendall(pending)
        return 0, keep
    try:
        for chunk in answer.body:
            if not chunk:
                continue
            size += len(chunk)
            data = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
            if pending:
                data, pending = pending + data, b""
            sock.sendall(data)
    except (OSError, BadMessage):  # the upstream broke off mid-body, or the client left: end here
        try:
            if pending:
                sock.sendall(pending)
        except OSError:
            pass
        return size, False
    if chunked:
        pending += b"0\r\n\r\n"
    if pending:
        sock.sendall(pending)
    if answer.length is not None and size != answer.length:
        return size, False  # the upstream broke off: the client must not wait for the rest
    return size, keep


def _refuse(sock: socket.socket, bad: BadMessage) -> None:
    """Answer a request the server will not serve (400, 413, 431, 505) and close."""
    reason = http.client.responses.get(bad.status, "Bad Request")
    body = f"{bad.status} {reason}: {bad}\n".encode()
    try:
        sock.sendall(f"HTTP/1.1 {bad.status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass

