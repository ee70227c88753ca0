"""Lab 02 in English, as a student does it in the browser: every step passes "Check my progress"."""
from __future__ import annotations

import pytest

from tests.browser import notebook as nb
from tests.browser import student
from tests.browser.conftest import student_server


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    """A server of its own: its kernels create repositories and images in a fresh LABKIT_HOME."""
    yield from student_server(tmp_path_factory, "lab02-en")


def test_lab02_runs_cell_by_cell_and_every_step_passes(page, lab, shots):
    notebook_json, solved = student.solutions_for("en", "lab02")
    notebook = nb.open_notebook(page, lab, "en/lab02.ipynb", len(notebook_json["cells"]))
    nb.wait_for_kernel_idle(page)
    nb.dismiss_news_prompt(page)
    shots.take(page, "opened")

    run = student.work_through(page, notebook, notebook_json, solved, shots)
    shots.take(page, "done")

    progress_cells = [c.get("id") for c in notebook_json["cells"] if "check_progress(" in nb.source(c)]
    assert list(run.progress) == progress_cells and len(progress_cells) >= 5, "every step's button was pressed"
    assert sorted(run.typed) == sorted(solved), "every cell the student writes was typed in"
    conditions = [c for step in run.progress.values() for c in step]
    assert conditions and all(c.passed for c in conditions)
    for text in run.widget_texts:
        assert not nb.HANGUL.search(text), f"the English lab's widget speaks English: {text!r}"
