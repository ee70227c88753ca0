"""The runtime with small in-memory images on the python:3.12-slim stand-in: exit codes and logs,
stop (SIGTERM, then SIGKILL), the limit, start failures, users, and what a container can see."""
from __future__ import annotations

import json
import socket

import pytest

from labkit.cloud.runtime import ContainerSpec, Runtime, RuntimeLimit

from .images import image_files_of
from .test_lesson_app import Recorder, wait_for

SLEEPER = "import time\nprint('up', flush=True)\ntime.sleep(120)\n"
STUBBORN = ("import signal, time\nsignal.signal(signal.SIGTERM, lambda *a: print('ignoring TERM', flush=True))\n"
            "print('up', flush=True)\nwhile True:\n    time.sleep(1)\n")


def spec(name, files, recorder=None, **kwargs) -> ContainerSpec:
    config = {k: kwargs.pop(k) for k in ("Cmd", "Entrypoint", "User", "StopSignal", "Env") if k in kwargs}
    recorder = recorder or Recorder()
    return ContainerSpec(name=name, image=image_files_of(files, **config), on_log=recorder.on_log,
                         on_exit=recorder.on_exit, **kwargs)


def test_exit_code_and_logs_in_order(runtime, isolation):
    recorder = Recorder()
    script = "import sys\nfor i in range(3):\n    print('line', i)\nprint('oops', file=sys.stderr)\nsys.exit(3)\n"
    container = runtime.start(spec("job", {"/app/job.py": script}, recorder, Cmd=["python", "job.py"]))
    assert wait_for(lambda: recorder.exits)
    assert recorder.exits == [("job", 3, "exited")]
    assert [line for _, s, _, line in recorder.logs if s == "stdout"] == ["line 0", "line 1", "line 2"]
    assert [line for _, s, _, line in recorder.logs if s == "stderr"] == ["oops"]
    assert container.state == "exited" and container.exit_code == 3 and container.pid
    assert runtime.get("job") is container


def test_stop_sends_sigterm_then_sigkill_after_the_timeout(runtime, isolation):
    recorder = Recorder()
    container = runtime.start(spec("stubborn", {"/app/s.py": STUBBORN}, recorder, Cmd=["python", "s.py"]))
    assert wait_for(lambda: any(line == "up" for *_, line in recorder.logs))
    runtime.stop("stubborn", timeout=0.5, reason="Scaling activity")
    assert container.state == "exited" and container.exit_code == 137
    assert recorder.exits == [("stubborn", 137, "Scaling activity")]
    assert any(line == "ignoring TERM" for *_, line in recorder.logs)  # SIGTERM reached the app first


def test_the_images_stop_signal(runtime, isolation):
    recorder = Recorder()
    container = runtime.start(spec("quit", {"/app/s.py": SLEEPER}, recorder, Cmd=["python", "s.py"],
                                   StopSignal="SIGINT"))
    assert wait_for(lambda: any(line == "up" for *_, line in recorder.logs))  # Python's handler is in place
    runtime.stop("quit", timeout=5)
    assert container.exit_code == 130  # 128 + SIGINT (Python ends an uncaught KeyboardInterrupt so)
    assert wait_for(lambda: any(line == "KeyboardInterrupt" for _, s, _, line in recorder.logs if s == "stderr"))


def test_a_bounded_number_of_containers(tmp_path, isolation):
    runtime = Runtime(tmp_path / "runtime", max_containers=2)
    try:
        for i in range(2):
            runtime.start(spec(f"s{i}", {"/app/s.py": SLEEPER}, Cmd=["python", "s.py"]))
        with pytest.raises(RuntimeLimit, match="at most 2 containers"):
            runtime.start(spec("s2", {"/app/s.py": SLEEPER}, Cmd=["python", "s.py"]))
        with pytest.raises(ValueError, match="already running"):
            runtime.start(spec("s0", {"/app/s.py": SLEEPER}, Cmd=["python", "s.py"]))
        runtime.stop("s0", timeout=2)
        runtime.start(spec("s2", {"/app/s.py": SLEEPER}, Cmd=["python", "s.py"]))  # room again
    finally:
        runtime.stop_all(timeout=1)
    assert {c.state for c in runtime.list()} == {"exited"}
    assert not list((tmp_path / "runtime" / "containers").iterdir())  # their copies are gone


def test_an_executable_that_is_not_there(runtime, isolation):
    recorder = Recorder()
    container = runtime.start(spec("typo", {"/app/a.py": ""}, recorder, Cmd=["pyhton", "a.py"]))
    assert wait_for(lambda: recorder.exits)
    assert recorder.exits == [("typo", None, 'exec: "pyhton": executable file not found in $PATH')]
    assert container.state == "exited" and container.exit_code is None and container.pid is None
    empty = runtime.start(spec("nothing", {"/app/a.py": ""}, Cmd=None))
    assert wait_for(lambda: empty.state == "exited") and empty.reason == "No command specified"


def test_the_environment_is_the_images_not_the_clouds(runtime, isolation, monkeypatch):
    monkeypatch.setenv("LABKIT_CONTROL_TOKEN", "secret-token")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-key")
    container = runtime.start(spec("env", {"/app/s.py": SLEEPER}, Cmd=["python", "s.py"],
                                   environment={"MODE": "test"}))
    assert wait_for(lambda: container.state == "running")
    code, out, _ = container.exec(["python", "-c", "import json, os; print(json.dumps(dict(os.environ)))"])
    assert code == 0
    env = json.loads(out)
    assert env["MODE"] == "test" and env["LANG"] == "C.UTF-8" and env["PYTHON_VERSION"] == "3.12.12"
    assert env["HOSTNAME"] and env["HOME"].endswith("/root")
    assert "secret-token" not in out.decode() and "real-key" not in out.decode()
    assert not {k for k in env if k.startswith("AWS_") or k == "LABKIT_HOME" or k == "VIRTUAL_ENV"}


def test_inside_bubblewrap_only_the_images_files(runtime, bwrap_only, tmp_path):
    """The container's `/` is the image; the cloud's home and the host's other files are not there;
    it has its own processes and network; the image's USER applies."""
    secret = tmp_path / "cloud-home" / "cloud.json"
    secret.parent.mkdir()
    secret.write_text('{"token": "secret"}')
    outside = socket.socket()
    outside.bind(("127.0.0.1", 0))
    outside.listen(1)
    recorder = Recorder()
    container = runtime.start(spec("walls", {"/app/s.py": SLEEPER}, recorder, Cmd=["python", "s.py"], User="1000"))
    try:
        assert wait_for(lambda: container.state == "running")
        ls = container.exec(["ls", "/"])[1].decode().split()
        assert {"app", "etc", "usr", "proc", "tmp"} <= set(ls)
        assert "farm" not in ls and "boot" not in ls and "home" not in ls
        assert container.exec(["cat", str(secret)])[0] != 0
        assert container.exec(["ls", str(runtime.home)])[0] != 0
        assert container.exec(["id", "-u"])[1] == b"1000\n"
        # the agent's sockets are handed to it open: nothing of the runtime's is there to relink
        assert container.exec(["ls", "-A", "/run/labkit"])[1] == b"agent.py\n"
        assert wait_for(lambda: any(line == "up" for *_, line in recorder.logs))  # done starting
        assert container.exec(["cat", "/proc/3/cmdline"])[1] == b"python\0s.py\0"  # bwrap's init, agent, app
        assert container.exec(["ls", "/proc/3/fd"])[1].split() == [b"0", b"1", b"2"]  # none of the agent's sockets
        pids = container.exec(["ls", "/proc"])[1].decode().split()
        assert sorted(int(p) for p in pids if p.isdigit())[:2] == [1, 2]  # its own pid namespace
        assert len([p for p in pids if p.isdigit()]) < 10
        port = outside.getsockname()[1]
        probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
        assert container.exec(["python", "-c", probe])[0] != 0  # the host's loopback is not its loopback
        assert container.exec(["sh", "-c", "echo x > /app/new && cat /app/new"])[1] == b"x\n"  # writable
    finally:
        outside.close()
        runtime.stop("walls", timeout=2)
    again = runtime.start(spec("walls", {"/app/s.py": SLEEPER}, Cmd=["python", "s.py"]))
    assert wait_for(lambda: again.state == "running")
    assert again.exec(["ls", "/app"])[1] == b"s.py\n"  # a fresh copy: the last one's file is not there


def test_a_plain_process_binds_its_own_address(runtime, plain_only):
    """Without namespaces, binding 0.0.0.0:8080 lands on the container's own 127.0.1.N:8080."""
    server = ("import http.server, os\nclass H(http.server.BaseHTTPRequestHandler):\n"
              "    def do_GET(self):\n        self.send_response(200); self.end_headers()\n"
              "        self.wfile.write(os.environ['WHO'].encode())\n"
              "http.server.HTTPServer(('0.0.0.0', 8080), H).serve_forever()\n")
    a = runtime.start(spec("a", {"/app/s.py": server}, Cmd=["python", "s.py"], ports=[8080], environment={"WHO": "a"}))
    b = runtime.start(spec("b", {"/app/s.py": server}, Cmd=["python", "s.py"], ports=[8080], environment={"WHO": "b"}))
    assert wait_for(lambda: a.http_get(8080)) == (200, b"a")
    assert wait_for(lambda: b.http_get(8080)) == (200, b"b")
    assert a.address != b.address
    # the app's own client reaching 127.0.0.1:8080 is sent to its address too (a health check)
    check = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/').read().decode())"
    assert a.exec(["python", "-c", check])[1] == b"a\n"


def test_where_only_127_0_0_1_exists_each_container_gets_its_own_port(runtime, plain_only, monkeypatch):
    """macOS: no 127.0.1.N; the app still binds 0.0.0.0:8080, and lands on 127.0.0.1:free port."""
    from labkit.cloud.runtime import network

    monkeypatch.setattr(network, "own_addresses", lambda: False)
    server = ("import http.server\nclass H(http.server.BaseHTTPRequestHandler):\n"
              "    def do_GET(self):\n        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\n"
              "http.server.HTTPServer(('0.0.0.0', 8080), H).serve_forever()\n")
    a = runtime.start(spec("a", {"/app/s.py": server}, Cmd=["python", "s.py"], ports=[8080]))
    b = runtime.start(spec("b", {"/app/s.py": server}, Cmd=["python", "s.py"], ports=[8080]))
    assert a.address == b.address == "127.0.0.1" and a.ports[8080] != b.ports[8080] != 8080
    assert wait_for(lambda: a.http_get(8080)) == (200, b"ok") and wait_for(lambda: b.http_get(8080)) == (200, b"ok")


def test_the_clouds_reset_stops_every_container(tmp_path, isolation):
    from labkit.cloud.state import CloudState

    state = CloudState(home=tmp_path / "cloud-home")
    assert state._runtime is None  # made on first use only
    recorder = Recorder()
    container = state.runtime.start(spec("s", {"/app/s.py": SLEEPER}, recorder, Cmd=["python", "s.py"]))
    assert wait_for(lambda: container.state == "running")
    state.reset()
    assert container.state == "exited" and recorder.exits == [("s", 143, "stopped")]
    assert state.runtime.home == tmp_path / "cloud-home" / "runtime"
