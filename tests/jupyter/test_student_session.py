"""A new student's session with the real `labkit lab`: the landing page, a lesson and a lab opened
and run through the server's API, then the launcher stopped with SIGTERM.

One session (module fixture) answers every question here: what JupyterLab shows, what its log
says, and which local clouds are left once it is gone.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from labkit.cloud.process import _alive, clouds_under, lab_home, start_cloud
from tests.jupyter import labserver as L

COURSE = L.ROOT / "course"


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("student")
    env = L.isolated_env(tmp)
    home = Path(env["LABKIT_HOME"])
    # Started in a terminal before JupyterLab (`labkit up`): the launcher must leave it running.
    before = start_cloud(home, int(env["LABKIT_AWS_PORT"]))
    port, log = L.free_port(), tmp / "server.log"
    proc = L.start_lab(port, env=env, log=log)
    result = {"env": env, "home": home, "before": before, "log": log}
    try:
        L.wait_ready(port, proc, log)
        result["landing"] = L.request(port, "GET", "/", follow=False)[2].get("Location", "")
        status, page, _ = L.request(port, "GET", "/lab")
        result["lab_page_status"] = status
        result["page_config"] = json.loads(re.search(
            r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S).group(1))
        result["root"] = sorted(c["name"] for c in L.api(port, "GET", "/api/contents/")["content"])
        result["instructor_endpoints"] = {p: L.request(port, "GET", p)[0] for p in
                                          ("/formgrader", "/formgrader/api/status", "/assignments", "/courses")}
        L.open_notebook(port, "index.ipynb")
        lesson = L.open_notebook(port, "en/02_registries.ipynb")
        result["lesson_start"] = L.execute(port, lesson, L.first_code_cell(COURSE / "en/02_registries.ipynb"))
        result["aws"] = L.execute(port, lesson, "!aws ecr describe-repositories")
        lab = L.open_notebook(port, "ko/lab02.ipynb")
        result["lab_start"] = L.execute(port, lab, L.first_code_cell(COURSE / "ko/lab02.ipynb"))
        # A cloud of another lab, started while JupyterLab runs (as that lab's first cell would).
        result["other_lab"] = start_cloud(lab_home(home, "lab99"))
        result["during"] = {c.pid for c in clouds_under(home)}
    finally:
        result["exit"] = L.stop_lab(proc)
        result["log_text"] = log.read_text(errors="replace")
        result["after"] = clouds_under(home)
    yield result
    before.stop()


def test_opens_on_the_landing_page_with_course_as_root(session):
    assert session["landing"].startswith("/lab/tree/en/00_index.ipynb")  # the course index
    assert session["lab_page_status"] == 200
    assert session["root"] == ["en", "index.ipynb", "ko"]  # nothing else: no checkpoints, no repo files


def test_no_instructor_tools(session):
    disabled = session["page_config"]["disabledExtensions"]
    assert "@jupyter/nbgrader" in disabled  # menu, Create Assignment sidebar, Validate button
    assert all(code == 404 for code in session["instructor_endpoints"].values()), session["instructor_endpoints"]


def test_nothing_fetched_from_outside_in_the_page(session):
    config = session["page_config"]
    assert config["news"] == {"disabled": True}
    assert config["extensionManager"]["name"] == "read-only"
    assert {"@jupyterlab/apputils-extension:announcements",
            "@jupyterlab/extensionmanager-extension"} <= set(config["disabledExtensions"])


def test_cells_run_against_the_local_cloud(session):
    assert session["lesson_start"]["status"] == "ok", session["lesson_start"]
    assert session["aws"]["status"] == "ok" and '"repositories"' in session["aws"]["text"], session["aws"]
    assert session["lab_start"]["status"] == "ok", session["lab_start"]
    assert "로컬 클라우드" in session["lab_start"]["text"]  # the Korean lab speaks Korean


def test_server_log_has_no_noise(session):
    probes = re.compile(r"404 GET /(formgrader|assignments|courses)\b")  # this test's own probes, above
    problems = [line for line in L.server_log_problems(session["log_text"]) if not probes.search(line)]
    assert not problems, "\n".join(problems)
    assert "Kernel started" in session["log_text"]  # the log is the server's, kernels included


def test_clouds_started_during_the_session_are_stopped_at_exit(session):
    before, other = session["before"], session["other_lab"]
    assert session["exit"] == 0
    started = session["during"] - {before.pid}
    assert other.pid in started and len(started) >= 2, session["during"]  # lab02's (by its kernel) and lab99's
    assert [c.pid for c in session["after"]] == [before.pid]
    assert not any(_alive(pid) for pid in started)
    assert "JupyterLab has stopped, and so have the local clouds it started: 2." in session["log_text"]
    assert "Left running, as they were started before JupyterLab: 1 local cloud(s)." in session["log_text"]


def test_course_notebooks_are_trusted_where_jupyter_looks(session):
    from nbformat import read
    from nbformat.sign import NotebookNotary

    data_dir = Path(session["env"]["HOME"]) / ".local/share/jupyter"
    with NotebookNotary(data_dir=str(data_dir)) as notary:
        assert all(notary.check_signature(read(p, as_version=4))
                   for p in (COURSE / "index.ipynb", COURSE / "en/02_registries.ipynb", COURSE / "ko/lab02.ipynb"))
    assert os.environ.get("HOME") != session["env"]["HOME"]
