"""Lab 06 (Cloud Run) as handed out: Run All on the Korean student version pushes the image to the
lab's Artifact Registry and stops at step 1's test cell, saying in Korean what is missing.

The solved lab (v1 deployed and public, v2 with no traffic and a tag, the 10/90 canary counted over
500 requests, the promotion; English and Korean) and the untouched English version run in the
grader's samples (good, good_ko, untouched) in its loopback-only sandbox, where
tests/grader/test_samples.py reads their outputs with the same assertions (lab_outputs.py). Each
notebook runs once per `make test`."""
from __future__ import annotations

from . import lab_outputs
from .runner import ROOT, execute


def test_run_all_on_the_untouched_korean_lab_reaches_the_first_check(tmp_path, monkeypatch):
    nb, cloud, home, netlog = execute(ROOT / "course" / "ko" / "lab06.ipynb", tmp_path, monkeypatch, run_all=True)
    try:
        lab_outputs.lab06_untouched(nb, "ko")
        assert netlog.blocked() == []
    finally:
        cloud.stop()
