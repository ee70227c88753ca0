"""Lab 02 as handed out: Run All on the Korean student version stops at step 1's test cell.

The solved lab (English and Korean) and the untouched English one run in the grader's samples
(good, good_ko, untouched, solution), where tests/grader/test_samples.py reads their outputs with
the same assertions (lab_outputs.py): each notebook runs once per `make test`."""
from __future__ import annotations

from . import lab_outputs
from .runner import ROOT, execute


def test_run_all_on_the_untouched_korean_lab_reaches_the_first_check(tmp_path, monkeypatch):
    """The placeholders do not stop Run All; it runs up to step 1's test cell, which fails with what
    is missing (in Korean), and step 1's Check my progress button is drawn just before it."""
    nb, cloud, home, netlog = execute(ROOT / "course" / "ko" / "lab02.ipynb", tmp_path, monkeypatch, run_all=True)
    try:
        lab_outputs.lab02_untouched(nb, "ko")
        assert netlog.blocked() == [] and any(a.startswith("127.0.0.1:") for a in netlog.connected())
    finally:
        cloud.stop()
