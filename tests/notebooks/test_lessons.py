"""Every lesson notebook, in both languages, runs top to bottom against a fresh local cloud:
every command a student is told to type works, and nothing leaves 127.0.0.1."""
from __future__ import annotations

import pytest

import json
from pathlib import Path

from .runner import ROOT, errors, execute


def _is_lab(path) -> bool:  # course/<lang>/ holds the labs' student versions beside the lessons
    return "lab" in json.loads(path.read_text(encoding="utf-8"))["metadata"].get("labkit", {})


LESSONS = sorted(p.relative_to(ROOT) for p in (ROOT / "course").glob("*/*.ipynb") if not _is_lab(p))
# Lessons a module of their own runs whole (and checks what their text says): not run twice.
RUN_ELSEWHERE = {"course/en/01_containers.ipynb": "test_lesson01.py", "course/ko/01_containers.ipynb": "test_lesson01.py",
                 "course/en/08_pricing.ipynb": "test_lesson08.py", "course/ko/08_pricing.ipynb": "test_lesson08.py",
                 "course/ko/03_ecs.ipynb": "test_lesson03.py", "course/ko/06_serverless.ipynb": "test_lesson06.py",
                 # Run All in a real JupyterLab (no cell may end in an error); tests/safety guards lesson 03's commands
                 "course/en/03_ecs.ipynb": "../browser/test_lab03.py", "course/en/06_serverless.ipynb": "../browser/test_lesson06.py"}


@pytest.mark.parametrize("path", [p for p in LESSONS if str(p) not in RUN_ELSEWHERE], ids=str)
def test_lesson_runs_top_to_bottom(path, tmp_path, monkeypatch):
    nb, cloud, home, netlog = execute(ROOT / path, tmp_path, monkeypatch)
    try:
        assert errors(nb) == []
        assert netlog.blocked() == []
    finally:
        cloud.stop()


def test_the_lessons_run_elsewhere_are_run_there():
    here = Path(__file__).parent
    for path, module in RUN_ELSEWHERE.items():
        source = (here / module).read_text(encoding="utf-8").replace('" / "', "/")
        assert Path(path) in LESSONS and path.removeprefix("course/") in source, (path, module)


def test_there_are_lessons_in_both_languages():
    names = {lang: {p.name for p in LESSONS if p.parts[1] == lang} for lang in ("en", "ko")}
    assert names["en"] and names["en"] == names["ko"]
