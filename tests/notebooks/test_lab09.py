"""The lab 09 (AWS part) solution notebook runs top to bottom against a fresh local cloud (App Runner,
ECS Express Mode and two ECS services behind an ALB really running the section 9.1 app) and leaves
a state that the out-of-kernel checks grade with full marks; Run All on the untouched student version
stops at step 1's test."""
from __future__ import annotations

import json
import re

import pytest

from labkit.checks.core import CheckContext
from labkit.checks.registry import get_lab

from .runner import ROOT, errors, execute, text_of


def _outputs(nb) -> dict[str, str]:
    """cell id -> its stream text and the text of its rich outputs (markdown tables)."""
    found = {}
    for cell in nb.cells:
        parts = []
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            data = out.get("data", {})
            parts.append(data.get("text/markdown", ""))
        found[cell.id] = "".join(parts)
    return found


def _share(table: str, answer: str) -> tuple[int, float]:
    """(count, percent) of one answer in labkit.aws.hit's table."""
    row = re.search(rf"\| `{re.escape(answer)}` \| (\d+) \| ([\d.]+)% \|", table)
    return (int(row.group(1)), float(row.group(2))) if row else (0, 0.0)


# English only: the Korean solution runs whole in the grader's samples (good_ko: graded in Korean, full marks).
@pytest.mark.parametrize("lang", ["en"])
def test_solution_runs_and_scores_full_marks(lang, tmp_path, monkeypatch):
    nb, cloud, home, netlog = execute(ROOT / "solutions" / lang / "lab09.ipynb", tmp_path, monkeypatch)
    try:
        assert errors(nb) == []
        cells = _outputs(nb)
        # App Runner: the lesson's command deploys, the URL answers once RUNNING; the update takes over
        created = cells["apprunner_helpers"]
        assert "OPERATION_IN_PROGRESS" in created and re.search(r"RUNNING .* -> Hello from AWS!", created), created
        assert "[AppRunner] Health check is successful" in cells["apprunner_logs"]
        update = cells["watch_update"].splitlines()
        assert re.search(r"OPERATION_IN_PROGRESS .* -> Hello from AWS!$", update[0]), update
        assert any(re.search(r"RUNNING .* -> Hello from AWS-v2!$", line) for line in update), update
        assert "UPDATE_SERVICE\tSUCCEEDED" in cells["watch_update"]
        # ECS Express Mode: its endpoint answers, what it made is visible
        assert re.search(r"\.ecs\.ap-northeast-2\.on\.aws/ -> Hello from AWS!", cells["watch_express"])
        assert "FARGATE" in cells["show_express"] and "ecs-gateway-tg-" in cells["show_express"]
        assert "application" in cells["show_express"]
        # the canary: about 10% v2 at 90/10, then v2 alone
        assert "90\t10" in cells["canary_alb"] and "0\t100" in cells["promote"]
        v1, _ = _share(cells["canary_hit"], "Hello from AWS!")
        v2, percent = _share(cells["canary_hit"], "Hello from AWS-v2!")
        assert v1 + v2 == 1000 and 5 <= percent <= 15, cells["canary_hit"]  # binomial: 10 ± 5 is > 5 sigma
        assert _share(cells["after_promotion"], "Hello from AWS-v2!") == (100, 100.0), cells["after_promotion"]

        lab = get_lab("lab09")
        results = lab.run(CheckContext(endpoint=cloud.endpoint, home=home, notebook=nb), include_hidden=True)
        failed = [(r.condition, r.key, r.params) for r in results if not r.passed]
        assert failed == []
        assert sum(r.earned for r in results) == sum(s.max_points() for s in lab.steps) == 21
        assert netlog.blocked() == []
    finally:
        cloud.stop()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_run_all_on_the_untouched_lab_reaches_the_first_check(lang, tmp_path, monkeypatch):
    """Run All on the student version as handed out: the setup cells push the image and create the roles,
    the placeholders and the helpers do not stop it, and step 1's test cell fails with what is missing."""
    nb, cloud, home, netlog = execute(ROOT / "course" / lang / "lab09.ipynb", tmp_path, monkeypatch, run_all=True)
    try:
        failed = [c for c in nb.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        assert [c.id for c in failed] == ["apprunner"], [(c.id, c.outputs) for c in failed]
        error = next(o for o in failed[0].outputs if o["output_type"] == "error")
        assert error["ename"] in ("AssertionError", "StepIncomplete") and "NotImplementedError" not in json.dumps(nb.cells[:20])
        assert ("서비스가 아직 없습니다" in error["evalue"]) == (lang == "ko"), error["evalue"]
        assert "Traceback" not in error["evalue"]
        ids = [c.id for c in nb.cells]
        button = nb.cells[ids.index("progress_apprunner")]
        assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in button.outputs)
        out = _outputs(nb)
        assert "latest: digest: sha256:" in out["setup_image"], out["setup_image"]
        assert out["setup_roles"].count("arn:aws:iam::123456789012:role/") == 3, out["setup_roles"]
        assert "there is no App Runner service my-app" in out["apprunner_helpers"]
        assert ("로컬 클라우드" in text_of(nb)) == (lang == "ko")
    finally:
        cloud.stop()
