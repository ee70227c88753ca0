"""The front door of service URLs (labkit/cloud/ingress.py), in a gateway served on a real port:
requests for a registered Host reach the upstream the route picks (paths, query, body, headers,
keep-alive), anything else reaches the cloud as before, and failures read as a load balancer's."""
from __future__ import annotations

import http.client
import http.server
import json
import socket
import threading

import pytest
from werkzeug.serving import make_server

from labkit.cloud.gateway import Gateway
from labkit.cloud.ingress import Reply, Route, Upstream, split_host

HOST = "abc123.ap-northeast-2.awsapprunner.com"


class _Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    name = "one"

    def do_GET(self):
        self._answer()

    def do_POST(self):
        self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())

    def _answer(self, body: str = ""):
        data = json.dumps({"who": self.name, "path": self.path, "body": body, "host": self.headers.get("Host"),
                           "xff": self.headers.get("X-Forwarded-For"), "port": self.client_address[1]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def _serve(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def gateway(tmp_path):
    gw = Gateway(str(tmp_path), control_token="t")
    server = make_server("127.0.0.1", 0, gw, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield gw, server.server_port
    server.shutdown()


@pytest.fixture
def upstreams():
    two = type("Two", (_Echo,), {"name": "two"})
    servers = [_serve(_Echo), _serve(two)]
    yield [Upstream("127.0.0.1", s.server_port) for s in servers]
    for s in servers:
        s.shutdown()


def _get(port, host, path="/", method="GET", body=None, conn=None):
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers={"Host": host})
    response = conn.getresponse()
    return response.status, response.read().decode(), conn


def test_a_registered_host_reaches_its_upstream_with_path_query_and_body(gateway, upstreams):
    gw, port = gateway
    gw.state.ingress.add(Route(HOST, 80, lambda env: upstreams[0], lambda: (503, "none"), owner="svc"))
    status, body, _ = _get(port, HOST, "/v2/_catalog?x=1")  # an app's /v2 path: the app's, not the registry's
    answer = json.loads(body)
    assert status == 200 and answer["who"] == "one" and answer["path"] == "/v2/_catalog?x=1"
    assert answer["host"] == HOST and answer["xff"] == "127.0.0.1"
    status, body, _ = _get(port, HOST, "/_labkit/reset", method="POST", body=b"hello")
    assert json.loads(body)["body"] == "hello" and json.loads(body)["path"] == "/_labkit/reset"


def test_other_hosts_and_ports_reach_the_cloud_as_before(gateway, upstreams):
    gw, port = gateway
    gw.state.ingress.add(Route(HOST, 80, lambda env: upstreams[0], lambda: (503, "none"), owner="svc"))
    status, body, _ = _get(port, f"127.0.0.1:{port}", "/_labkit/health")
    assert status == 200 and json.loads(body)["service"] == "labkit"
    status, body, _ = _get(port, f"{HOST}:8080", "/_labkit/health")  # no listener on 8080 for this name
    assert status == 404 and "nothing answers" in body  # never the cloud's own paths


def test_pick_is_asked_per_request_and_connections_are_kept(gateway, upstreams):
    gw, port = gateway
    turn = iter(range(1000))
    gw.state.ingress.add(Route(HOST, 80, lambda env: upstreams[next(turn) % 2], lambda: (503, "none"), owner="svc"))
    conn, seen, client_ports = None, [], set()
    for _ in range(6):
        status, body, conn = _get(port, HOST, conn=conn)
        seen.append(json.loads(body)["who"])
        client_ports.add((json.loads(body)["who"], json.loads(body)["port"]))
    assert seen == ["one", "two"] * 3
    assert len(client_ports) == 2  # one kept-alive connection per upstream


def test_no_upstream_and_a_dead_upstream_answer_as_the_route_says(gateway):
    gw, port = gateway
    gw.state.ingress.add(Route(HOST, 80, lambda env: None, lambda: (503, "503 Service Temporarily Unavailable"),
                               owner="svc"))
    assert _get(port, HOST)[:2] == (503, "503 Service Temporarily Unavailable")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    gw.state.ingress.add(Route(HOST, 80, lambda env: Upstream("127.0.0.1", dead), lambda: (503, "x"), owner="svc"))
    assert _get(port, HOST)[:2] == (502, "502 Bad Gateway")


def test_routes_go_with_their_owner_and_with_a_reset(gateway, upstreams):
    gw, port = gateway
    gw.state.ingress.add(Route(HOST, 80, lambda env: upstreams[0], lambda: (503, "none"), owner="a"))
    gw.state.ingress.add(Route("other.example", 80, lambda env: upstreams[0], lambda: (503, "none"), owner="b"))
    gw.state.ingress.remove("a")
    assert _get(port, HOST, "/_labkit/health")[0] == 404
    assert _get(port, "other.example")[0] == 200
    gw.state.reset()
    assert gw.state.ingress.routes() == []


def test_a_route_may_answer_itself(gateway):
    gw, port = gateway
    gw.state.ingress.add(Route(HOST, 80, lambda env: Reply(404, "nothing at " + env["PATH_INFO"]),
                               lambda: (503, "x"), owner="svc"))
    assert _get(port, HOST, "/missing")[:2] == (404, "nothing at /missing")


def test_a_service_name_without_a_route_says_nothing_answers_there(gateway):
    gw, port = gateway
    status, body, _ = _get(port, "gone1234ab.ap-northeast-2.awsapprunner.com", "/")
    assert status == 404 and "nothing answers at http://gone1234ab.ap-northeast-2.awsapprunner.com:80/" in body
    status, body, _ = _get(port, "my-alb-1.ap-northeast-2.elb.amazonaws.com:8080", "/")
    assert status == 404 and "NoSuchBucket" not in body


def test_host_header_forms():
    assert split_host("Name.Example:8080") == ("name.example", 8080)
    assert split_host("name.example") == ("name.example", 80)
    assert split_host("[::1]") == ("[::1]", 80)
