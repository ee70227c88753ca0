"""Lab 07 (the decision tree as a function, table 7.2, Exercise 2) run as a student runs it, in both
languages, with no local cloud: the solved lab passes every test cell, Run All on the untouched one
stops at step 1's test cell in the notebook's language, and what the kernel's checks say (Check my
progress, the test cells) is what the grader's checks say about the same notebook, condition by
condition, also for an answer that is wrong in ways only the hidden scenarios see."""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from labkit.checks.core import CheckContext
from labkit.checks.registry import get_lab

ROOT = Path(__file__).resolve().parents[2]

# Appended to an executed notebook: the kernel's own verdict on every condition, hidden ones included.
KERNEL_VERDICT = """
import json
from labkit.checks.progress import run_step
print("VERDICT" + json.dumps({s: [[r.condition, r.passed, r.key] for r in run_step("lab07", s, include_hidden=True)]
                              for s in ("tree", "table", "exercise2")}))
"""


def _execute(nb, tmp_path: Path, monkeypatch, name: str, run_all: bool = False):
    """Run `nb` in a fresh kernel as JupyterLab would for `name` (its language from the notebook)."""
    work = tmp_path / name
    work.mkdir()
    monkeypatch.setenv("JPY_SESSION_NAME", str(work / "lab07.ipynb"))
    monkeypatch.delenv("LABKIT_LANG", raising=False)
    nbformat.write(nb, work / "lab07.ipynb")
    client = NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=not run_all,
                            resources={"metadata": {"path": str(work)}})
    started = time.monotonic()
    try:
        client.execute()
    except CellExecutionError:
        assert run_all
    return nb, time.monotonic() - started


def _errors(nb) -> list[str]:
    return [f"{c.get('id')}: {o.get('ename')}: {o.get('evalue')}" for c in nb.cells for o in c.get("outputs", [])
            if o.get("output_type") == "error"]


def _kernel_verdict(nb) -> dict:
    text = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []) if o.get("output_type") == "stream")
    return json.loads(text.split("VERDICT", 1)[1])


def _grader_verdict(nb) -> dict:
    """The grader's way: the checks in this process, reading the notebook as submitted."""
    ctx = CheckContext("http://127.0.0.1:9", home=None, notebook=json.loads(nbformat.writes(nb)))
    return {s.id: [[r.condition, r.passed, r.key] for r in s.run(ctx, include_hidden=True)] for s in get_lab("lab07").steps}


def _with_verdict(nb):
    nb = copy.deepcopy(nb)
    nb.cells.append(nbformat.v4.new_code_cell(KERNEL_VERDICT, id="kernel-verdict"))
    return nb


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_solved_lab_passes_every_test_cell_and_kernel_and_grader_agree(tmp_path, monkeypatch, lang):
    solution = nbformat.read(ROOT / "solutions" / lang / "lab07.ipynb", as_version=4)
    nb, seconds = _execute(_with_verdict(solution), tmp_path, monkeypatch, f"solved-{lang}")
    assert _errors(nb) == []
    kernel = _kernel_verdict(nb)
    assert all(passed for results in kernel.values() for _, passed, _ in results), kernel
    assert kernel == _grader_verdict(solution)
    assert seconds < 30, f"the solved lab 07 took {seconds:.1f} s"
    print(f"lab07 solution ({lang}) executed in {seconds:.2f} s")


def test_run_all_on_the_untouched_korean_lab_stops_at_step_1_in_korean(tmp_path, monkeypatch):
    student = nbformat.read(ROOT / "course" / "ko" / "lab07.ipynb", as_version=4)
    nb, _ = _execute(student, tmp_path, monkeypatch, "untouched-ko", run_all=True)
    failed = [c for c in nb.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert [c.id for c in failed] == ["tree"]
    said = "\n".join(o.get("evalue", "") + "".join(o.get("traceback", [])) for o in failed[0].outputs)
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
    solution = nbformat.read(ROOT / "solutions" / "en" / "lab07.ipynb", as_version=4)
    nb = copy.deepcopy(solution)
    at = {c.id: i for i, c in enumerate(nb.cells)}
    nb.cells[at["choose"]].source = WRONG_TREE
    nb.cells.insert(at["choose"], nbformat.v4.new_code_cell(HELPER, id="helper"))
    nb.cells[at["use_cases"] + 1].source = nb.cells[at["use_cases"] + 1].source.replace(
        '"EKS Auto Mode", "GKE Autopilot"', '"EKS Auto Mode", "GKE Standard"').replace(
        '"multi-cloud": (', '"multicloud": (')
    nb.cells[at["exercise2_choices"] + 1].source = 'EXERCISE2 = {1: "ECS Express Mode", 2: "EKS", 3: "ECS Fargate", 4: "ECS on EC2"}'
    executed, _ = _execute(_with_verdict(nb), tmp_path, monkeypatch, "wrong")
    kernel = _kernel_verdict(executed)
    assert kernel == _grader_verdict(nb)
    tree = {cond: key for cond, _, key in kernel["tree"]}
    # the helper is not in the cell, so every call that needs it stops; the others answer
    assert tree["tree.aws_own_k8s"] == tree["tree.aws_own_plain"] == "lab07.tree.raised.name"
    assert tree["tree.aws_plain"] == tree["tree.aws_crds"] == "lab07.tree.ok"
    failed = {cond: key for step in ("table", "exercise2") for cond, passed, key in kernel[step] if not passed}
    assert failed == {"table.row3": "lab07.table.row.wrong_gcp", "table.row10": "lab07.table.row.absent",
                      "exercise.choice3": "lab07.exercise.choice.wrong"}
    # With the helper inside its cell, the visible scenarios pass and the hidden GCP ones do not.
    nb.cells[at["choose"] + 1].source = HELPER + WRONG_TREE
    ctx = CheckContext("http://127.0.0.1:9", home=None, notebook=json.loads(nbformat.writes(nb)))
    tree = get_lab("lab07").step("tree")
    assert all(r.passed for r in tree.run(ctx))
    hidden = {r.condition: r.passed for r in tree.run(ctx, include_hidden=True)[len(tree.conditions):]}
    assert hidden == {"tree.gcp_idle_api": False, "tree.gcp_helm_no_nodes": False, "tree.gcp_machine_types": False,
                      "tree.gcp_legacy_vm": False, "tree.day19_no_infra": True, "tree.day19_infra_no_k8s": True}
