"""labkit/checks/functions.py: which cell defines a name, and running it alone in a fresh Python;
the `site_packages` option (lab 08's plot) puts the course venv's packages on the path and keeps
the rest of the isolation: no .pth file runs, no environment of ours, no network, no files."""
from __future__ import annotations

import ast
import os

import pytest

from labkit.checks import functions

SANDBOX = "require" if functions.find_bwrap() else "none"


def test_a_tuple_assignment_defines_each_of_its_names():
    tree = ast.parse("fig, ax = plt.subplots()\n[a, b] = 1, 2\n")
    assert all(functions.defines(tree, name) for name in ("fig", "ax", "a", "b"))
    assert not functions.defines(tree, "plt")
    assert functions.defining_cell(["x = 1", "fig, ax = 1, 2", "print(fig)"], "fig").strip() == "fig, ax = 1, 2"


def test_without_site_packages_nothing_installed_imports():
    outcome = functions.run("import matplotlib", sandbox=SANDBOX)
    assert outcome.ran and outcome.error == "ModuleNotFoundError: No module named 'matplotlib'"


PLOT = '''
import matplotlib, matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.plot([0, 12, 24], [1.0, 2.0, 3.0], label="Cloud Run")
ax.set_xlabel("busy hours a day")
backend = matplotlib.get_backend()
labels = [line.get_label() for line in ax.get_lines()]
xlabel = ax.get_xlabel()
'''


def test_site_packages_lets_a_cell_draw_with_matplotlib_and_read_its_figure():
    outcome = functions.run(PLOT, values=["backend", "labels", "xlabel"], sandbox=SANDBOX, site_packages=True,
                            timeout=30)
    assert outcome.ran and outcome.error is None, outcome
    assert outcome.values["backend"].casefold() == "agg"
    assert functions.unplain(outcome.values["labels"]) == ["Cloud Run"]
    assert outcome.values["xlabel"] == "busy hours a day"


ISOLATION = '''
import os, socket, sys
paths = list(sys.path)
labkit_found = True
try:
    import labkit
except ImportError:
    labkit_found = False
env = sorted(os.environ)
flags = [sys.flags.isolated, sys.flags.no_site]
try:
    socket.create_connection(("127.0.0.1", 22), timeout=1).close()
    network = "connected"
except OSError as exc:
    network = type(exc).__name__
home_visible = os.path.exists(%r)
'''


def test_site_packages_keeps_the_rest_of_the_isolation(monkeypatch):
    """The editable install's .pth (which would put the repository, solutions and all, on the path)
    is not run; the environment is ours (PATH, LANG, the hash seed, matplotlib's two), not the
    caller's; no network and none of the course's files under bubblewrap."""
    monkeypatch.setenv("LABKIT_SECRET_FOR_TEST", "x")
    repo = os.path.dirname(os.path.dirname(functions.__file__))
    outcome = functions.run(ISOLATION % repo, values=["paths", "labkit_found", "env", "flags", "network", "home_visible"],
                            sandbox=SANDBOX, site_packages=True)
    assert outcome.ran and outcome.error is None, outcome
    values = {k: functions.unplain(v) for k, v in outcome.values.items()}
    assert values["labkit_found"] is False
    assert values["flags"] == [1, 1]
    assert functions.site_directories() and set(functions.site_directories()) <= set(values["paths"])
    # (PWD: bubblewrap's --chdir; LC_CTYPE: Python's C locale coercion, where it applies)
    assert set(values["env"]) >= {"LANG", "MPLBACKEND", "MPLCONFIGDIR", "PATH", "PYTHONHASHSEED"}
    assert set(values["env"]) <= {"LANG", "LC_CTYPE", "MPLBACKEND", "MPLCONFIGDIR", "PATH", "PWD", "PYTHONHASHSEED"}
    if SANDBOX == "require":
        assert values["network"] != "connected" and values["home_visible"] is False


def test_site_directories_are_inside_the_venv():
    prefix = os.path.realpath(functions.sys.prefix)
    assert all(os.path.realpath(d).startswith(prefix + os.sep) for d in functions.site_directories())


@pytest.mark.parametrize("seconds", [1.0])
def test_timeout_stops_a_cell_that_runs_on(seconds):
    outcome = functions.run("while True:\n    pass", sandbox=SANDBOX, timeout=seconds)
    assert outcome.ran and outcome.timed_out
