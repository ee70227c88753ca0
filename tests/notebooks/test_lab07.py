"""Lab 07 (the decision tree as a function, table 7.2, Exercise 2) run as a student runs it, in both
languages, with no local cloud: the solved lab passes every test cell, Run All on the untouched one
stops at step 1's test cell in the notebook's language, and what the kernel's checks say (Check my
progress, the test cells) is what the grader's checks say about the same notebook, condition by
condition, also for an answer that is wrong in ways only the hidden scenarios see."""
from __future__ import annotations

import nbformat
import pytest

from labkit.checks.registry import get_lab
from tests.notebooks.function_labs import (execute, grader_context, grader_verdict, kernel_verdict, read, solved_run,
                                           where_run_all_stops, with_verdict)
from tests.notebooks.runner import errors


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_solved_lab_passes_every_test_cell_and_kernel_and_grader_agree(tmp_path, monkeypatch, lang):
    nb, kernel, grader, seconds = solved_run("lab07", lang, tmp_path, monkeypatch)
    assert errors(nb) == []
    assert all(passed for results in kernel.values() for _, passed, _ in results), kernel
    assert kernel == grader
    assert seconds < 30, f"the solved lab 07 took {seconds:.1f} s"
    print(f"lab07 solution ({lang}) executed in {seconds:.2f} s")


def test_run_all_on_the_untouched_korean_lab_stops_at_step_1_in_korean(tmp_path, monkeypatch):
    failed, said = where_run_all_stops("lab07", "ko", tmp_path, monkeypatch)
    assert failed == ["tree"]
    assert "1단계 · 함수로 옮긴 결정 트리" in said and "아직 아무것도 반환하지 않습니다" in said, said
    assert "Traceback" not in said


WRONG_TREE = '''
def choose(serverless: bool, kubernetes: bool, cloud: str) -> str:
    """AWS names whatever the cloud: right on every scenario the lab shows, wrong on GCP's."""
    if serverless:
        return "Fargate on EKS" if kubernetes else "Fargate on ECS"
    return leaf(kubernetes)
'''
HELPER = '''
def leaf(kubernetes):
    return "EKS" if kubernetes else "ECS on EC2"
'''


def test_kernel_and_grader_agree_on_wrong_answers(tmp_path, monkeypatch):
    """A tree right on AWS only, its helper in another cell (the checks run the cell alone: it is
    missing there, in the kernel and in the grader alike), a table with one wrong row and one
    missing, Exercise 2 with the seed's ECS Fargate for the GPU jobs."""
    nb = read("solutions", "en", "lab07")
    at = {c.id: i for i, c in enumerate(nb.cells)}
    nb.cells[at["choose"]].source = WRONG_TREE
    nb.cells.insert(at["choose"], nbformat.v4.new_code_cell(HELPER, id="helper"))
    nb.cells[at["use_cases"] + 1].source = nb.cells[at["use_cases"] + 1].source.replace(
        '"EKS Auto Mode", "GKE Autopilot"', '"EKS Auto Mode", "GKE Standard"').replace(
        '"multi-cloud": (', '"multicloud": (')
    nb.cells[at["exercise2_choices"] + 1].source = 'EXERCISE2 = {1: "ECS Express Mode", 2: "EKS", 3: "ECS Fargate", 4: "ECS on EC2"}'
    executed, _ = execute(with_verdict(nb, "lab07"), "lab07", tmp_path, monkeypatch, "wrong")
    kernel = kernel_verdict(executed)
    assert kernel == grader_verdict(nb, "lab07")
    tree = {cond: key for cond, _, key in kernel["tree"]}
    # the helper is not in the cell, so every call that needs it stops; the others answer
    assert tree["tree.aws_own_k8s"] == tree["tree.aws_own_plain"] == "lab07.tree.raised.name"
    assert tree["tree.aws_plain"] == tree["tree.aws_crds"] == "lab07.tree.ok"
    failed = {cond: key for step in ("table", "exercise2") for cond, passed, key in kernel[step] if not passed}
    assert failed == {"table.row3": "lab07.table.row.wrong_gcp", "table.row10": "lab07.table.row.absent",
                      "exercise.choice3": "lab07.exercise.choice.wrong"}
    # With the helper inside its cell, the visible scenarios pass and the hidden GCP ones do not.
    nb.cells[at["choose"] + 1].source = HELPER + WRONG_TREE
    ctx = grader_context(nb)
    tree = get_lab("lab07").step("tree")
    assert all(r.passed for r in tree.run(ctx))
    hidden = {r.condition: r.passed for r in tree.run(ctx, include_hidden=True)[len(tree.conditions):]}
    assert hidden == {"tree.gcp_idle_api": False, "tree.gcp_helm_no_nodes": False, "tree.gcp_machine_types": False,
                      "tree.gcp_legacy_vm": False, "tree.day19_no_infra": True, "tree.day19_infra_no_k8s": True}
