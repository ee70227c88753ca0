"""Lesson 07's clickable decision tree (labkit/widgets/decision_tree.py), driven through its buttons
as a student's clicks would, without a browser: every path ends on the service lesson 07's
recommend() gives, with its row of table 7.2 and the reason; Back and Start again; Korean; the
static figure (the whole tree, the same bytes every time)."""
from __future__ import annotations

import re
from html import unescape

import pytest

from labkit import choosing
from labkit.messages import text
from labkit.widgets import decision_tree, decision_tree_widget


def _click(widget, answers):
    for answer in answers:
        (widget.yes if answer else widget.no).click()


def _shown(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("path", choosing.PATHS)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_path_of_clicks_reaches_what_recommend_gives_with_its_row_and_reason(path, lang):
    w = decision_tree.DecisionTree(lang)
    first, second = choosing.questions(path)
    assert text(f"choosing.question.{first}", lang) in w.question.value and w.result.value == ""
    w.yes.click() if path[0] else w.no.click()
    assert text(f"choosing.question.{second}", lang) in w.question.value and w.result.value == ""
    w.yes.click() if path[1] else w.no.click()
    assert w.answers == list(path) and w.recommendation == choosing.recommend(*path)
    shown = _shown(w.result.value)
    assert choosing.recommend(*path) in shown
    use_case = choosing.row(*path)
    aws, gcp = choosing.USE_CASES[use_case]
    for cell in (text(f"choosing.row.{use_case}", lang), choosing.service(aws), gcp,
                 text(f"choosing.why.{use_case}", lang), text(f"choosing.reason.{choosing.leaf(*path)}", lang)):
        assert cell in shown, cell
    assert w.yes.disabled and w.no.disabled and w.question.value == ""
    # both answers stay on screen, each with its question
    trail = _shown(w.trail.value)
    assert text(f"choosing.question.{first}", lang) in trail and text(f"choosing.question.{second}", lang) in trail


def test_the_leaves_are_lesson_07s_and_the_rows_its_table():
    assert {choosing.recommend(*p) for p in choosing.PATHS} == {
        "Fargate on EKS", "Cloud Run (GCP) / Fargate on ECS (AWS)", "GKE (Autopilot/Standard) / EKS",
        "ECS on EC2 / Compute Engine + Docker"}
    assert all(choosing.row(*p) in choosing.USE_CASES for p in choosing.PATHS)
    assert choosing.next_question(()) == "serverless" and choosing.next_question((True, False)) is None


def test_a_click_after_the_leaf_changes_nothing():
    w = decision_tree.DecisionTree("en")
    _click(w, [False, False])
    w.answer(True)  # the buttons are disabled; a stray call must not grow the path
    assert w.answers == [False, False] and w.recommendation == "ECS on EC2 / Compute Engine + Docker"


def test_back_takes_the_last_answer_back_and_start_again_all_of_them():
    w = decision_tree.DecisionTree("en")
    assert w.back.disabled and w.restart.disabled
    _click(w, [True, True])
    assert w.recommendation == "Fargate on EKS"
    w.back.click()
    assert w.answers == [True] and w.recommendation is None and w.result.value == ""
    assert "Do you need Kubernetes features?" in w.question.value and not w.yes.disabled
    w.no.click()
    assert w.recommendation == "Cloud Run (GCP) / Fargate on ECS (AWS)"
    assert "ECS Express Mode" in w.result.value and "App Runner" in w.result.value
    w.restart.click()
    assert w.answers == [] and "Do you need serverless containers?" in w.question.value
    assert w.back.disabled and w.trail.value == ""
    w.no.click()
    assert "Do you need Kubernetes?" in w.question.value   # the other branch's question
    w.back.click()
    w.back.click()  # nothing left to take back
    assert w.answers == []


def test_the_korean_tree_speaks_korean():
    box = decision_tree_widget("ko")
    buttons = [b.description for row in box.children if hasattr(row, "children") for b in row.children]
    assert buttons == ["예", "아니요", "뒤로", "처음부터 다시"]
    assert "서버리스 컨테이너가 필요한가요?" in box.children[1].value
    w = decision_tree.DecisionTree("ko")
    _click(w, [False, True])
    assert "결정 트리가 이끄는 곳: GKE (Autopilot/Standard) / EKS" in w.result.value
    assert "K8s (전체 제어)" in w.result.value and "사용 사례" in w.result.value


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_static_figure_is_the_whole_tree_and_the_same_bytes_each_time(lang):
    bundle = decision_tree.static_figure(lang)
    assert bundle == decision_tree.static_figure(lang)
    picture, alt = bundle["image/svg+xml"], bundle["text/plain"]
    assert picture.startswith("<svg") and f'xml:lang="{lang}"' in picture and "<?xml" not in picture
    for path in choosing.PATHS:
        service = choosing.recommend(*path)
        assert service in picture and service in alt
        use_case = text(f"choosing.row.{choosing.row(*path)}", lang)
        assert use_case in picture and use_case in alt
    for key in ("serverless", "kubernetes_features", "kubernetes"):
        assert text(f"choosing.question.{key}", lang) in picture
    assert len(alt.splitlines()) == 1 + len(choosing.PATHS)
