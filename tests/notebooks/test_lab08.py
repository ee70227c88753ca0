"""Lab 08 (cost functions, a month on each service, the plot, Exercise 1) run as a student runs it,
in both languages, with no local cloud: the solved lab passes every test cell, Run All on the
untouched one stops at step 1's test cell in the notebook's language, and what the kernel's checks
say (Check my progress, the test cells) is what the grader's checks say about the same notebook,
condition by condition, also for answers that are wrong in ways only the hidden cases or the
plot's reading see. The prices the lab gives are labkit/data/prices.yaml's, named as the checks
name them."""
from __future__ import annotations

import ast
import copy

import nbformat
import pytest

from labkit.checks import lab08
from labkit.checks.registry import get_lab
from tests.notebooks.function_labs import (execute, grader_context, grader_verdict, kernel_verdict, read, solved_run,
                                           steps, where_run_all_stops, with_verdict)
from tests.notebooks.runner import errors


def _cell(nb, grade_id: str):
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_solved_lab_passes_every_test_cell_and_kernel_and_grader_agree(tmp_path, monkeypatch, lang):
    nb, kernel, grader, seconds = solved_run("lab08", lang, tmp_path, monkeypatch, timeout=90)
    assert errors(nb) == []
    assert all(passed for results in kernel.values() for _, passed, _ in results), kernel
    assert kernel == grader
    assert seconds < 45, f"the solved lab 08 took {seconds:.1f} s"
    print(f"lab08 solution ({lang}) executed in {seconds:.2f} s")


def test_the_setup_cell_gives_the_price_files_figures_under_the_checks_names():
    """One source: the setup cell reads prices.yaml through labkit.pricing, with the names (and the
    price each stands for) that the checks put before the student's cells."""
    start = _cell(read("course", "en", "lab08"), "start").source
    assigned = {}
    for node in ast.parse(start).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            assigned[node.targets[0].id] = tuple(a.value for a in node.value.args)
    assert assigned == {**lab08.PRICE_NAMES, "DAYS_PER_MONTH": ("month",)}
    assert lab08.constants()["FARGATE_VCPU_HOUR"] == 0.04048 and lab08.constants()["DAYS_PER_MONTH"] == 30


def test_run_all_on_the_untouched_korean_lab_stops_at_step_1_in_korean(tmp_path, monkeypatch):
    failed, said = where_run_all_stops("lab08", "ko", tmp_path, monkeypatch)
    assert failed == ["fargate"]
    assert "1단계 · 시간 단위로 계산하는 Fargate와 GKE Autopilot" in said and "아직 아무것도 반환하지 않습니다" in said, said
    assert "Traceback" not in said


TYPED_PRICE = '''
def fargate_cost(vcpu, memory_gb, hours, spot=False):
    """The seed's day, typed in: right for its example only, and Spot forgotten."""
    return (vcpu * 0.04048 + memory_gb * 0.004445) * hours


def autopilot_cost(vcpu, memory_gb, hours):
    return vcpu * AUTOPILOT_VCPU_HOUR * hours + memory_gb * AUTOPILOT_GB_HOUR * hours + 0.10 * hours
'''
BAD_PLOT = '''import matplotlib.pyplot as plt

fig, ax = plt.subplots()
hours = [0, 6, 12, 18, 24]
ax.plot(hours, [monthly_costs(0.5, 1, h, 3_000_000)["fargate"] for h in hours], label="Fargate")
ax.plot(hours, [monthly_costs(0.5, 1, h, 0)["cloud_run"] for h in hours], label="Cloud Run")
ax.set_xlabel("load")
ax.set_ylabel("USD a month")
'''


def test_kernel_and_grader_agree_on_wrong_answers(tmp_path, monkeypatch):
    """Fargate with Spot forgotten and Autopilot with the cluster fee the free tier covers; a plot
    whose x axis does not say hours and whose Cloud Run line leaves the requests out."""
    nb = read("solutions", "en", "lab08")
    _cell(nb, "fargate_functions").source = TYPED_PRICE
    _cell(nb, "draw_plot").source = BAD_PLOT
    executed, _ = execute(with_verdict(nb, "lab08"), "lab08", tmp_path, monkeypatch, "wrong", timeout=90)
    kernel = kernel_verdict(executed)
    assert kernel == grader_verdict(nb, "lab08")
    failed = {cond: key for step in steps("lab08") for cond, passed, key in kernel[step] if not passed}
    assert failed == {"autopilot_cost.autopilot_seed": "lab08.cost.wrong", "autopilot_cost.autopilot_month": "lab08.cost.wrong",
                      "fargate_cost.fargate_spot": "lab08.cost.wrong", "plot.labels": "lab08.plot.labels.x",
                      "plot.values": "lab08.plot.values.wrong"}


def test_a_helper_in_another_cell_is_missing_for_kernel_and_grader_alike():
    """The checks run only the cells that define the functions: a helper elsewhere is a NameError."""
    solution = read("solutions", "en", "lab08")
    nb = copy.deepcopy(solution)
    at = nb.cells.index(_cell(nb, "cloud_run_function"))
    nb.cells.insert(at, nbformat.v4.new_code_cell("def seconds(h):\n    return h * 3600 * DAYS_PER_MONTH\n"))
    _cell(nb, "cloud_run_function").source = _cell(solution, "cloud_run_function").source.replace(
        "busy_hours_per_day * 3600 * DAYS_PER_MONTH", "seconds(busy_hours_per_day)")
    ctx = grader_context(nb)
    results = get_lab("lab08").step("cloud_run").run(ctx, include_hidden=True)
    assert {(r.key, r.params.get("missing")) for r in results} == {("lab08.raised.name", "seconds")}
    assert len(results) == 6  # every case of the step, shown and hidden, says so
