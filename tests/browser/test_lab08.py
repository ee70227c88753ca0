"""Lab 08 (cost functions, a month on each service, the plot; no local cloud) as a student meets it
in JupyterLab. In Korean: every code cell run in order with the solution typed into the four cells a
student writes, each step's "Check my progress" pressed and passing, its workloads said in Korean
(request counts in 만, as lesson 08 writes them: 300만). In English, more cheaply: step 1's button pressed
while the functions are still the placeholder says so in English. The whole lab runs in both
languages, kernel and grader agreeing, in tests/notebooks/test_lab08.py; the grader's samples grade
it, Exercise 1 (written) by hand."""
from __future__ import annotations

from labkit.messages import text
from tests.browser import notebook as nb
from tests.browser import student
from tests.browser.test_lab03 import set_ui_language

PROGRESS = ["progress_fargate", "progress_cloud_run", "progress_monthly", "progress_plot"]


def test_lab08_in_korean_the_typed_solution_passes_every_step(page, student_lab, shots):
    set_ui_language(student_lab, "en")
    lab = student.open_lab(page, student_lab, "ko", "lab08")
    run = student.work_through(page, lab.notebook, lab.notebook_json, lab.solved, shots)
    assert list(run.progress) == PROGRESS
    assert sorted(run.typed) == sorted(lab.solved)
    for widget in run.widget_texts:
        assert text("progress.all_passed", "ko") in widget and nb.HANGUL.search(widget), widget
    cloud_run = run.widget_texts[1]
    assert "하루 8시간 바쁨, 한 달 요청 300만 건" in cloud_run, cloud_run
    assert nb.errors_in(lab.cell("draw_plot")) == []


def test_lab08_in_english_step_1_on_the_placeholder_says_so_in_english(page, student_lab, shots):
    set_ui_language(student_lab, "en")
    lab = student.open_lab(page, student_lab, "en", "lab08")
    widget = student.check_before_solving(page, lab, ["start", "fargate_functions"], "progress_fargate", shots)
    assert text("lab08.empty", "en", name="fargate_cost").replace("`", "") in widget, widget
    assert text("progress.failed", "en") in widget and not nb.HANGUL.search(widget), widget
