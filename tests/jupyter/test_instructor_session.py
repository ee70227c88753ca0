"""The instructor's JupyterLab (`labkit lab --instructor --course DIR`), for real: made with
`grader init`, nbgrader's tools on, formgrader finding the course and its labs, a quiet log, and
(with the loopback guard on PYTHONPATH, as tests/safety/ does) no outbound connection.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from labkit.jupyter.instructor import course_labs
from tests.jupyter import labserver as L

GUARD = L.ROOT / "tests" / "safety" / "guard"


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("instructor")
    course, net_log = tmp / "class", tmp / "net.log"
    env = L.isolated_env(tmp, PYTHONPATH=str(GUARD), LABKIT_NET_LOG=str(net_log))
    port, log = L.free_port(), tmp / "server.log"
    proc = L.start_lab(port, "--instructor", "--course", str(course), env=env, log=log)
    result = {"course": course}
    try:
        L.wait_ready(port, proc, log, timeout=180)  # `grader init` runs first
        result["server_env"] = L.environment_of(L.jupyter_pid(proc))
        status, page, _ = L.request(port, "GET", "/lab")
        result["page_config"] = json.loads(re.search(
            r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S).group(1))
        result["root"] = sorted(c["name"] for c in L.api(port, "GET", "/api/contents/")["content"])
        result["status"] = L.api(port, "GET", "/formgrader/api/status")
        result["assignments"] = L.api(port, "GET", "/formgrader/api/assignments")
        result["manage"] = L.request(port, "GET", "/formgrader/manage_assignments")[0]
        result["courses"] = L.api(port, "GET", "/courses")
        L.api(port, "GET", "/api/contents/source/lab02/lab02.ipynb?content=1&type=notebook")
        L.api(port, "GET", "/api/contents/release/lab02/lab02.ipynb?content=1&type=notebook")
    finally:
        result["exit"] = L.stop_lab(proc)
        result["log_text"] = log.read_text(errors="replace")
    result["connections"] = net_log.read_text().splitlines() if net_log.exists() else []
    yield result


def test_formgrader_finds_the_course_and_every_lab(session):
    assert session["status"] == {"status": True}
    names = sorted(a["name"] for a in session["assignments"])
    assert names == course_labs() and "lab02" in names
    assert session["manage"] == 200


def test_opens_on_the_nbgrader_course_made_by_grader_init(session):
    root = session["root"]
    assert {"nbgrader_config.py", "gradebook.db", "source", "release"} <= set(root)
    assert "# Written by `grader init`" in (session["course"] / "nbgrader_config.py").read_text()


def test_instructor_tools_are_on(session):
    assert "@jupyter/nbgrader" not in session["page_config"]["disabledExtensions"]
    assert session["courses"]["success"] is True  # nbgrader's Courses panel works (private exchange)


def test_log_is_quiet(session):
    problems = L.server_log_problems(session["log_text"])
    assert not problems, "\n".join(problems)
    assert "nbgrader.server_extensions.formgrader | extension was successfully loaded" in session["log_text"]


def test_no_outbound_connection(session):
    assert session["exit"] == 0
    assert session["server_env"]["PYTHONPATH"] == str(GUARD)  # the guard is in JupyterLab's process
    blocked = [line for line in session["connections"] if " BLOCKED " in line]
    assert not blocked, blocked
