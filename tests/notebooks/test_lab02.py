"""The lab 02 solution notebook, in both languages, runs top to bottom against a fresh local
cloud and leaves a state that the out-of-kernel checks grade with full marks."""
from __future__ import annotations

import pytest

from labkit.checks.core import CheckContext
from labkit.checks.registry import get_lab

from .runner import ROOT, errors, execute, text_of


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_solution_runs_and_scores_full_marks(lang, tmp_path, monkeypatch):
    nb, cloud, home, netlog = execute(ROOT / "solutions" / lang / "lab02.ipynb", tmp_path, monkeypatch)
    try:
        assert errors(nb) == []
        out = text_of(nb)
        assert "Login Succeeded" in out
        assert "v1.0: digest: sha256:" in out
        # the digest ECR reports is the sha256 of the manifest it serves (printed twice by the notebook)
        says = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("ECR says")]
        computed = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("computed")]
        assert says and says == computed
        # the notebook's own language reached the widgets and messages
        assert ("로컬 클라우드" in out) == (lang == "ko")

        lab = get_lab("lab02")
        results = lab.run(CheckContext(endpoint=cloud.endpoint, home=home, notebook=nb), include_hidden=True)
        failed = [(r.condition, r.key, r.params) for r in results if not r.passed]
        assert failed == []
        assert sum(r.earned for r in results) == sum(s.max_points() for s in lab.steps) == 15
        assert "BLOCKED" not in netlog and "ok 127.0.0.1" in netlog
    finally:
        cloud.stop()
