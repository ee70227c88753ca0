"""Drive a real `labkit lab` server the way the browser does: its HTTP API and a kernel's websocket.

No browser here: GET the lab page, the contents API (what opening a notebook reads), POST a
session (what opening a notebook starts), execute cells over /api/kernels/<id>/channels.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "labkit-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(port: int, *labkit_args: str, env: dict | None = None, log: Path) -> subprocess.Popen:
    """`labkit lab --no-browser --port PORT ARGS -- --IdentityProvider.token=TOKEN`, output to `log`."""
    command = [sys.executable, "-m", "labkit.cli", "lab", "--no-browser", "--port", str(port), *labkit_args,
               "--", f"--IdentityProvider.token={TOKEN}"]
    with open(log, "ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def wait_ready(port: int, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    """The server is ready when GET /api answers (it listens only once every extension has loaded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"labkit lab exited ({proc.returncode}):\n{log.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"JupyterLab did not answer on port {port}:\n{log.read_text(errors='replace')[-4000:]}")


def stop_lab(proc: subprocess.Popen, timeout: float = 60.0) -> int:
    """SIGTERM to the launcher, as a terminal's kill or a service manager would."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise


def request(port: int, method: str, path: str, body: dict | None = None, token: str | None = TOKEN,
            follow: bool = True) -> tuple[int, str, dict]:
    """(status, body text, headers) of one API call."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if token:
        req.add_header("Authorization", f"token {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=30) as resp:
            return resp.status, resp.read().decode(errors="replace"), dict(resp.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace"), dict(error.headers)


def api(port: int, method: str, path: str, body: dict | None = None):
    status, text, _ = request(port, method, path, body)
    assert status < 400, f"{method} {path}: {status} {text[:500]}"
    return json.loads(text) if text else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def open_notebook(port: int, path: str) -> str:
    """Read the notebook (as the browser does when it opens it) and start its kernel; the kernel id."""
    api(port, "GET", f"/api/contents/{path}?content=1&type=notebook")
    session = api(port, "POST", "/api/sessions",
                  {"path": path, "name": Path(path).name, "type": "notebook", "kernel": {"name": "python3"}})
    return session["kernel"]["id"]


def execute(port: int, kernel_id: str, code: str, timeout: float = 120.0) -> dict:
    """Run `code` in the kernel over its websocket. {'status': 'ok'|'error', 'text': all output}.
    In a thread of its own: a pytest worker that ran the browser tests has Playwright's event loop
    running in this one, and asyncio.run() refuses to start beside it."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _execute(port, kernel_id, code, timeout)).result()


async def _execute(port: int, kernel_id: str, code: str, timeout: float) -> dict:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    session = uuid.uuid4().hex
    url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={session}"
    conn = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {TOKEN}"}))
    msg_id = uuid.uuid4().hex
    conn.write_message(json.dumps({
        "header": {"msg_id": msg_id, "username": "student", "session": session, "msg_type": "execute_request",
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))
    texts, status, idle = [], None, False
    deadline = asyncio.get_running_loop().time() + timeout
    while not (idle and status):
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"no answer from the kernel within {timeout} s; output so far: {''.join(texts)}")
        raw = await asyncio.wait_for(conn.read_message(), left)
        if raw is None:
            raise AssertionError("the kernel websocket closed")
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            texts.append(content["text"])
        elif kind in ("execute_result", "display_data"):
            texts.append(content["data"].get("text/markdown") or content["data"].get("text/plain", ""))
        elif kind == "error":
            texts.append("\n".join(content["traceback"]))
        elif kind == "execute_reply":
            status = content["status"]
        elif kind == "status" and content["execution_state"] == "idle":
            idle = True
    conn.close()
    return {"status": status, "text": "".join(texts)}


def isolated_env(tmp: Path, **extra: str) -> dict:
    """A new user's environment: a fresh HOME (Jupyter's config, data and workspaces), a private
    LABKIT_HOME and lessons' port (other tests' clouds run on this machine at the same time)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "LABKIT_", "JPY_"))}
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), LABKIT_HOME=str(tmp / "labkit-home"), LABKIT_AWS_PORT=str(free_port()))
    env.update(extra)
    return env


# What a newcomer met in the log before (each has its cause fixed or, where not ours, is filtered).
KNOWN_NOISE = ("is not trusted", "No nbgrader_config.py", "without encryption", "websocket_ping",
               "Formgrader config is not serializable", "Unwritable directory")


def server_log_problems(text: str) -> list[str]:
    """The lines of a Jupyter server log (kernels' output included) a newcomer would read as trouble:
    every warning, error and traceback, but for the line Jupyter itself logs when told to stop."""
    bad = []
    for line in text.splitlines():
        if line.startswith(("[W ", "[E ")) or "Traceback" in line or any(n in line for n in KNOWN_NOISE):
            bad.append(line)
        elif "WARNING" in line or "ERROR" in line or "Warning:" in line:
            bad.append(line)
        elif line.startswith("[C ") and "received signal" not in line:
            bad.append(line)
    return bad


def first_code_cell(notebook: Path) -> str:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    return next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


_CONFIG_PROBE = r"""
import json
from jupyter_core.paths import jupyter_path
from jupyter_server.serverapp import ServerApp
from jupyterlab_server.config import get_page_config

app = ServerApp()
app.initialize(["--ServerApp.open_browser=False"], find_extensions=True, new_httpserver=False)
lab = app.config.LabApp
print(json.dumps({
    "ip": app.ip, "root_dir": app.root_dir, "jpserver_extensions": dict(app.jpserver_extensions),
    "news_url": lab.news_url, "check_for_updates_class": lab.check_for_updates_class,
    "extension_manager": lab.extension_manager, "default_url": lab.get("default_url"),
    "workspaces_dir": lab.workspaces_dir,
    "transport_encryption": app.config.KernelManager.get("transport_encryption"),
    "disabled": get_page_config(jupyter_path("labextensions"))["disabledExtensions"],
}))
"""


def loaded_config(mode: str, root: Path, env: dict) -> dict:
    """The configuration a Jupyter server started by `labkit lab` (mode) reads, as it reads it."""
    from labkit.jupyter.environment import server_environment

    out = subprocess.run([sys.executable, "-c", _CONFIG_PROBE], env=server_environment(mode, root, env),
                         cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def jupyter_pid(launcher: subprocess.Popen) -> int:
    """The Jupyter server the launcher started (its only child)."""
    children = Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def environment_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)
