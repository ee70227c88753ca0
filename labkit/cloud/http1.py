"""The little of HTTP/1.1 (RFC 9112) the ingress speaks itself, to clients of service URLs
(ingress_server.py) and to upstreams (ingress.py): a message's head, its body framing, and a
buffered reader of one socket that never reads past what it is asked for but what recv returned
(so a pipelined request stays in the buffer for the next turn).

werkzeug still serves every other request of the cloud (the AWS and Google APIs, the registry);
this module exists because a request through werkzeug costs a thread and a connection each
(its dev server closes every connection) and a service URL's client sends thousands of them.
"""
from __future__ import annotations

import re
import socket

MAX_HEAD = 64 * 1024            # request line + headers (werkzeug's limit is the same order)
MAX_HEADERS = 100               # http.client's own limit
MAX_BODY = 32 * 1024 * 1024     # Cloud Run's HTTP/1 request limit (32 MiB)
CHUNK = 64 * 1024
_END = re.compile(rb"\r?\n\r?\n")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}\Z")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")


class BadMessage(Exception):
    """A message the ingress will not guess at: answered with `status` and the connection closed."""

    def __init__(self, reason: str, status: int = 400):
        super().__init__(reason)
        self.status = status


class Reader:
    """Bytes of one socket, buffered; `head()` the next message's head, `exact(n)` body bytes."""

    def __init__(self, sock: socket.socket, data: bytes = b""):
        self.sock = sock
        self.buf = bytearray(data)

    def _fill(self) -> bool:
        data = self.sock.recv(CHUNK)
        if data:
            self.buf += data
        return bool(data)

    def head(self) -> bytes | None:
        """The next head (without its blank line); None at a clean end of the stream (nothing
        buffered). EOF inside a head, or a head over MAX_HEAD, raises BadMessage."""
        start = 0
        while True:
            while self.buf.startswith(b"\n") or self.buf.startswith(b"\r\n"):  # RFC 9112 2.2: empty lines first
                del self.buf[:1 if self.buf.startswith(b"\n") else 2]
            found = _END.search(self.buf, max(0, start - 3))
            if found:
                head = bytes(self.buf[:found.start()])
                del self.buf[:found.end()]
                return head
            if len(self.buf) > MAX_HEAD:
                raise BadMessage("request head too large", 431)
            start = len(self.buf)
            if not self._fill():
                if self.buf:
                    raise BadMessage("the connection ended inside a request head")
                return None

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise BadMessage("the connection ended inside a body")
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def some(self, most: int) -> bytes:
        """Up to `most` bytes (b"" at the end of the stream): a body read until the connection closes."""
        if not self.buf and not self._fill():
            return b""
        data = bytes(self.buf[:most])
        del self.buf[:most]
        return data

    def line(self) -> bytes:
        while True:
            at = self.buf.find(b"\n")
            if at >= 0:
                data = bytes(self.buf[:at + 1])
                del self.buf[:at + 1]
                return data.rstrip(b"\r\n")
            if len(self.buf) > MAX_HEAD:
                raise BadMessage("chunk line too long")
            if not self._fill():
                raise BadMessage("the connection ended inside a chunked body")

    def chunked(self):
        """The data of a chunked body, chunk by chunk (trailers read and dropped)."""
        while True:
            size_text = self.line().split(b";", 1)[0].strip()
            if not _HEX.match(size_text):
                raise BadMessage("bad chunk size")
            size = int(size_text, 16)
            if size > MAX_BODY:
                raise BadMessage("chunk too large", 413)
            if size == 0:
                while self.line():  # trailer fields, up to the blank line
                    pass
                return
            data = self.exact(size)
            if self.line():
                raise BadMessage("chunk not followed by CRLF")
            yield data


def parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    """(start line, [(name, value)]) of a head; BadMessage for anything a strict reader rejects
    (obsolete line folding, a space before the colon, control characters, too many fields)."""
    text = head.decode("latin-1")
    lines = text.split("\n")
    start = lines[0].rstrip("\r")
    headers = []
    if len(lines) > MAX_HEADERS + 1:
        raise BadMessage("too many header fields", 431)
    for raw in lines[1:]:
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line or line[0] in " \t":
            raise BadMessage("obsolete line folding or an empty field line")
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.match(name):
            raise BadMessage("bad header field name")
        value = value.strip(" \t")
        if "\r" in value or "\x00" in value:
            raise BadMessage("control character in a header value")
        headers.append((name, value))
    return start, headers


def parse_request_line(line: str) -> tuple[str, str, str]:
    parts = line.split(" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or not parts[1]:
        raise BadMessage("bad request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadMessage("unsupported HTTP version", 505 if version.startswith("HTTP/") else 400)
    return method, target, version


def body_framing(headers: list[tuple[str, str]]) -> tuple[str, int]:
    """("none" | "length" | "chunked", length) of a request (RFC 9112 6.3; no guessing: both
    Transfer-Encoding and Content-Length, or a coding other than chunked, is a bad request)."""
    lengths = [v for n, v in headers if n.lower() == "content-length"]
    codings = [v for n, v in headers if n.lower() == "transfer-encoding"]
    if codings:
        if lengths or ",".join(codings).strip().lower() != "chunked":
            raise BadMessage("unsupported Transfer-Encoding (or with Content-Length)")
        return "chunked", 0
    if not lengths:
        return "none", 0
    values = {v.strip() for one in lengths for v in one.split(",")}
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise BadMessage("bad Content-Length")
    length = int(next(iter(values)))
    if length > MAX_BODY:
        raise BadMessage("request body too large", 413)
    return "length", length


def connection_tokens(headers: list[tuple[str, str]]) -> set[str]:
    return {t.strip().lower() for n, v in headers if n.lower() == "connection" for t in v.split(",")}


def read_response_head(reader: Reader, method: str):
    """(status, reason, headers, framing, length, reusable) of a response's head (1xx skipped):
    framing "length" (length bytes follow; 0 for HEAD, 204, 304), "chunked", or "close" (the body
    ends with the connection); reusable: the connection may carry another request after it."""
    while True:
        head = reader.head()
        if head is None:
            raise ConnectionResetError("the server closed the connection without answering")
        start, headers = parse_head(head)
        version, _, rest = start.partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise BadMessage("bad status line")
        status = int(code)
        if not 100 <= status < 200 or status == 101:
            break
    tokens = connection_tokens(headers)
    keep = "close" not in tokens and (version == "HTTP/1.1" or "keep-alive" in tokens)
    if method == "HEAD" or 100 <= status < 200 or status in (204, 304):
        return status, reason, headers, "length", 0, keep
    codings = ",".join(v for n, v in headers if n.lower() == "transfer-encoding").lower()
    if codings:
        if codings.replace(" ", "").split(",")[-1] == "chunked":
            return status, reason, headers, "chunked", 0, keep
        return status, reason, headers, "close", 0, False
    lengths = {v.strip() for n, v in headers if n.lower() == "content-length"}
    if lengths:
        if len(lengths) != 1 or not next(iter(lengths)).isdigit():
            raise BadMessage("bad Content-Length in a response")
        return status, reason, headers, "length", int(next(iter(lengths))), keep
    return status, reason, headers, "close", 0, False


def read_body(reader: Reader, framing: str, length: int) -> bytes:
    """A whole response body, as read_response_head framed it."""
    if framing == "length":
        return reader.exact(length)
    if framing == "chunked":
        return b"".join(reader.chunked())
    parts = []
    while (part := reader.some(CHUNK)):
        parts.append(part)
    return b"".join(parts)
