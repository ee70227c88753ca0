"""`labkit lab` without a real JupyterLab: its arguments, the server's environment, the notebooks
it trusts, the instructor's course, and the local clouds it stops when Jupyter ends (here a short
stand-in for Jupyter that starts a cloud the way a notebook's first cell does)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.sign import NotebookNotary
from traitlets.config.loader import PyFileConfigLoader

from labkit.cloud.process import _alive, clouds_under
from labkit.jupyter import environment, instructor, launch, trust

# Stands in for Jupyter: starts lab02's own cloud under LABKIT_HOME, records its pid and the
# configuration path it was given, then exits (or, with WAIT, waits for a signal first).
FAKE_JUPYTER = r"""
import json, os, sys, time
from pathlib import Path
from labkit.cloud.process import lab_home, start_cloud
cloud = start_cloud(lab_home(Path(os.environ["LABKIT_HOME"]), "lab02"))
Path(os.environ["FAKE_OUT"]).write_text(json.dumps({"pid": cloud.pid, "config": os.environ["JUPYTER_CONFIG_PATH"]}))
try:
    while os.environ.get("WAIT"):
        time.sleep(0.05)
except KeyboardInterrupt:
    sys.exit(0)
"""


@pytest.fixture
def student_env(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "labkit-home"))
    monkeypatch.setenv("FAKE_OUT", str(tmp_path / "fake.json"))
    monkeypatch.delenv("LABKIT_BASE_HOME", raising=False)
    monkeypatch.delenv("WAIT", raising=False)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    return tmp_path


def test_arguments_after_dashdash_and_unknown_ones_go_to_jupyter():
    args, extra = launch.split_arguments(["--port", "8890", "--no-browser", "--ServerApp.x=1", "--",
                                          "--IdentityProvider.token=T", "--port=1"])
    assert (args.port, args.no_browser, args.instructor) == (8890, True, False)
    assert extra == ["--ServerApp.x=1", "--IdentityProvider.token=T", "--port=1"]


def test_jupyter_command_fixes_the_port_and_allows_root_only_as_root(monkeypatch):
    args, extra = launch.split_arguments(["--port", "8890", "--no-browser", "--", "--IdentityProvider.token=T"])
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    command = launch.jupyter_command(args, extra)
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert {"--ServerApp.port=8890", "--ServerApp.port_retries=0", "--ServerApp.open_browser=False"} <= set(command)
    assert "--allow-root" not in command and command[-1] == "--IdentityProvider.token=T"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert "--allow-root" in launch.jupyter_command(args, extra)
    assert not any(a.startswith("--ServerApp.port") for a in launch.jupyter_command(launch.split_arguments([])[0], []))


def test_server_environment_puts_our_configuration_first(tmp_path):
    base = {"JUPYTER_CONFIG_PATH": "/theirs", "PATH": "/usr/bin"}
    env = environment.server_environment("student", tmp_path, base)
    config = environment.CONFIG
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(config / "student"), str(config / "common"), "/theirs"]
    assert env["LABKIT_JUPYTER_ROOT"] == str(tmp_path)
    assert env["PATH"].split(os.pathsep) == [os.path.dirname(sys.executable), "/usr/bin"]
    assert environment.server_environment("instructor", tmp_path, base)["JUPYTER_CONFIG_PATH"].startswith(
        str(config / "instructor") + os.pathsep)
    with pytest.raises(ValueError):
        environment.config_path("teacher")


def test_clouds_started_while_jupyter_ran_are_stopped_when_it_exits(student_env, monkeypatch, capsys):
    monkeypatch.setattr(launch, "jupyter_command", lambda args, extra: [sys.executable, "-c", FAKE_JUPYTER])
    assert launch.main([]) == 0
    fake = json.loads((student_env / "fake.json").read_text())
    assert fake["config"].split(os.pathsep)[0] == str(environment.CONFIG / "student")
    assert not _alive(fake["pid"])
    assert clouds_under(student_env / "labkit-home") == []
    assert "the local clouds it started: 1." in capsys.readouterr().out


def test_ctrl_c_or_sigterm_reaches_jupyter_and_then_the_clouds_stop(student_env):
    """The launcher as its own process, signalled from outside (no terminal: it forwards SIGINT)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        (student_env / "fake.json").unlink(missing_ok=True)
        code = ("import sys, labkit.jupyter.launch as l; "
                f"l.jupyter_command = lambda a, e: [sys.executable, '-c', {FAKE_JUPYTER!r}]; sys.exit(l.main([]))")
        proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ, WAIT="1"),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + 60
        while not (student_env / "fake.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = json.loads((student_env / "fake.json").read_text())["pid"]
        assert _alive(pid)
        proc.send_signal(signum)
        out, _ = proc.communicate(timeout=60)
        assert not _alive(pid), out
        assert "the local clouds it started: 1." in out, out


def test_course_is_for_the_instructor_only(capsys):
    assert launch.main(["--course", "/tmp/somewhere"]) == 2
    assert "--instructor" in capsys.readouterr().err


def test_a_missing_course_folder_is_named(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_COURSE_DIR", str(tmp_path / "nowhere"))
    assert launch.main([]) == 1
    assert str(tmp_path / "nowhere") in capsys.readouterr().err


def test_instructor_course_defaults_to_the_repository_and_runs_there(monkeypatch):
    seen = {}
    monkeypatch.setattr(launch, "_prepare_instructor_course", lambda root: seen.setdefault("prepared", root) or True)
    monkeypatch.setattr(launch, "run_forwarding_signals",
                        lambda command, env, cwd: seen.update(env=env, cwd=cwd) or 0)
    monkeypatch.setattr(launch, "_running_clouds", lambda: set())
    monkeypatch.setattr(launch, "stop_clouds_started_since", lambda before: None)
    assert launch.main(["--instructor"]) == 0
    assert seen["prepared"] == seen["cwd"] == environment.REPO / ".labkit-instructor"  # nbgrader reads its cwd
    assert seen["env"]["LABKIT_JUPYTER_ROOT"] == str(seen["cwd"])
    assert ".labkit-instructor/" in (environment.REPO / ".gitignore").read_text().splitlines()


def test_grader_init_runs_again_only_when_a_solution_changed(tmp_path):
    solutions = tmp_path / "solutions"
    (solutions / "en").mkdir(parents=True)
    (solutions / "en" / "lab07.ipynb").write_text("{}")
    course = tmp_path / "class"
    assert instructor.course_labs(solutions) == ["lab07"]
    assert instructor.needs_init(course, ["lab07"], solutions)
    (course / "grader-labs").mkdir(parents=True)
    for name in ("nbgrader_config.py", "gradebook.db", "grader-labs/lab07.json"):
        (course / name).write_text("")
    assert not instructor.needs_init(course, ["lab07"], solutions)
    later = time.time() + 10
    os.utime(solutions / "en" / "lab07.ipynb", (later, later))
    assert instructor.needs_init(course, ["lab07"], solutions)


def _notebook(path: Path, ours: bool) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("print(1)"))
    if ours:
        nb.metadata["labkit"] = {"lang": "en"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_only_the_course_notebooks_are_trusted_once(student_env):
    root = student_env / "course"
    ours = [_notebook(root / "index.ipynb", True), _notebook(root / "en" / "01.ipynb", True)]
    _notebook(root / "en" / "someone_elses.ipynb", False)
    _notebook(root / "en" / ".ipynb_checkpoints" / "01-checkpoint.ipynb", True)
    found = trust.course_notebooks(root)
    assert found == sorted(ours)
    assert trust.trust(found) == 2
    assert trust.trust(found) == 0  # idempotent: a second launch signs nothing
    with NotebookNotary(data_dir=os.environ["JUPYTER_DATA_DIR"]) as notary:
        assert all(notary.check_signature(nbformat.read(p, as_version=4)) for p in ours)
        assert not notary.check_signature(nbformat.read(root / "en" / "someone_elses.ipynb", as_version=4))


def test_the_instructors_nbgrader_exchange_is_private(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(instructor.subprocess, "run", lambda command, **kw: calls.append(command) or
                        subprocess.CompletedProcess(command, 0))
    assert instructor.prepare(tmp_path / "class")
    assert (tmp_path / "class" / ".exchange").is_dir()
    assert calls and calls[0][3:6] == ["init", "--course", str(tmp_path / "class")]
    assert calls[0][-len(instructor.course_labs()):] == instructor.course_labs()
    monkeypatch.setenv("LABKIT_JUPYTER_ROOT", str(tmp_path / "class"))
    nbgrader = PyFileConfigLoader("nbgrader_config.py", path=str(environment.CONFIG / "instructor")).load_config()
    assert nbgrader.Exchange.root == str(tmp_path / "class" / ".exchange")
