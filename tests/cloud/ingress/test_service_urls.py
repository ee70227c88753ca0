"""A student's kernel reaches the service URLs of the local cloud (labkit/net.py, labkit/aws.py):
after `labkit.net.install()` (labkit.start() does it) requests and urllib resolve *.awsapprunner.com,
*.elb.amazonaws.com and *.run.app to the cloud's port, which routes by Host; other names are untouched;
`labkit.aws.hit` counts the answers."""
from __future__ import annotations

import socket
import threading
import urllib.request

import pytest
import requests
from werkzeug.serving import make_server

from labkit import aws, net
from labkit.cloud.gateway import Gateway
from labkit.cloud.ingress import Reply, Route
from labkit.messages import text

APP = "abc123.ap-northeast-2.awsapprunner.com"
ALB = "my-alb-1234567890.ap-northeast-2.elb.amazonaws.com"
ECHO = "echo.asia-northeast3.run.app"


@pytest.fixture
def cloud_port(tmp_path, monkeypatch):
    gw = Gateway(str(tmp_path), control_token="t")
    server = make_server("127.0.0.1", 0, gw, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("LABKIT_AWS_PORT", str(server.server_port))
    turn = iter(range(10**6))
    gw.state.ingress.add(Route(APP, 80, lambda env: Reply(200, "Hello from AWS!\n"), lambda: (503, "x"), "a"))
    gw.state.ingress.add(Route(ALB, 80, lambda env: Reply(200, "v2" if next(turn) % 10 == 0 else "v1"),
                               lambda: (503, "x"), "b"))
    gw.state.ingress.add(Route(ALB, 8080, lambda env: Reply(404, "none on 8080"), lambda: (503, "x"), "b"))
    gw.state.ingress.add(Route(ECHO, 80, lambda env: Reply(200, env["PATH_INFO"]), lambda: (503, "x"), "c"))
    net.install()
    yield server.server_port
    server.shutdown()


def test_python_clients_reach_the_service_urls(cloud_port):
    assert requests.get(f"http://{APP}/", timeout=5).text == "Hello from AWS!\n"
    assert urllib.request.urlopen(f"http://{APP}/", timeout=5).read() == b"Hello from AWS!\n"
    answer = requests.get(f"http://{ALB}:8080/", timeout=5)  # the listener port travels in Host
    assert (answer.status_code, answer.text) == (404, "none on 8080")


def test_other_names_resolve_as_before(cloud_port):
    assert socket.getaddrinfo("localhost", 80)[0][4][0] in ("127.0.0.1", "::1")
    assert not net.is_cloud_name("example.com") and net.is_cloud_name(APP.upper() + ".")
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("no-such-name.invalid", 80)


def test_hit_counts_the_answers(cloud_port):
    answers = aws.hit(ALB, n=1000)
    assert sum(answers.values()) == 1000 and answers["v2"] == 100 and answers.share("v1") == 0.9
    assert aws.hit(f"https://{APP}", n=3) == {"Hello from AWS!": 3}  # https is answered as http locally
    assert aws.hit(f"http://{ECHO}/ignored", n=2, path="health") == {"/health": 2}
    missing = aws.hit(f"{ALB}:8080")
    assert missing == {"HTTP 404: none on 8080": 1}


def test_hit_shows_a_table_in_the_students_language(cloud_port, monkeypatch):
    for lang in ("en", "ko"):
        monkeypatch.setenv("LABKIT_LANG", lang)
        table = aws.hit(APP, n=4)._repr_markdown_()
        assert text("hit.share") in table and "| `Hello from AWS!` | 4 | 100.0% |" in table
