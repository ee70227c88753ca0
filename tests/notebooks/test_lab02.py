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
        assert netlog.blocked() == [] and any(a.startswith("127.0.0.1:") for a in netlog.connected())
    finally:
        cloud.stop()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_run_all_on_the_untouched_lab_reaches_the_first_check(lang, tmp_path, monkeypatch):
    """Run All on the student version as it is handed out: the placeholders do not stop it; it runs
    up to step 1's test cell, which fails with what is missing, and step 1's Check my progress
    button is drawn just before it."""
    import json

    nb, cloud, home, netlog = execute(ROOT / "course" / lang / "lab02.ipynb", tmp_path, monkeypatch, run_all=True)
    try:
        failed = [c for c in nb.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        assert [c.id for c in failed] == ["repository"], [(c.id, c.outputs) for c in failed]
        error = next(o for o in failed[0].outputs if o["output_type"] == "error")
        assert error["ename"] in ("AssertionError", "StepIncomplete") and "NotImplementedError" not in json.dumps(nb.cells[:20])
        ids = [c.id for c in nb.cells]
        button = nb.cells[ids.index("progress_repository")]
        assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in button.outputs)
        assert ("리포지토리" in error["evalue"] or "레포지토리" in error["evalue"]) == (lang == "ko")
    finally:
        cloud.stop()
