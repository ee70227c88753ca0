"""Browser tests: Debian's chromium driven by Playwright against JupyterLab started by the course's
launcher, as a student (or an instructor) meets it.

Servers are started once per session (the student and the instructor setup) or once per module
(a module whose kernels change the local cloud gets its own server, so its LABKIT_HOME is fresh).
Each server's HOME is a tmp folder: nothing touches ~/.labkit or ~/.jupyter.

Screenshots: $LABKIT_SCREENSHOTS (default build/browser-screenshots)/<test>/NN-step.png.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import chromium
from tests.browser.server import ROOT, JupyterLab, course_copy, start_lab

SCREENSHOTS = Path(os.environ.get("LABKIT_SCREENSHOTS") or ROOT / "build" / "browser-screenshots")


@pytest.fixture(scope="session")
def browser():
    reason = chromium.why_unavailable()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_failed = report.failed
    return report


class Screenshots:
    """Numbered screenshots of one test, for a person to look at."""

    def __init__(self, folder: Path):
        self.folder = folder
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.count = 0

    def take(self, page, step: str, full_page: bool = False) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^A-Za-z0-9_-]+', '-', step)}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def shots(request) -> Screenshots:
    return Screenshots(SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-"))


@pytest.fixture
def page(browser, shots, request):
    context = browser.new_context(viewport=chromium.VIEWPORT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    if getattr(request.node, "browser_failed", False):
        try:
            shots.take(page, "failure")
        except Exception:  # a crashed page: the failure itself says enough
            pass
    context.close()


def stop_and_check(lab: JupyterLab) -> None:
    lab.stop()
    blocked = lab.blocked_connections()
    assert not blocked, f"connections past 127.0.0.1 were refused: {blocked}"


def student_server(tmp_path_factory, name: str):
    tmp = tmp_path_factory.mktemp(name)
    lab = start_lab(tmp / "home", course_copy(tmp))
    yield lab
    stop_and_check(lab)


@pytest.fixture(scope="session")
def student_lab(browser, tmp_path_factory):
    """The student setup, shared by the tests that run no code that changes the local cloud."""
    yield from student_server(tmp_path_factory, "student")


STUDENT = "student01"


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory) -> Path:
    """An instructor's course: `grader init`, one good lab 02 submission, `grader autograde`."""
    course = tmp_path_factory.mktemp("instructor") / "class"
    env = {**os.environ, "HOME": str(course.parent), "LABKIT_HOME": str(course.parent / ".labkit")}
    grader = str(Path(sys.executable).parent / "grader")
    run = lambda *args: subprocess.run([grader, *args], capture_output=True, text=True, env=env, timeout=600)
    done = run("init", "--course", str(course), "lab02")
    assert done.returncode == 0, done.stdout + done.stderr
    submitted = course / "submitted" / STUDENT / "lab02"
    submitted.mkdir(parents=True)
    shutil.copy(ROOT / "grader" / "samples" / "lab02" / "good" / "lab02.ipynb", submitted / "lab02.ipynb")
    done = run("autograde", "lab02", "--course", str(course))
    results = course / "autograded" / STUDENT / "lab02" / "labkit-results.json"
    assert done.returncode == 0 and results.exists(), done.stdout + done.stderr
    verdict = json.loads(results.read_text())
    assert verdict["status"] == "graded" and verdict["score"] == verdict["max_score"] > 0, \
        f"{verdict['status']} {verdict['score']}/{verdict['max_score']}: {verdict['reason']}"
    return course


@pytest.fixture(scope="session")
def instructor_lab(browser, graded_course, tmp_path_factory):
    """The instructor setup, in the graded course's folder (formgrader reads its nbgrader_config.py)."""
    home = tmp_path_factory.mktemp("instructor-home")
    lab = start_lab(home, graded_course, instructor=True)
    yield lab
    stop_and_check(lab)
