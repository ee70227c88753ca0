"""nbgrader's instructor tools: absent in the student's JupyterLab, present in the instructor's;
and formgrader listing a submission that `grader autograde` graded.

The same three probes (the Nbgrader menu, the Create Assignment side bar, the notebook's Validate
button) run against both setups, so "absent" cannot pass because a probe finds nothing anywhere.
The instructor's tests share one graded course and one server (one file: one pytest-xdist worker).
"""
from __future__ import annotations

import json
import re

from tests.browser import notebook as nb
from tests.browser.conftest import STUDENT
from tests.browser.server import ROOT


def instructor_tools(page) -> dict[str, bool]:
    return {
        "Nbgrader menu": "Nbgrader" in nb.menu_labels(page),
        "Create Assignment side bar": any("Create Assignment" in t for t in nb.sidebar_tabs(page)),
        "Validate button": "Validate" in nb.toolbar_texts(page),
    }


def open_lab02(page, lab, path: str) -> None:
    cells = len(nb.read_notebook(ROOT / "course" / "en" / "lab02.ipynb")["cells"])
    nb.open_notebook(page, lab, path, cells)
    nb.wait_for_kernel_idle(page)  # the toolbar is complete once the kernel is there
    nb.dismiss_news_prompt(page)


def test_student_setup_has_no_instructor_tools(page, student_lab, shots):
    open_lab02(page, student_lab, "en/lab02.ipynb")
    shots.take(page, "student-lab02")
    assert instructor_tools(page) == dict.fromkeys(["Nbgrader menu", "Create Assignment side bar", "Validate button"], False)
    assert student_lab.api("GET", "/formgrader").status_code == 404, "formgrader is not served to students"


def test_instructor_setup_has_the_tools(page, instructor_lab, shots):
    open_lab02(page, instructor_lab, "release/lab02/lab02.ipynb")
    shots.take(page, "instructor-lab02")
    assert instructor_tools(page) == dict.fromkeys(["Nbgrader menu", "Create Assignment side bar", "Validate button"], True)


def test_formgrader_lists_the_graded_student_with_a_score(page, instructor_lab, graded_course, shots):
    verdict = json.loads((graded_course / "autograded" / STUDENT / "lab02" / "labkit-results.json").read_text())
    page.goto(instructor_lab.page_url("/lab"))
    nb.dismiss_news_prompt(page)
    page.locator(".lm-MenuBar-item", has_text="Nbgrader").click()
    page.locator(".lm-Menu-item:visible", has_text="Formgrader").click()
    formgrader = page.frame_locator("iframe[src*='formgrader']")
    formgrader.locator("body", has_text="lab02").wait_for(timeout=60_000)
    shots.take(page, "formgrader-assignments")

    formgrader.get_by_role("link", name="Manage Students").first.click()
    row = formgrader.locator("tr", has_text=STUDENT)
    row.wait_for(timeout=60_000)
    shots.take(page, "formgrader-students")
    cells = [t.strip() for t in row.locator("td").all_inner_texts()]
    scores = [c for c in cells if re.fullmatch(r"\d+(\.\d+)?\s*/\s*\d+(\.\d+)?", c)]
    assert scores, f"no score in {STUDENT}'s row: {cells}"
    earned, total = (float(x) for x in scores[0].split("/"))
    # Manage Students sums over every lab in the gradebook: this student submitted lab 02 only
    # (nbgrader's total counts every graded cell, the hand-graded ones too, e.g. lab 09's Exercise 5)
    every_lab = sum(c["metadata"]["nbgrader"].get("points", 0)
                    for p in (graded_course / "grader-labs").glob("lab*.json")
                    for c in json.loads((graded_course / "source" / p.stem / f"{p.stem}.ipynb").read_text())["cells"]
                    if c.get("metadata", {}).get("nbgrader", {}).get("grade"))
    assert (earned, total) == (verdict["score"], every_lab), cells
    assert verdict["score"] == verdict["max_score"], verdict
