"""What tests/notebooks/test_lab07.py and test_lab08.py share: labs with no local cloud whose checks
run the student's own functions (labkit/checks/functions.py). A notebook runs in a fresh kernel as
JupyterLab runs it (its language from its path), and two verdicts on every condition, hidden ones
included, are set side by side: the kernel's (what Check my progress and the test cells say) and the
grader's (the checks in this process, reading the notebook as submitted)."""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from labkit.checks.core import CheckContext
from labkit.checks.registry import get_lab

ROOT = Path(__file__).resolve().parents[2]

# Appended to an executed notebook: the kernel's own verdict on every condition of every step.
KERNEL_VERDICT = """
import json
from labkit.checks.progress import run_step
print("VERDICT" + json.dumps({s: [[r.condition, r.passed, r.key] for r in run_step(%r, s, include_hidden=True)]
                              for s in %r}))
"""


def read(folder: str, lang: str, lab: str):
    """solutions/ (the instructor's version) or course/ (the student's) notebook of `lab` in `lang`."""
    return nbformat.read(ROOT / folder / lang / f"{lab}.ipynb", as_version=4)


def execute(nb, lab: str, tmp_path: Path, monkeypatch, name: str, run_all: bool = False, timeout: int = 60):
    """Run `nb` in a fresh kernel as JupyterLab would for a notebook `lab`.ipynb in a folder `name`.
    run_all: stop at the first error, as Run All does (else every cell runs). (nb, seconds)."""
    work = tmp_path / name
    work.mkdir()
    monkeypatch.setenv("JPY_SESSION_NAME", str(work / f"{lab}.ipynb"))
    monkeypatch.delenv("LABKIT_LANG", raising=False)
    nbformat.write(nb, work / f"{lab}.ipynb")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=not run_all,
                            resources={"metadata": {"path": str(work)}})
    started = time.monotonic()
    try:
        client.execute()
    except CellExecutionError:
        assert run_all
    return nb, time.monotonic() - started


def steps(lab: str) -> list[str]:
    return [step.id for step in get_lab(lab).steps]


def with_verdict(nb, lab: str):
    """A copy of `nb` whose last cell prints the kernel's verdict (kernel_verdict reads it back)."""
    nb = copy.deepcopy(nb)
    nb.cells.append(nbformat.v4.new_code_cell(KERNEL_VERDICT % (lab, tuple(steps(lab))), id="kernel-verdict"))
    return nb


def kernel_verdict(nb) -> dict:
    """{step: [[condition, passed, message key], ...]} as the kernel said it."""
    text = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []) if o.get("output_type") == "stream")
    return json.loads(text.split("VERDICT", 1)[1])


def grader_context(nb) -> CheckContext:
    """The grader's way: no cloud to ask, the notebook as submitted."""
    return CheckContext("http://127.0.0.1:9", home=None, notebook=json.loads(nbformat.writes(nb)))


def grader_verdict(nb, lab: str) -> dict:
    ctx = grader_context(nb)
    return {s.id: [[r.condition, r.passed, r.key] for r in s.run(ctx, include_hidden=True)] for s in get_lab(lab).steps}


def cell_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or cell.get("id")


def where_run_all_stops(lab: str, lang: str, tmp_path: Path, monkeypatch) -> tuple[list[str], str]:
    """Run All on the untouched student version: (the ids of the cells that failed, what the first said)."""
    nb, _ = execute(read("course", lang, lab), lab, tmp_path, monkeypatch, f"untouched-{lang}", run_all=True)
    failed = [c for c in nb.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    said = "\n".join(o.get("evalue", "") + "".join(o.get("traceback", [])) for o in failed[0].outputs) if failed else ""
    return [cell_id(c) for c in failed], said


def solved_run(lab: str, lang: str, tmp_path: Path, monkeypatch, timeout: int = 60):
    """The instructor's version run whole, with the kernel's verdict at the end. (executed notebook,
    the kernel's verdict, the grader's verdict on the same notebook, seconds)."""
    solution = read("solutions", lang, lab)
    nb, seconds = execute(with_verdict(solution, lab), lab, tmp_path, monkeypatch, f"solved-{lang}", timeout=timeout)
    return nb, kernel_verdict(nb), grader_verdict(solution, lab), seconds
