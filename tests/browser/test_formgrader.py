"""An instructor sees a graded submission in formgrader: `grader autograde` wrote its score into
nbgrader's gradebook, and formgrader (Nbgrader menu -> Formgrader -> Manage Students) lists it."""
from __future__ import annotations

import json
import re

from tests.browser import notebook as nb
from tests.browser.conftest import STUDENT


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
    assert (earned, total) == (verdict["score"], verdict["max_score"]), cells
