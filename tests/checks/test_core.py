"""Step gates: a step that cannot be judged yet is one result carrying the step's points."""
from __future__ import annotations

from pathlib import Path

from labkit.checks.core import INFRA, CheckContext, Result, Step, condition


@condition(points=0)
def gate_answered(ctx):
    ok = "answer" in ctx.answers
    return [Result("t.answered", ok, "t.answered" if ok else "t.unanswered", points=0)]


@condition(points=1)
def part_a(ctx):
    return [Result("t.a", True, "t.a.ok")]


@condition(points=2)
def part_b(ctx):
    return [Result("t.b", False, "t.b.missing", points=2)]


@condition(points=1)
def hidden_c(ctx):
    return [Result("t.c", True, "t.c.ok")]


STEP = Step("t", "t.title", [part_a, part_b], hidden=[hidden_c], gate=gate_answered)


def ctx(**answers):
    return CheckContext(endpoint="http://127.0.0.1:9", home=Path("/nonexistent"), answers=answers)


def test_a_failed_gate_is_one_result_with_the_steps_points():
    (visible,) = STEP.run(ctx())
    assert (visible.condition, visible.key, visible.points, visible.earned, visible.step) == (
        "t.answered", "t.unanswered", 3, 0, "t")
    (full,) = STEP.run(ctx(), include_hidden=True)
    assert full.points == 4 == STEP.max_points()


def test_a_passed_gate_is_silent_and_the_conditions_run():
    found = STEP.run(ctx(answer="x"), include_hidden=True)
    assert [r.condition for r in found] == ["t.a", "t.b", "t.c"]
    assert sum(r.earned for r in found) == 2 and sum(r.points for r in found) == 4


def test_a_crashing_gate_is_the_checkers_problem_with_the_steps_points():
    def broken(ctx):
        raise KeyError("boom")

    (r,) = Step("t", "t.title", [part_a, part_b], gate=broken).run(ctx())
    assert (r.kind, r.key, r.points) == (INFRA, "check.crashed", 3)


def test_a_crashing_condition_keeps_its_points():
    @condition(points=2)
    def broken(ctx):
        raise KeyError("boom")

    (r,) = Step("t", "t.title", [broken]).run(ctx())
    assert (r.kind, r.points, r.step) == (INFRA, 2, "t")


def test_visible_and_hidden_points_add_up():
    assert STEP.max_points(include_hidden=False) + STEP.hidden_points() == STEP.max_points() == 4
