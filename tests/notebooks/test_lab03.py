"""The lab 03 solution notebook, in both languages, runs top to bottom against a fresh local
cloud (its ECS really running the section 9.1 app) and leaves a state that the out-of-kernel
checks grade with full marks; Run All on the untouched student version stops at step 1's test."""
from __future__ import annotations

import json

import pytest

from labkit.checks.core import CheckContext
from labkit.checks.registry import get_lab

from .runner import ROOT, errors, execute, text_of


# English only: the Korean solution runs whole in the grader's samples (good_ko: graded in Korean, full marks).
@pytest.mark.parametrize("lang", ["en"])
def test_solution_runs_and_scores_full_marks(lang, tmp_path, monkeypatch):
    nb, cloud, home, netlog = execute(ROOT / "solutions" / lang / "lab03.ipynb", tmp_path, monkeypatch)
    try:
        assert errors(nb) == []
        out = text_of(nb)
        # the lesson's port 80 does not answer, the app says where it listens, revision 2 answers
        cells = {c.id: "".join(o.get("text", "") for o in c.get("outputs", [])) for c in nb.cells}
        assert cells["curl_tasks_v1"].count("(no answer)") == 2, cells["curl_tasks_v1"]
        assert "Running on http://" in cells["read_logs"] and ":8080" in cells["read_logs"]
        assert cells["watch_v2"].count("-> Hello from Container!") == 2, cells["watch_v2"]
        assert "my-task:1" in cells["watch_v2"] and "has reached a steady state" in cells["watch_v2"]
        # ECS refuses the lesson's Service Connect until the port mapping is named
        assert "portName 'http' does not match any named port mapping" in cells["try_backend_service"]
        assert ("로컬 클라우드" in out) == (lang == "ko")

        lab = get_lab("lab03")
        results = lab.run(CheckContext(endpoint=cloud.endpoint, home=home, notebook=nb), include_hidden=True)
        failed = [(r.condition, r.key, r.params) for r in results if not r.passed]
        assert failed == []
        assert sum(r.earned for r in results) == sum(s.max_points() for s in lab.steps) == 22
        assert netlog.blocked() == []
    finally:
        cloud.stop()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_run_all_on_the_untouched_lab_reaches_the_first_check(lang, tmp_path, monkeypatch):
    """Run All on the student version as handed out: the setup cell pushes the image, the
    placeholders do not stop it, and step 1's test cell fails with what is missing."""
    nb, cloud, home, netlog = execute(ROOT / "course" / lang / "lab03.ipynb", tmp_path, monkeypatch, run_all=True)
    try:
        failed = [c for c in nb.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        assert [c.id for c in failed] == ["cluster"], [(c.id, c.outputs) for c in failed]
        error = next(o for o in failed[0].outputs if o["output_type"] == "error")
        assert error["ename"] in ("AssertionError", "StepIncomplete") and "NotImplementedError" not in json.dumps(nb.cells[:20])
        ids = [c.id for c in nb.cells]
        button = nb.cells[ids.index("progress_cluster")]
        assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in button.outputs)
        assert ("클러스터" in error["evalue"]) == (lang == "ko")
        setup = "".join(o.get("text", "") for o in nb.cells[ids.index("setup_image")].outputs)
        assert "latest: digest: sha256:" in setup, setup
    finally:
        cloud.stop()
