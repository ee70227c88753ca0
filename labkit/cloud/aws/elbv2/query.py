"""The AWS query protocol as ELBv2 speaks it: a form-encoded request (`Action=RegisterTargets&
Version=2015-12-01&Targets.member.1.Id=...`), an XML answer or `<ErrorResponse>`; and a call of moto's
app with such a request, its answer captured so this layer can read or amend it.

Stdlib + werkzeug only.
"""
from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape

VERSION = "2015-12-01"
NAMESPACE = f"http://elasticloadbalancing.amazonaws.com/doc/{VERSION}/"


@dataclass
class Request:
    params: dict      # flat, as sent: {"Targets.member.1.Id": "10.0.0.1", ...}
    body: bytes       # the form body, to hand on unchanged

    @property
    def action(self) -> str:
        return self.params.get("Action", "")

    @property
    def version(self) -> str:
        return self.params.get("Version", "")

    def nested(self) -> dict:
        return nest(self.params)


def read(environ) -> Request:
    """The request's parameters (query string and form body); the body is put back so that moto can
    read it again."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    if body and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return Request(params=params, body=body)


def nest(flat: dict) -> dict:
    """{"Targets.member.1.Id": "a", "Targets.member.1.Port": "80"} -> {"Targets": [{"Id": "a", "Port": "80"}]}
    (values stay strings; `member.N` becomes list item N)."""
    root: dict = {}
    for key, value in flat.items():
        parts = key.split(".")
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "member" and i + 1 < len(parts) and parts[i + 1].isdigit():
                continue  # the index that follows does the work
            if part.isdigit() and i > 0 and parts[i - 1] == "member":
                index = int(part) - 1
                while len(node) <= index:
                    node.append(None)
                if last:
                    node[index] = value
                else:
                    if node[index] is None:
                        node[index] = [] if _next_is_member(parts, i) else {}
                    node = node[index]
                continue
            if last:
                node[part] = value
            else:
                if part not in node:
                    node[part] = [] if _next_is_member(parts, i) else {}
                node = node[part]
    return _compact(root)


def _next_is_member(parts, i) -> bool:
    return i + 2 < len(parts) and parts[i + 1] == "member" and parts[i + 2].isdigit()


def _compact(node):
    if isinstance(node, list):
        return [_compact(x) for x in node if x is not None]
    if isinstance(node, dict):
        return {k: _compact(v) for k, v in node.items()}
    return node


# -- answers ------------------------------------------------------------------------------------
def _xml(value) -> str:
    if isinstance(value, dict):
        return "".join(f"<{k}>{_xml(v)}</{k}>" for k, v in value.items() if v is not None)
    if isinstance(value, (list, tuple)):
        return "".join(f"<member>{_xml(v)}</member>" for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def result(action: str, body: dict) -> tuple[int, list, bytes]:
    request_id = str(uuid.uuid4())
    xml = (f'<{action}Response xmlns="{NAMESPACE}"><{action}Result>{_xml(body)}</{action}Result>'
           f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>")
    return 200, _headers(request_id), xml.encode()


def error(code: str, message: str, status: int = 400) -> tuple[int, list, bytes]:
    request_id = str(uuid.uuid4())
    kind = "Sender" if status < 500 else "Receiver"
    xml = (f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{kind}</Type><Code>{escape(code)}</Code>'
           f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    return status, _headers(request_id), xml.encode()


def _headers(request_id: str) -> list:
    return [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]


def respond(start_response, answer: tuple[int, list, bytes]):
    import http.client

    status, headers, body = answer
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"] + [("Content-Length", str(len(body)))]
    start_response(f"{status} {http.client.responses.get(status, '')}", headers)
    return [body]


# -- moto ---------------------------------------------------------------------------------------
def call_moto(moto_app, environ, params: dict | None = None) -> tuple[int, list, bytes]:
    """moto's answer to this request (or, with `params`, to another action signed the same way:
    moto reads the region and account from the same headers)."""
    env = dict(environ)
    if params is not None:
        body = urlencode(params).encode()
        env.update({"REQUEST_METHOD": "POST", "QUERY_STRING": "", "CONTENT_LENGTH": str(len(body)),
                    "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8"})
        env["wsgi.input"] = io.BytesIO(body)
    else:
        env["wsgi.input"].seek(0)
    captured: dict = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = int(status.split(" ", 1)[0]), list(headers)

    chunks = moto_app(env, start_response)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return captured["status"], captured["headers"], body


def renamed(answer: tuple[int, list, bytes], source: str, target: str) -> tuple[int, list, bytes]:
    """A Describe answer worn as a Create answer (the same resource list): what the service returns
    when a create names a resource that exists with the same settings."""
    status, headers, body = answer
    text = body.decode()
    for suffix in ("Response", "Result"):
        text = text.replace(f"<{source}{suffix}", f"<{target}{suffix}").replace(f"</{source}{suffix}>",
                                                                                 f"</{target}{suffix}>")
    return status, headers, text.encode()
