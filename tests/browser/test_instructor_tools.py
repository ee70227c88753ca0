"""nbgrader's instructor tools: absent in the student's JupyterLab, present in the instructor's.

The same three probes (the Nbgrader menu, the Create Assignment side bar, the notebook's Validate
button) run against both setups, so "absent" cannot pass because a probe finds nothing anywhere.
"""
from __future__ import annotations

from tests.browser import notebook as nb
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
