"""Submissions that fight the grader: a cell that ignores interrupts, a notebook that runs too
long as a whole, a notebook that freezes the grading process or edits the checks. In a sandbox
the last two cannot reach the grader at all; without one (`--sandbox none`) each ends as "not
graded" with its reason. The submissions beside them are graded either way."""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from grader.pool import autograde
from grader.prepare import init_course
from grader.results import GRADED, NOT_GRADED
from tests.grader import fakelab
from grader.sandbox import probe
from tests.grader.conftest import FAKELAB_FILE, student_version, submit

needs_sandbox = pytest.mark.skipif(not probe()[0], reason=f"no sandbox on this machine: {probe()[1]}")

LAB = fakelab.LAB_ID


def _with_cell(nb: dict, source: str, at: int = 2) -> dict:
    nb = copy.deepcopy(nb)
    nb["cells"].insert(at, {"cell_type": "code", "id": "added", "metadata": {}, "outputs": [],
                            "execution_count": None, "source": source})
    return nb


def test_a_cell_that_ignores_interrupts(fake_course):
    good = fakelab.answered(student_version(fake_course))
    submit(fake_course, "stubborn", _with_cell(good, "import time\nwhile True:\n    try:\n        time.sleep(10)\n"
                                                      "    except KeyboardInterrupt:\n        pass"))
    done = autograde(fake_course, LAB, timeout=2, notebook_timeout=60, jobs=1, out=lambda *_: None)
    [res] = done
    assert res["status"] == NOT_GRADED
    assert "cell 3 (`import time`) ran longer than 2 s and did not stop when interrupted" in res["reason"]


def test_notebook_deadline_and_frozen_worker(fake_course):
    good = fakelab.answered(student_version(fake_course))
    submit(fake_course, "good", good)
    slow = good
    for i in range(8):
        slow = _with_cell(slow, "import time\ntime.sleep(2)", at=2)
    submit(fake_course, "slow", slow)
    submit(fake_course, "freezer", _with_cell(good, "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)"))
    lines: list[str] = []
    # without a sandbox (the freezer can reach the worker): the pool's own guard is what is tested
    done = {r["student"]: r for r in autograde(fake_course, LAB, timeout=30, notebook_timeout=8, jobs=2,
                                               deadline_margin=4, sandbox="none", out=lines.append)}
    assert done["good"]["status"] == GRADED and done["good"]["score"] == 4
    assert done["slow"]["status"] == NOT_GRADED
    assert "did not finish within 8 s" in done["slow"]["reason"] and "stopped in cell" in done["slow"]["reason"]
    assert done["freezer"]["status"] == NOT_GRADED
    assert "grading took longer than 12 s and was stopped" in done["freezer"]["reason"]
    assert any("freezer: NOT GRADED" in line for line in lines)


FREEZE_EVERYTHING = """import os, signal
for pid in [os.getppid(), 1] + [int(p) for p in os.listdir('/proc') if p.isdigit()]:
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGSTOP)
        except OSError:
            pass
"""


@needs_sandbox
def test_in_a_sandbox_a_notebook_cannot_freeze_the_grader(fake_course):
    good = fakelab.answered(student_version(fake_course))
    submit(fake_course, "freezer", _with_cell(good, FREEZE_EVERYTHING))
    submit(fake_course, "good", good)
    lines: list[str] = []
    done = {r["student"]: r for r in autograde(fake_course, LAB, timeout=30, notebook_timeout=20, jobs=1,
                                               deadline_margin=10, sandbox="require", out=lines.append)}
    assert done["good"]["status"] == GRADED and done["good"]["score"] == 4
    # it froze what it could see, its own relay among them: its own notebook then hangs on its cloud
    # until the notebook deadline (its doing); the worker, the clouds and the next student are untouched
    assert done["freezer"]["status"] == NOT_GRADED, done["freezer"]
    assert "did not finish within 20 s" in done["freezer"]["reason"]
    assert any(line.startswith("Sandbox: bubblewrap") for line in lines), lines


def _course_with_checks_file(tmp_path):
    """A course whose lab record points at a checks file of its own (one a notebook could edit)."""
    checks = tmp_path / "checks_copy.py"
    shutil.copy(FAKELAB_FILE, checks)
    course = init_course(tmp_path / "course", [LAB], solutions=fakelab.write_solutions(tmp_path / "solutions"),
                         checks=str(checks), out=lambda *_: None)
    return checks, course


def test_a_notebook_that_edits_the_checks_on_disk_is_not_graded(tmp_path):
    checks, course = _course_with_checks_file(tmp_path)
    good = fakelab.answered(student_version(course))
    submit(course, "a_editor", _with_cell(fakelab.answered(student_version(course)),
                                          f"with open({str(checks)!r}, 'a') as f:\n    f.write('\\nLAB.steps.clear()\\n')"))
    submit(course, "b_after", good)
    lines: list[str] = []
    done = {r["student"]: r for r in autograde(course, LAB, timeout=30, jobs=1, sandbox="none", out=lines.append)}
    assert done["a_editor"]["status"] == NOT_GRADED
    assert "changed files of the grader's installation" in done["a_editor"]["reason"] and str(checks) in done["a_editor"]["reason"]
    # the worker imported the checks before any notebook ran: the next submission is graded by the real ones
    assert done["b_after"]["status"] == GRADED and done["b_after"]["score"] == 4
    assert any(line.startswith("WARNING: the notebooks of a_editor changed files") for line in lines)
    assert checks.read_text() == Path(FAKELAB_FILE).read_text()  # put back for the next run
    assert any(line.startswith("WARNING: grading WITHOUT a sandbox") for line in lines)


@needs_sandbox
def test_in_a_sandbox_the_checks_on_disk_cannot_be_edited(tmp_path):
    checks, course = _course_with_checks_file(tmp_path)
    good = fakelab.answered(student_version(course))
    edit = (f"import pathlib\nfor p in [{str(checks)!r}, {str(course.config_file)!r}, {str(course.record_file(LAB))!r}]:\n"
            f"    try:\n        open(p, 'a').write('\\nLAB.steps.clear()\\n')\n"
            f"    except OSError as e:\n        print('refused', type(e).__name__)")
    submit(course, "a_editor", _with_cell(good, edit))
    submit(course, "b_after", good)
    done = {r["student"]: r for r in autograde(course, LAB, timeout=30, jobs=1, sandbox="require", out=lambda *_: None)}
    assert checks.read_text() == Path(FAKELAB_FILE).read_text()
    assert done["a_editor"]["status"] == GRADED and done["a_editor"]["score"] == 4
    assert done["b_after"]["status"] == GRADED and done["b_after"]["score"] == 4
    [cell] = [c for c in json.loads((course.autograded("a_editor", LAB) / f"{LAB}.ipynb").read_text())["cells"]
              if c.get("id") == "added"]
    printed = "".join("".join(o.get("text", "")) for o in cell["outputs"])
    assert printed.count("refused FileNotFoundError") == 3, cell["outputs"]


def test_an_exception_carrying_50_mb_is_cut_like_any_output(fake_course):
    from grader.cli import main

    good = fakelab.answered(student_version(fake_course))
    submit(fake_course, "raiser", _with_cell(good, "raise ValueError('z' * 50_000_000)"))
    # the cap is per cell, shared: the error gets only what the print left
    submit(fake_course, "printer", _with_cell(good, "print('x' * 900_000)\nraise ValueError('y' * 300_000)"))
    done = {r["student"]: r for r in autograde(fake_course, LAB, timeout=30, jobs=1, out=lambda *_: None)}
    assert main(["feedback", LAB, "--course", str(fake_course.root)]) == 0
    marker = "... output truncated by the grader (more than 1,000,000 characters) ..."
    for student in ("raiser", "printer"):
        res = json.loads(fake_course.results_file(student, LAB).read_text())
        assert done[student]["status"] == GRADED and res["score"] == 4, res
        assert any("rest of its output was dropped" in n["text"] for n in res["notes"]), res["notes"]
        notebook = fake_course.autograded(student, LAB) / f"{LAB}.ipynb"
        page = fake_course.feedback(student, LAB) / f"{LAB}.html"
        assert notebook.stat().st_size < 3_000_000, (student, notebook.stat().st_size)
        assert page.stat().st_size < 3_000_000, (student, page.stat().st_size)
        [cell] = [c for c in json.loads(notebook.read_text())["cells"] if c.get("id") == "added"]
        [error] = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert error["ename"] == "ValueError" and error["evalue"].rstrip().endswith(marker)
        assert any(line.rstrip().endswith(marker) for line in error["traceback"])
        assert marker in page.read_text()
    [printer_error] = [o for c in json.loads((fake_course.autograded("printer", LAB) / f"{LAB}.ipynb").read_text())["cells"]
                       if c.get("id") == "added" for o in c["outputs"] if o["output_type"] == "error"]
    assert sum(map(len, printer_error["traceback"])) < 200_000


def test_a_run_killed_midway_leaves_not_graded_never_an_old_score_or_a_zero(fake_course, tmp_path):
    """`kill -9` of `grader autograde` (by a notebook without a sandbox, or by the machine): the
    submission being graded reads "not graded" in the export, with the reason, and the grader's
    workers, kernels and clouds end with it."""
    import csv
    import os
    import signal
    import subprocess
    import sys
    import time

    from grader import results

    good = fakelab.answered(student_version(fake_course))
    slow = _with_cell(good, "import time\ntime.sleep(10)")
    submit(fake_course, "slow", slow)
    # a score from an earlier run, which must not survive into the export
    results.write(fake_course.results_file("slow", LAB), {**results.new(LAB, "slow", LAB, 4), "status": GRADED,
                                                           "score": 4})
    proc = subprocess.Popen([sys.executable, "-m", "grader.cli", "autograde", LAB, "--course", str(fake_course.root),
                             "--jobs", "1", "--timeout", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, "GRADER_TEST_RUN": str(tmp_path)})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        res = results.read(fake_course.results_file("slow", LAB))
        if res and res["reason_key"] == "reason.interrupted_run":
            break
        time.sleep(0.2)
    else:
        proc.kill()
        raise AssertionError("the run never marked the submission as being graded")
    time.sleep(3)  # the notebook is running now
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    from grader.cli import main

    target = tmp_path / "grades.csv"
    assert main(["export", str(target), "--course", str(fake_course.root)]) == 0
    [row] = list(csv.DictReader(target.open()))
    assert (row["status"], row["score"]) == (NOT_GRADED, "")
    assert "did not finish" in row["reason"]
    deadline = time.monotonic() + 45  # the worker ends its submission, finds the run gone, and stops
    import psutil

    def leftovers():  # the run's processes (workers, clouds, sandboxes) carry the marker in their environment
        found = []
        for p in psutil.process_iter():
            try:
                if p.environ().get("GRADER_TEST_RUN") == str(tmp_path):
                    found.append((p.pid, p.cmdline()[:4]))
            except psutil.Error:
                pass
        return found
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert leftovers() == []
