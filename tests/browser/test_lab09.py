"""Lab 09 (App Runner, ECS Express Mode, a canary on an ALB: the AWS part) as a student meets it, in
Korean with JupyterLab's UI in Korean, in a real browser: the setup cells run; step 1's "Check my
progress" pressed before the service exists says in Korean what is missing and what to run; the seed's
`aws apprunner create-service` typed into its `%%bash` cell and `watch()` then bring the service to
RUNNING, its URL answers `Hello from AWS!` in the page, and the step passes, in Korean. The whole
solution runs (and is graded) in tests/notebooks/test_lab09.py and the grader's samples (good, good_ko);
the other steps' widgets are the same widget this drives.
"""
from __future__ import annotations

import pytest

from labkit.messages import text
from tests.browser import notebook as nb
from tests.browser import student
from tests.browser.conftest import student_server
from tests.browser.test_lab03 import needs_korean_fonts, reset_lab_cloud, run_cells, set_ui_language, show

SETUP_MS = 180_000  # the image build and push, or App Runner's first deployment, under load


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    yield from student_server(tmp_path_factory, "lab09")


def test_lab09_in_korean_app_runner_step_tells_then_passes(page, lab, shots):
    needs_korean_fonts()
    notebook_json, solved = student.solutions_for("ko", "lab09")
    reset_lab_cloud(lab, "lab09")
    set_ui_language(lab, "ko_KR")
    notebook = nb.open_notebook(page, lab, "ko/lab09.ipynb", len(notebook_json["cells"]), workspace="lab09-ko")
    nb.dismiss_news_prompt(page)
    nb.wait_for_kernel_idle(page)
    cells = nb.cells(notebook)
    cell = lambda cell_id: cells.nth(nb.cell_index(notebook_json, cell_id))

    shown = {}
    for cell_id in ("start", "setup_image", "setup_roles"):
        nb.run_cell(page, cell(cell_id), timeout_ms=SETUP_MS)
        assert not nb.errors_in(cell(cell_id)), (cell_id, nb.errors_in(cell(cell_id)))
        shown[cell_id] = nb.output_text(cell(cell_id))
    assert "latest: digest: sha256:" in shown["setup_image"], shown["setup_image"]

    # Step 1 before the service exists: what is missing and what to run, in Korean
    missing = text("lab09.apprunner.exists.missing", "ko", name="my-app").replace("`", "")
    nb.run_cell(page, cell("progress_apprunner"))
    conditions = nb.check_progress(page, cell("progress_apprunner"))
    shots.take(page, "progress-not-yet")
    assert conditions and not any(c.passed for c in conditions), conditions
    widget = nb.widget_text(cell("progress_apprunner"))
    assert missing in widget and nb.HANGUL.search(widget), widget

    # The student types the seed's command; watch() follows it to RUNNING and the URL answers
    nb.replace_cell_text(page, cell("create_apprunner"), solved["create_apprunner"])
    nb.run_cell(page, cell("create_apprunner"), timeout_ms=SETUP_MS)
    assert "OPERATION_IN_PROGRESS" in nb.output_text(cell("create_apprunner"))
    nb.run_cell(page, cell("apprunner_helpers"), timeout_ms=SETUP_MS)
    show(cell("apprunner_helpers"))
    shots.take(page, "watch")
    watched = nb.output_text(cell("apprunner_helpers"))
    assert "RUNNING" in watched and "Hello from AWS!" in watched, watched

    run_cells(page, notebook, notebook_json, ["apprunner_logs", "progress_apprunner"])
    conditions = nb.check_progress(page, cell("progress_apprunner"))
    shots.take(page, "progress-passed")
    assert conditions and all(c.passed for c in conditions), conditions
    assert text("progress.all_passed", "ko") in nb.widget_text(cell("progress_apprunner"))
    run_cells(page, notebook, notebook_json, ["apprunner"])
    reset_lab_cloud(lab, "lab09")
