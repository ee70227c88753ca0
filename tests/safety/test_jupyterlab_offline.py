"""The student's JupyterLab makes no outbound connection: the real `labkit lab` server, its kernels
and the commands they run all start with the loopback guard (guard/sitecustomize.py) on
PYTHONPATH, which logs every connect and refuses any that is not 127.0.0.1.

The session does what a student's does, through the server's API: the lab page, the announcement
endpoints the page calls when it loads (news, update check), the extension manager's listing, a
lesson and a lab notebook opened, `labkit.start()` and `!aws ecr describe-repositories` run.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.jupyter import labserver as L

GUARD = Path(__file__).parent / "guard"
COURSE = L.ROOT / "course"

# What the page asks the server for when it loads or when the student opens a panel.
PAGE_ENDPOINTS = (
    "/lab", "/lab/api/news", "/lab/api/update", "/lab/api/extensions?query=&page=1&per_page=30",
    "/lab/api/extensions?query=jupyterlab&page=1&per_page=30&refresh=1", "/lab/api/extensions?refresh=1",
    "/lab/api/plugins", "/lab/api/settings", "/lab/api/translations", "/lab/api/translations/ko_KR",
    "/api/kernelspecs", "/lsp/status", "/lab/api/workspaces",
)
SETTLE_S = 5.0  # let anything the page or the server schedules after load run


@pytest.fixture(scope="module")
def guarded_session(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("offline")
    net_log = tmp / "net.log"
    env = L.isolated_env(tmp, PYTHONPATH=str(GUARD), LABKIT_NET_LOG=str(net_log))
    port, log = L.free_port(), tmp / "server.log"
    proc = L.start_lab(port, env=env, log=log)
    result = {"net_log": net_log}
    try:
        L.wait_ready(port, proc, log)
        result["endpoints"] = {path: L.request(port, "GET", path)[0] for path in PAGE_ENDPOINTS}
        result["news"] = L.api(port, "GET", "/lab/api/news")
        result["update"] = L.api(port, "GET", "/lab/api/update")
        L.open_notebook(port, "index.ipynb")
        lesson = L.open_notebook(port, "en/02_registries.ipynb")
        result["start"] = L.execute(port, lesson, "import labkit; labkit.start()")
        result["aws"] = L.execute(port, lesson, "!aws ecr describe-repositories")
        result["who"] = json.loads(L.execute(port, lesson, (
            "import json, os, sys; print(json.dumps({'kernel': os.getpid(), 'server': os.getppid(),"
            " 'guard': getattr(sys.modules.get('sitecustomize'), '__file__', None)}))"))["text"])
        lab = L.open_notebook(port, "en/lab02.ipynb")
        result["lab"] = L.execute(port, lab, L.first_code_cell(COURSE / "en/lab02.ipynb"))
        time.sleep(SETTLE_S)
        server = result["who"]["server"]
        result["server_env"] = Path(f"/proc/{server}/environ").read_bytes().split(b"\0")
        result["server_cmd"] = Path(f"/proc/{server}/cmdline").read_bytes().split(b"\0")
    finally:
        L.stop_lab(proc)
    result["connections"] = net_log.read_text().splitlines() if net_log.exists() else []
    yield result


def test_the_session_ran(guarded_session):
    assert all(code < 400 for code in guarded_session["endpoints"].values()), guarded_session["endpoints"]
    assert guarded_session["news"] == {"news": []}
    assert guarded_session["update"] == {"notification": None}
    assert guarded_session["start"]["status"] == "ok", guarded_session["start"]
    assert guarded_session["aws"]["status"] == "ok" and '"repositories"' in guarded_session["aws"]["text"]
    assert guarded_session["lab"]["status"] == "ok", guarded_session["lab"]


def test_the_guard_covered_jupyterlab_and_its_kernels(guarded_session):
    who, server = guarded_session["who"], guarded_session["who"]["server"]
    assert who["guard"] == str(GUARD / "sitecustomize.py")  # in the kernel
    assert f"PYTHONPATH={GUARD}".encode() in guarded_session["server_env"]  # in the JupyterLab server
    assert b"jupyterlab" in guarded_session["server_cmd"]
    lines = [line.split(" ", 2) for line in guarded_session["connections"]]
    pids = {pid for pid, kind, _ in lines if kind in ("ok", "BLOCKED")}
    assert str(who["kernel"]) in pids  # the kernel's own connections (labkit.start, boto3) were seen
    assert len(pids) >= 3  # the launcher, kernels, and the `aws` process they started
    started = {pid: cmdline for pid, kind, cmdline in lines if kind == "guard"}
    assert str(server) in started and str(who["kernel"]) in started  # both started under the guard
    assert any("labkit.cloud.server" in cmdline for cmdline in started.values())  # and lab 02's cloud


def test_no_connection_left_127_0_0_1(guarded_session):
    blocked = [line for line in guarded_session["connections"] if " BLOCKED " in line]
    assert not blocked, blocked


@pytest.mark.parametrize("mode", ["student", "instructor"])
def test_configuration_turns_off_every_outbound_feature(mode, tmp_path):
    root = COURSE if mode == "student" else tmp_path
    config = L.loaded_config(mode, root, L.isolated_env(tmp_path))
    assert config["news_url"] is None
    assert config["check_for_updates_class"] == "jupyterlab.handlers.announcements.NeverCheckForUpdate"
    assert config["extension_manager"] == "readonly"  # no PyPI listing of extensions or language packs
    assert {"@jupyterlab/apputils-extension:announcements",
            "@jupyterlab/extensionmanager-extension"} <= set(config["disabled"])
    assert config["ip"] == "127.0.0.1"
