"""The ingress's own keep-alive server (labkit/cloud/ingress_server.py) behind the cloud's real handler
(labkit/cloud/server.py): a service URL's connection stays open for request after request, HTTP/1.1's
framing holds (bodies by length or chunked, split across reads; HEAD; pipelining; a client's close;
HTTP/1.0), a bad request gets 400 and the connection closes, another Host on the same connection is
werkzeug's, and Route.observe still sees every answer. Raw sockets: what a client library would hide."""
from __future__ import annotations

import http.server
import json
import socket
import threading
import time

import pytest

from labkit import aws, net
from labkit.cloud.gateway import Gateway
from labkit.cloud.ingress import Route, Upstream
from labkit.cloud.server import CloudRequestHandler, make_cloud_server

HOST = "fast123.ap-northeast-2.awsapprunner.com"


class _Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/chunked":  # no Content-Length: the ingress must frame it for its client
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        self._answer("")

    def do_HEAD(self):
        self._answer("", head=True)

    def do_POST(self):
        self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())

    def _answer(self, body, head=False):
        data = json.dumps({"path": self.path, "body": body, "method": self.command,
                           "length": self.headers.get("Content-Length"),
                           "te": self.headers.get("Transfer-Encoding")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def log_message(self, *args):
        pass


class _Quiet(CloudRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@pytest.fixture
def cloud(tmp_path, monkeypatch):
    app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    app.daemon_threads = True
    threading.Thread(target=app.serve_forever, daemon=True).start()
    gateway = Gateway(str(tmp_path), control_token="t")
    server = make_cloud_server("127.0.0.1", 0, gateway, handler=_Quiet)
    seen = []
    gateway.state.ingress.add(Route(HOST, 80, lambda env: Upstream("127.0.0.1", app.server_port),
                                    lambda: (503, "none"), owner="svc",
                                    observe=lambda env, status, size: seen.append((env["PATH_INFO"], status, size))))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("LABKIT_AWS_PORT", str(server.server_port))
    yield server.server_port, seen
    server.shutdown()
    app.shutdown()


def _connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock, sock.makefile("rb")


def _response(stream):
    """(status, headers {lower name: value}, body) of one response read off a raw stream."""
    status = int(stream.readline().split()[1])
    headers = {}
    while (line := stream.readline().rstrip(b"\r\n")):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while (size := int(stream.readline().strip(), 16)):
            body += stream.read(size)
            stream.readline()
        stream.readline()
    else:
        body = stream.read(int(headers.get("content-length", 0)))
    return status, headers, body


def _request(path="/", method="GET", host=HOST, extra="", body=b""):
    length = f"Content-Length: {len(body)}\r\n" if body else ""
    return f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{length}{extra}\r\n".encode() + body


def test_two_requests_on_one_socket_get_two_answers(cloud):
    port, seen = cloud
    sock, stream = _connect(port)
    sizes = []
    with sock:
        for path in ("/one", "/two"):
            sock.sendall(_request(path))
            status, headers, body = _response(stream)
            assert status == 200 and json.loads(body)["path"] == path and "connection" not in headers
            sizes.append(len(body))
    deadline = time.monotonic() + 5  # observe runs once the answer is sent: just after the client has it
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == [("/one", 200, sizes[0]), ("/two", 200, sizes[1])]  # observe: status and size


def test_a_clients_connection_close_is_honoured(cloud):
    port, _ = cloud
    sock, stream = _connect(port)
    with sock:
        sock.sendall(_request("/bye", extra="Connection: close\r\n"))
        status, headers, _ = _response(stream)
        assert status == 200 and headers["connection"] == "close"
        assert stream.read() == b""  # the cloud closed its side


def test_http_1_0_closes_after_the_answer(cloud):
    port, _ = cloud
    sock, stream = _connect(port)
    with sock:
        sock.sendall(f"GET /old HTTP/1.0\r\nHost: {HOST}\r\n\r\n".encode())
        status, headers, body = _response(stream)
        assert status == 200 and json.loads(body)["path"] == "/old" and headers["connection"] == "close"
        assert stream.read() == b""


def test_a_body_split_across_reads_arrives_whole(cloud):
    port, _ = cloud
    sock, stream = _connect(port)
    with sock:
        whole = _request("/post", "POST", body=b"first half|second half")
        sock.sendall(whole[:-12])
        time.sleep(0.1)
        sock.sendall(whole[-12:])
        assert json.loads(_response(stream)[2])["body"] == "first half|second half"
        # chunked, its chunks across reads: sent on with a Content-Length
        sock.sendall(_request("/chunks", "POST", extra="Transfer-Encoding: chunked\r\n") + b"5\r\nhel")
        time.sleep(0.1)
        sock.sendall(b"lo\r\n6\r\n world\r\n0\r\n\r\n")
        answer = json.loads(_response(stream)[2])
        assert (answer["body"], answer["length"], answer["te"]) == ("hello world", "11", None)


def test_pipelined_requests_are_answered_in_order(cloud):
    port, _ = cloud
    sock, stream = _connect(port)
    with sock:
        sock.sendall(_request("/a") + _request("/b", "POST", body=b"bee") + _request("/c"))
        answers = [json.loads(_response(stream)[2]) for _ in range(3)]
        assert [(a["path"], a["body"]) for a in answers] == [("/a", ""), ("/b", "bee"), ("/c", "")]


def test_head_gets_headers_without_a_body_then_the_connection_goes_on(cloud):
    port, _ = cloud
    sock, stream = _connect(port)
    with sock:
        sock.sendall(_request("/h", "HEAD"))
        status, headers, _ = _response(_Headless(stream))
        assert status == 200 and int(headers["content-length"]) > 0
        sock.sendall(_request("/after"))
        assert json.loads(_response(stream)[2])["path"] == "/after"


class _Headless:
    """A stream whose response has no body whatever its Content-Length says (HEAD)."""

    def __init__(self, stream):
        self.stream = stream

    def readline(self):
        return self.stream.readline()

    def read(self, n=-1):
        return b""


def test_an_upstreams_chunked_answer_reaches_the_client_chunked(cloud):
    port, _ = cloud
    sock, stream = _connect(port)
    with sock:
        sock.sendall(_request("/chunked"))
        status, headers, body = _response(stream)
        assert (status, headers["transfer-encoding"], body) == (200, "chunked", b"hello chunked world")
        sock.sendall(_request("/next"))
        assert json.loads(_response(stream)[2])["path"] == "/next"


@pytest.mark.parametrize("bad", [
    f"GET / HTTP/1.1\r\nHost: {HOST}\r\nNo colon here\r\n\r\n",
    f"GET / HTTP/1.1\r\nHost: {HOST}\r\n folded: value\r\n\r\n",
    f"POST / HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
    f"POST / HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: x\r\n\r\n",
    f"GET / HTTP/1.1\r\nHost: {HOST}\r\nHost: {HOST}\r\n\r\n",
    f"GET /\r\nHost: {HOST}\r\n\r\n",
])
def test_a_bad_request_gets_400_and_the_connection_closes(cloud, bad):
    port, seen = cloud
    sock, stream = _connect(port)
    with sock:
        sock.sendall(bad.encode())
        status, headers, _ = _response(stream)
        assert status == 400 and headers["connection"] == "close"
        assert stream.read() == b""
    assert seen == []  # never reached the app


def test_a_half_sent_request_gets_400(cloud):
    port, _ = cloud
    sock, stream = _connect(port)
    with sock:
        sock.sendall(_request("/post", "POST", body=b"0123456789")[:-4])  # 6 of the 10 body bytes
        sock.shutdown(socket.SHUT_WR)
        status, headers, _ = _response(stream)
        assert status == 400 and headers["connection"] == "close"


def test_another_host_on_the_same_connection_is_werkzeugs(cloud):
    port, _ = cloud
    sock, stream = _connect(port)
    with sock:
        sock.sendall(_request("/first"))
        assert json.loads(_response(stream)[2])["path"] == "/first"
        sock.sendall(_request("/_labkit/health", host=f"127.0.0.1:{port}"))
        status, headers, body = _response(stream)
        assert status == 200 and json.loads(body)["service"] == "labkit"


def test_a_service_name_no_route_has_says_so_and_keeps_the_connection(cloud):
    port, _ = cloud
    sock, stream = _connect(port)
    with sock:
        sock.sendall(_request("/", host="gone9.ap-northeast-2.awsapprunner.com"))
        status, headers, body = _response(stream)
        assert status == 404 and b"nothing answers at http://gone9.ap-northeast-2.awsapprunner.com:80/" in body
        sock.sendall(_request("/still"))
        assert json.loads(_response(stream)[2])["path"] == "/still"


def test_the_kernels_client_keeps_one_connection(cloud):
    client = net.Client()
    try:
        assert client.get(f"http://{HOST}/x")[0] == 200
        first = client._reader.sock
        assert first is not None and json.loads(client.get(f"http://{HOST}/y")[1])["path"] == "/y"
        assert client._reader.sock is first
    finally:
        client.close()
    assert aws.hit(f"http://{HOST}/", n=50) == {json.dumps({"path": "/", "body": "", "method": "GET",
                                                            "length": None, "te": None}): 50}


def test_a_head_cut_short_gets_400(cloud):
    port, _ = cloud
    sock, stream = _connect(port)
    with sock:
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}\r\nAccept: */*".encode())  # no blank line, then EOF
        sock.shutdown(socket.SHUT_WR)
        status, headers, _ = _response(stream)
        assert status == 400 and headers["connection"] == "close"
