"""Fixtures of the grader tests: the fake lab's course, set up once per pytest worker and copied
per test module (a course is a folder; `grader init` costs ~3 s)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader.course import Course
from grader.prepare import init_course
from tests.grader import fakelab
from tests.grader.sample_class import graded  # noqa: F401  (the sample class, graded once per session)

FAKELAB_FILE = str(Path(fakelab.__file__).resolve())


@pytest.fixture(scope="session")
def fake_course_template(tmp_path_factory) -> Course:
    base = tmp_path_factory.mktemp("fake-course-template")
    solutions = fakelab.write_solutions(base / "solutions")
    return init_course(base / "course", [fakelab.LAB_ID], solutions=solutions, checks=FAKELAB_FILE, out=lambda *_: None)


def copy_course(template: Course, target: Path) -> Course:
    shutil.copytree(template.root, target)
    course = Course(target)
    course.config_file.unlink()
    course.write_config()
    return course


@pytest.fixture
def fake_course(fake_course_template, tmp_path) -> Course:
    return copy_course(fake_course_template, tmp_path / "course")


def student_version(course: Course, lang: str = "en") -> dict:
    return json.loads(course.release_copy(fakelab.LAB_ID, lang).read_text(encoding="utf-8"))


def submit(course: Course, student: str, nb: dict | bytes, lab: str = fakelab.LAB_ID) -> Path:
    folder = course.submitted(student, lab)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{lab}.ipynb"
    path.write_bytes(nb if isinstance(nb, bytes) else json.dumps(nb, indent=1, ensure_ascii=False).encode())
    return path
