"""The browser tests' own helpers, without a browser: what they read from the notebooks, and why
they skip."""
from __future__ import annotations

import pytest

from tests.browser import chromium, student
from tests.browser.test_landing import index_targets, linked_notebook


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_student_stub_gets_the_solution_without_nbgrader_markers(lang):
    notebook, solved = student.solutions_for(lang, "lab02")
    stubs = [c["id"] for c in notebook["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    assert sorted(solved) == sorted(stubs) and stubs
    for code in solved.values():
        assert "BEGIN SOLUTION" not in code and "END SOLUTION" not in code and code.strip()


def test_landing_links_are_read_as_course_paths():
    assert linked_notebook("/files/ko/lab02.ipynb?_xsrf=2%7Cabc") == "ko/lab02.ipynb"
    assert linked_notebook("/lab/tree/en/01_containers.ipynb") == "en/01_containers.ipynb"
    assert linked_notebook("#%ED%95%9C") is None
    assert linked_notebook("lab02.ipynb") == "en/lab02.ipynb"   # as written, before JupyterLab resolves it
    assert {"en/lab02.ipynb", "en/01_containers.ipynb", "ko/00_index.ipynb"} <= index_targets()
    assert "en/00_index.ipynb" not in index_targets()


def test_a_missing_chromium_is_a_skip_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(chromium, "CHROMIUM", tmp_path / "chromium")
    assert "chromium is not installed" in chromium.why_unavailable()
