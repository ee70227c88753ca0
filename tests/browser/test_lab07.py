"""Lab 07 (the decision tree as a function, table 7.2, Exercise 2; no local cloud) as a student meets
it in JupyterLab. In English: every code cell run in order with the solution typed into the three
cells a student writes (`choose`, `USE_CASES`, `EXERCISE2`), each step's "Check my progress" pressed
and passing, its scenarios said in English. In Korean, more cheaply: step 1's button pressed while
`choose` is still the placeholder says so in Korean. The whole lab runs in both languages, kernel and
grader agreeing, in tests/notebooks/test_lab07.py; the grader's samples grade it."""
from __future__ import annotations

from labkit.messages import text
from tests.browser import notebook as nb
from tests.browser import student
from tests.browser.test_lab03 import set_ui_language


def test_lab07_in_english_the_typed_solution_passes_every_step(page, student_lab, shots):
    set_ui_language(student_lab, "en")
    lab = student.open_lab(page, student_lab, "en", "lab07")
    run = student.work_through(page, lab.notebook, lab.notebook_json, lab.solved, shots)
    assert list(run.progress) == ["progress_tree", "progress_table", "progress_exercise2"]
    assert sorted(run.typed) == sorted(lab.solved) == ["choose", "exercise2_choices", "use_cases"]
    for widget in run.widget_texts:
        assert text("progress.all_passed", "en") in widget and not nb.HANGUL.search(widget), widget
    tree = run.widget_texts[0]
    assert 'choose(serverless=True, kubernetes=False, cloud="aws") answers Fargate on ECS' in tree, tree


def test_lab07_in_korean_step_1_on_the_placeholder_says_so_in_korean(page, student_lab, shots):
    set_ui_language(student_lab, "en")
    lab = student.open_lab(page, student_lab, "ko", "lab07")
    widget = student.check_before_solving(page, lab, ["start", "choose"], "progress_tree", shots)
    assert text("lab07.tree.empty", "ko", name="choose").replace("`", "") in widget, widget
    assert text("progress.failed", "ko") in widget
