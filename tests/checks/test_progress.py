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
    # ...but their points are said, so the numbers add up to the lab's table (3 points)
    assert "the grader checks 1 more point for this step (3 points in all)" in html


def test_korean_notebook_gets_korean_feedback(kernel_like, monkeypatch):
    monkeypatch.setenv("LABKIT_LANG", "ko")
    box = check_progress("lab02", "repository")
    assert box.children[0].description == "진행 상황 확인"
    box.check()
    html = box.children[1].value
    assert "리포지토리(Repository)가 없습니다" in html and "힌트" in html and "0 / 2점" in html
    assert "✘ 아직 아님" in html and "채점기가 이 단계에서 1점을 더 확인합니다(모두 3점)" in html


def test_wrong_region_gets_its_own_message(kernel_like, aws):
    aws("ecr", region="us-east-1").create_repository(repositoryName="my-app")
    results = {r.condition: r for r in run_step("lab02", "repository")}
    assert results["repository.exists"].key == "lab02.repository.exists.wrong_region"
    assert results["repository.exists"].params["region"] == "us-east-1"


def test_assert_step_fails_with_the_unmet_conditions_then_passes(kernel_like, aws):
    with pytest.raises(AssertionError) as err:
        assert_step("lab02", "repository")
    assert str(err.value).splitlines() == [
        "Step 1 · Create the ECR repository: not complete yet.",
        "  ✘ There is no repository `my-app` in ap-northeast-2 yet.",
        "    Hint: Create it: `aws ecr create-repository --repository-name my-app --region ap-northeast-2"
        " --image-scanning-configuration scanOnPush=true`.",
        "  ✘ Scan on push can be checked once the repository `my-app` exists.",
    ]
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
    shown = box.children[1].value
    assert words.replace("`", "") in re.sub(r"<[^>]+>", "", shown) and "<code" in shown  # code shown as code
    assert "labkit-progress" not in shown


def test_a_crashing_condition_is_reported_as_our_problem_not_the_student(kernel_like, monkeypatch):
    from labkit.checks import lab02

    def broken(ctx):
        raise KeyError("boom")

    monkeypatch.setattr(lab02.LAB.step("repository"), "conditions", [broken])
    results = run_step("lab02", "repository")
    assert [r.kind for r in results] == [INFRA]
    with pytest.raises(RuntimeError, match="not your fault") as err:
        assert_step("lab02", "repository")
    assert "Step 1 · Create the ECR repository" in str(err.value) and "'repository'" not in str(err.value)


def test_render_marks_infra_results_apart():
    html = render_html("lab02", "repository", [Result("x", False, "check.crashed", kind=INFRA, params={"error": "boom"})],
                       lang="en")
    assert "checker problem" in html and "boom" in html
    ko = render_html("lab02", "repository", [Result("x", False, "check.crashed", kind=INFRA, params={"error": "boom"})],
                     lang="ko")
    assert "검사기 문제" in ko and "채점기 문제" not in ko


def test_every_condition_is_a_student_result_on_an_empty_cloud(ctx):
    """Nothing done yet is the student's state, never a checker failure (no 'infra' results)."""
    from labkit.checks.registry import get_lab

    results = get_lab("lab02").run(ctx, include_hidden=True)
    assert [r for r in results if r.kind != "student"] == []
    assert not any(r.passed for r in results)


def test_code_in_a_message_is_shown_as_code_and_values_are_never_markup():
    """Backticks become <code>; a value (here a student's CMD) is escaped, even one with backticks."""
    html = render_html("lab02", "build", [
        Result("build.cmd", False, "lab02.build.cmd.bad", params={"found": "sh -c `<b>x</b>`", "expected": "python app.py"}),
    ], lang="en")
    assert "<code style=" in html and ">python app.py</code>" in html
    assert "sh -c `&lt;b&gt;x&lt;/b&gt;`</code>" in html and "<b>x</b>" not in html
    assert "`CMD" not in html and ">CMD [\"python\", \"app.py\"]</code>" in html  # the hint too


def test_an_unanswered_exercise_is_one_row_worth_the_whole_step(kernel_like):
    from labkit.checks.core import CheckContext

    for lang, stub in [("en", "# YOUR CODE HERE"), ("ko", "# 여기에 코드를 작성하세요")]:
        ctx = CheckContext(endpoint=kernel_like.endpoint, home=kernel_like.home, answers={"exercise3": f"\n{stub}\n"})
        html = render_html("lab02", "exercise3", run_step("lab02", "exercise3", ctx=ctx), lang=lang)
        assert html.count("<li ") == 1 and "(0/4)" in html, html
        assert "data-condition='exercise3.answered'" in html


def test_the_test_cell_shows_our_text_not_a_traceback(kernel_like, capsys):
    """In IPython (so in nbgrader's kernel) a failing step prints its text, and the cell still errors."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        result = shell.run_cell('import labkit\nlabkit.assert_step("lab02", "repository")')
    finally:
        InteractiveShell.clear_instance()
    out = capsys.readouterr().out
    assert isinstance(result.error_in_exec, AssertionError)  # nbgrader: the test cell fails
    assert "Step 1 · Create the ECR repository: not complete yet." in out and "Hint:" in out
    assert "Traceback" not in out and "labkit/checks" not in out and "progress.py" not in out


def test_a_korean_test_cell_speaks_korean(kernel_like, monkeypatch):
    monkeypatch.setenv("LABKIT_LANG", "ko")
    with pytest.raises(AssertionError) as err:
        assert_step("lab02", "login")
    lines = str(err.value).splitlines()
    assert lines[0] == "2단계 · 레지스트리에 로그인하기: 아직 완료되지 않았습니다."
    assert lines[1].startswith("  ✘ 레지스트리(`123456789012.dkr.ecr.ap-northeast-2.amazonaws.com`)에 로그인한 기록이 없습니다")
    assert lines[2].startswith("    힌트: ECR 비밀번호를 파이프(|)로 넘겨 로그인하세요")
