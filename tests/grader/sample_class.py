"""The class of grader/samples/<lab>/, graded once per test session and shared by test_samples.py
and test_attacks.py: `grader init`, one `grader autograde` (2 workers, cases in sorted order),
`grader feedback`. Under pytest-xdist the first worker to ask grades it, in the session's shared
temporary folder; the others wait for it and read the same course.

The attack samples ("needs_sandbox" in expected.json) are graded only with `--sandbox require`:
unsandboxed they would write into the course and ~/.ipython, reset every local cloud on the
machine and kill every process that mentions the grader. Where this machine cannot sandbox,
they are left out and their tests skip, saying why. To see them beat an unsandboxed grader, run
the tests inside a throwaway machine or namespace with GRADER_SAMPLES_UNSANDBOXED=1.
"""
from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.samples import attacks, make_samples

SAMPLES = Path(make_samples.__file__).resolve().parent
REPO = SAMPLES.parent.parent
LABS = sorted(make_samples.LABS)
SECRET_NAME = "GRADER_TEST_INSTRUCTOR_SECRET"


def expected(lab: str) -> dict:
    return json.loads((SAMPLES / lab / "expected.json").read_text())


def sandbox_available() -> tuple[bool, str]:
    try:
        from grader.sandbox import probe
    except ImportError as exc:
        return False, f"the grader has no sandbox ({exc})"
    return probe()


@dataclass
class GradedClass:
    lab: str
    root: Path
    output: str           # what init, autograde and feedback printed
    cases: list[str]      # graded, in the order autograde took them
    left_out: str         # why the attack samples were not graded, or ""
    secret: str           # in the grader's environment while it graded
    started: float        # time.time() when autograde started
    ended: float          # and when it returned

    def results(self, case: str) -> dict:
        return json.loads((self.root / "autograded" / case / self.lab / "labkit-results.json").read_text())

    def feedback(self, case: str) -> Path:
        return self.root / "feedback" / case / self.lab / f"{self.lab}.html"

    def require(self, case: str) -> None:
        if case not in self.cases:
            pytest.skip(f"{case} not graded: {self.left_out}")


def _grade(lab: str, base: Path) -> dict:
    from grader.cli import main

    wanted = expected(lab)
    ok, why = sandbox_available()
    unsandboxed = os.environ.get("GRADER_SAMPLES_UNSANDBOXED") == "1"
    cases = sorted(c for c, e in wanted.items() if ok or unsandboxed or not e.get("needs_sandbox"))
    root = base / "course"
    out = io.StringIO()
    codes = {}
    with contextlib.redirect_stdout(out):
        codes["init"] = main(["init", "--course", str(root), lab, "--solutions", str(REPO / "solutions")])
        for case in cases:
            target = root / "submitted" / case / lab
            target.mkdir(parents=True)
            shutil.copy(SAMPLES / lab / case / f"{lab}.ipynb", target / f"{lab}.ipynb")
        # what an instructor's shell may hold (a real cloud's keys, a token): no kernel may read it
        os.environ[SECRET_NAME] = secret = f"instructor-secret-{secrets.token_hex(8)}"
        started = time.time()
        try:
            codes["autograde"] = main(["autograde", lab, "--course", str(root), "--timeout", "15", "--jobs", "2"]
                                      + (["--sandbox", "require"] if ok and not unsandboxed else []))
        finally:
            os.environ.pop(SECRET_NAME, None)
        ended = time.time()
        codes["feedback"] = main(["feedback", lab, "--course", str(root)])
    return {"root": str(root), "output": out.getvalue(), "codes": codes, "cases": cases, "secret": secret,
            "started": started,
            "ended": ended, "left_out": "" if ok or unsandboxed else f"no sandbox on this machine ({why}); `grader sandbox check`"}


@pytest.fixture(scope="session", params=LABS)
def graded(request, tmp_path_factory) -> GradedClass:
    return graded_class(request.param, tmp_path_factory)


def graded_class(lab: str, tmp_path_factory) -> GradedClass:
    """The class of grader/samples/<lab>/, graded once per session (shared across xdist workers)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the folder every xdist worker of this session shares
    base = shared / f"samples-{lab}"
    with open(shared / f"samples-{lab}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run_file = base / "run.json"
        if not run_file.exists():
            base.mkdir(exist_ok=True)
            run_file.write_text(json.dumps(_grade(lab, base)))
    run = json.loads(run_file.read_text())
    assert run["codes"] == {"init": 0, "autograde": 0, "feedback": 0}, run["output"]
    return GradedClass(lab, Path(run["root"]), run["output"], run["cases"], run["left_out"], run["secret"],
                       run["started"], run["ended"])


__all__ = ["GradedClass", "LABS", "REPO", "SAMPLES", "attacks", "expected", "graded", "graded_class",
           "sandbox_available"]
