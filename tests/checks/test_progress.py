"""Check my progress and the test-cell assertions, in both languages, against a real local cloud."""
from __future__ import annotations

import re

import pytest

from labkit.checks.core import INFRA, Result
from labkit.checks.progress import assert_step, check_progress, render_html, run_step


@pytest.fixture
def kernel_like(ctx, monkeypatch):
    """Point the in-kernel helpers at the test's fresh cloud, as labkit.start() would."""
    monkeypatch.setenv("LABKIT_AWS_PORT", ctx.endpoint.rsplit(":", 1)[1])
    monkeypatch.setenv("LABKIT_HOME", str(ctx.home))
    monkeypatch.setenv("LABKIT_LANG", "en")
    return ctx


def test_button_shows_each_condition_with_hint_and_partial_credit(kernel_like, aws, monkeypatch):
    aws("ecr").create_repository(repositoryName="my-app")  # exists, but scan on push is off
    box = check_progress("lab02", "repository")
    box.check()
    html = box.children[1].value
    assert "data-condition='repository.exists' data-passed='true'" in html
    assert "data-condition='repository.scan_on_push' data-passed='false'" in html
    assert "put-image-scanning-configuration" in html  # the hint
    assert "1 / 2 points" in html
    assert "repository.mutable" not in html  # hidden conditions stay hidden


def test_korean_notebook_gets_korean_feedback(kernel_like, monkeypatch):
    monkeypatch.setenv("LABKIT_LANG", "ko")
    box = check_progress("lab02", "repository")
    assert box.children[0].description == "진행 상황 확인"
    box.check()
    html = box.children[1].value
    assert "레포지토리가 없습니다" in html and "힌트" in html and "0 / 2점" in html


def test_wrong_region_gets_its_own_message(kernel_like, aws):
    aws("ecr", region="us-east-1").create_repository(repositoryName="my-app")
    results = {r.condition: r for r in run_step("lab02", "repository")}
    assert results["repository.exists"].key == "lab02.repository.exists.wrong_region"
    assert results["repository.exists"].params["region"] == "us-east-1"


def test_assert_step_fails_with_the_unmet_conditions_then_passes(kernel_like, aws):
    with pytest.raises(AssertionError) as err:
        assert_step("lab02", "repository")
    assert "There is no repository `my-app`" in str(err.value)
    aws("ecr").create_repository(repositoryName="my-app", imageScanningConfiguration={"scanOnPush": True})
    assert assert_step("lab02", "repository", hidden=True) == 3


@pytest.mark.parametrize("lang, words", [("en", "Run the first cell again"), ("ko", "첫 번째 셀(`labkit.start()`)을 다시 실행")])
def test_a_stopped_cloud_tells_the_student_to_run_the_first_cell(monkeypatch, tmp_path, lang, words):
    """Not one 'checker problem' per condition: the one thing to do, said once, in their language."""
    from labkit.checks.progress import CloudDown
    from labkit.cloud.process import free_port

    monkeypatch.setenv("LABKIT_AWS_PORT", str(free_port()))  # nothing listens there
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    monkeypatch.setenv("LABKIT_LANG", lang)
    with pytest.raises(CloudDown, match=re.escape(words)):
        run_step("lab02", "repository")
    with pytest.raises(RuntimeError, match=re.escape(words)):
        assert_step("lab02", "repository")
    box = check_progress("lab02", "repository")
    box.check()
    assert words in box.children[1].value and "labkit-progress" not in box.children[1].value


def test_a_crashing_condition_is_reported_as_our_problem_not_the_student(kernel_like, monkeypatch):
    from labkit.checks import lab02

    def broken(ctx):
        raise KeyError("boom")

    monkeypatch.setattr(lab02.LAB.step("repository"), "conditions", [broken])
    results = run_step("lab02", "repository")
    assert [r.kind for r in results] == [INFRA]
    with pytest.raises(RuntimeError, match="not your fault"):
        assert_step("lab02", "repository")


def test_render_marks_infra_results_apart():
    html = render_html("lab02", "repository", [Result("x", False, "check.crashed", kind=INFRA, params={"error": "boom"})],
                       lang="en")
    assert "checker problem" in html and "boom" in html


def test_every_condition_is_a_student_result_on_an_empty_cloud(ctx):
    """Nothing done yet is the student's state, never a checker failure (no 'infra' results)."""
    from labkit.checks.registry import get_lab

    results = get_lab("lab02").run(ctx, include_hidden=True)
    assert [r for r in results if r.kind != "student"] == []
    assert not any(r.passed for r in results)
