"""Lab 03: the English solution runs top to bottom against a fresh local cloud under the loopback
guard (its ECS really running the section 9.1 app; every `!aws` and curl of the lab checked to stay
on 127.0.0.1) and the out-of-kernel checks grade it with full marks; Run All on the untouched Korean
student version stops at step 1's test.

The Korean solution and the untouched English version run in the grader's samples (good_ko,
untouched), read by tests/grader/test_samples.py with the same assertions (lab_outputs.py)."""
from __future__ import annotations

from labkit.checks.core import CheckContext
from labkit.checks.registry import get_lab

from . import lab_outputs
from .runner import ROOT, execute


def test_solution_runs_under_the_guard_and_scores_full_marks(tmp_path, monkeypatch):
    nb, cloud, home, netlog = execute(ROOT / "solutions" / "en" / "lab03.ipynb", tmp_path, monkeypatch)
    try:
        lab_outputs.lab03_solved(nb, "en")
        lab = get_lab("lab03")
        results = lab.run(CheckContext(endpoint=cloud.endpoint, home=home, notebook=nb), include_hidden=True)
        failed = [(r.condition, r.key, r.params) for r in results if not r.passed]
        assert failed == []
        assert sum(r.earned for r in results) == sum(s.max_points() for s in lab.steps) == 22
        assert netlog.blocked() == []
    finally:
        cloud.stop()


def test_run_all_on_the_untouched_korean_lab_reaches_the_first_check(tmp_path, monkeypatch):
    """The setup cell pushes the image, the placeholders do not stop Run All, and step 1's test
    cell fails with what is missing."""
    nb, cloud, home, netlog = execute(ROOT / "course" / "ko" / "lab03.ipynb", tmp_path, monkeypatch, run_all=True)
    try:
        lab_outputs.lab03_untouched(nb, "ko")
        assert netlog.blocked() == []
    finally:
        cloud.stop()
