"""Binder's start-up, as far as it can be tried here: binder/start wrapping the server command
BinderHub gives a repo2docker image (`jupyter notebook` with BinderSpawnerMixin's arguments; it
listens on 127.0.0.1 here, not Binder's 0.0.0.0). Not tried here: repo2docker's build
(binder/environment.yml, binder/postBuild) and mybinder.org itself (no Docker, no Binder).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.cloud.process import clouds_under

from tests.jupyter import labserver as L

# Binder's own command line sets options the old way (NotebookApp.*, ServerApp.token); Jupyter
# warns about those, not about anything of ours.
BINDERS_OWN = ("ServerApp.token config is deprecated", "has moved from NotebookApp to ServerApp")


@pytest.fixture(scope="module")
def binder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("binder")
    env = L.isolated_env(tmp)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])  # Binder's env python
    port, log = L.free_port(), tmp / "server.log"
    command = [str(L.ROOT / "binder" / "start"), "jupyter", "notebook", "--ip=127.0.0.1", f"--port={port}",
               f"--NotebookApp.token={L.TOKEN}", "--NotebookApp.trust_xheaders=True",
               f"--ServerApp.token={L.TOKEN}", "--ServerApp.trust_xheaders=True", "--no-browser"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, env=env, cwd=L.ROOT, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    result = {}
    try:
        L.wait_ready(port, proc, log)
        result["root"] = sorted(c["name"] for c in L.api(port, "GET", "/api/contents/")["content"])
        status, page, _ = L.request(port, "GET", "/lab/tree/en/00_index.ipynb")  # the badge's urlpath
        result["landing"] = status
        result["page_config"] = json.loads(re.search(
            r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S).group(1))
        result["formgrader"] = L.request(port, "GET", "/formgrader")[0]
        result["news"] = L.api(port, "GET", "/lab/api/news")
        L.open_notebook(port, "index.ipynb")
        kernel = L.open_notebook(port, "en/02_registries.ipynb")
        result["start"] = L.execute(port, kernel, "import labkit; labkit.start()")
    finally:
        L.stop_lab(proc)
        result["log_text"] = log.read_text(errors="replace")
        for cloud in clouds_under(Path(env["LABKIT_HOME"])):  # on Binder the container ends them
            cloud.stop()
    yield result


def test_binder_opens_the_course_as_make_lab_does(binder):
    assert binder["root"] == ["en", "index.ipynb", "ko"]
    assert binder["landing"] == 200
    assert binder["start"]["status"] == "ok", binder["start"]


def test_binder_has_no_instructor_tools_and_fetches_nothing(binder):
    assert "@jupyter/nbgrader" in binder["page_config"]["disabledExtensions"]
    assert binder["formgrader"] == 404
    assert binder["news"] == {"news": []} and binder["page_config"]["extensionManager"]["name"] == "read-only"


def test_binder_log_is_quiet(binder):
    probes = re.compile(r"404 GET /formgrader\b")  # this test's own probe
    problems = [line for line in L.server_log_problems(binder["log_text"])
                if not probes.search(line) and not any(own in line for own in BINDERS_OWN)]
    assert not problems, "\n".join(problems)
