"""Lab 09 as handed out: Run All on the Korean student version pushes the image, creates the roles
and stops at step 1's test cell, saying in Korean what is missing.

The solved lab (App Runner, ECS Express Mode and two ECS services behind an ALB really running the
section 9.1 app, then Cloud Run building it from source; English and Korean) and the untouched English
version run in the grader's samples (good, good_ko, untouched) in its loopback-only sandbox, where
tests/grader/test_samples.py reads their outputs with the same assertions (lab_outputs.py): the canary's
observed split, the update taking over, Express Mode's endpoint, Cloud Run's URL answering
`Hello from GCP!`. Each notebook runs once per `make test`."""
from __future__ import annotations

from . import lab_outputs
from .runner import ROOT, execute


def test_run_all_on_the_untouched_korean_lab_reaches_the_first_check(tmp_path, monkeypatch):
    nb, cloud, home, netlog = execute(ROOT / "course" / "ko" / "lab09.ipynb", tmp_path, monkeypatch, run_all=True)
    try:
        lab_outputs.lab09_untouched(nb, "ko")
        assert netlog.blocked() == []
    finally:
        cloud.stop()
