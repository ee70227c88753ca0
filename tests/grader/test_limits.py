"""Submissions that fight the grader: a cell that ignores interrupts, a notebook that runs too
long as a whole, a notebook that freezes the grading process. Each ends as "not graded" with its
reason, and the submissions beside them are graded."""
from __future__ import annotations

import copy

from grader.pool import autograde
from grader.results import GRADED, NOT_GRADED
from tests.grader import fakelab
from tests.grader.conftest import student_version, submit

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
    done = {r["student"]: r for r in autograde(fake_course, LAB, timeout=30, notebook_timeout=8, jobs=2,
                                               deadline_margin=4, out=lines.append)}
    assert done["good"]["status"] == GRADED and done["good"]["score"] == 4
    assert done["slow"]["status"] == NOT_GRADED
    assert "did not finish within 8 s" in done["slow"]["reason"] and "stopped in cell" in done["slow"]["reason"]
    assert done["freezer"]["status"] == NOT_GRADED
    assert "grading took longer than 12 s and was stopped" in done["freezer"]["reason"]
    assert any("freezer: NOT GRADED" in line for line in lines)
