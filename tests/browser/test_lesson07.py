"""Lesson 07's clickable decision tree (7.1) as a student meets it in JupyterLab. In English: the cell
run alone (the tree needs nothing else of the lesson), Yes then No clicked to the tree's Cloud Run /
Fargate on ECS, with the reason and table 7.2's "Simple web app" row drawn under it; Back takes the
No back and Yes leads to Fargate on EKS and its row; Start again asks the first question again. In
Korean, more cheaply: the stored static figure (the whole tree, before anything runs) is the Korean
one, and once the cell runs its buttons and its first answer speak Korean. Every path and both
languages are clicked through without a browser in tests/test_decision_tree_widget.py."""
from __future__ import annotations

import re
from html import unescape

from playwright.sync_api import expect

from labkit import choosing
from labkit.messages import text
from tests.browser import notebook as nb
from tests.browser.server import ROOT
from tests.browser.test_lab03 import set_ui_language, show

SVG = ".jp-OutputArea-output[data-mime-type='image/svg+xml']"


def _open_tree(page, lab, lang: str):
    """The lesson opened (JupyterLab's menus in English), its tree cell: (the cell, its notebook JSON)."""
    path = f"{lang}/07_choosing.ipynb"
    source = nb.read_notebook(ROOT / "course" / path)
    set_ui_language(lab, "en")
    notebook = nb.open_notebook(page, lab, path, len(source["cells"]), workspace=f"lesson07-{lang}")
    nb.wait_for_kernel_idle(page)
    nb.dismiss_news_prompt(page)
    return nb.cells(notebook).nth(nb.cell_index(source, "decision_tree")), source


def _button(tree, label: str):
    """The widget's button that reads `label` (Back and Start again also hold an icon)."""
    return tree.locator(".widget-button", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))


def _click(page, tree, label: str, then: str, gone: str = "") -> None:
    """Click the button `label`, then wait until the widget shows `then` and no longer `gone` (the
    kernel answers the click with several model updates, which the browser draws one by one)."""
    _button(tree, label).click()
    page.wait_for_function("([el, words, gone]) => el.innerText.includes(words)"
                           " && !(gone && el.innerText.includes(gone))", arg=[tree.element_handle(), then, gone], timeout=15_000, polling=nb.POLL_MS)


def _leaf_row(tree) -> list[str]:
    """The cells of the row of table 7.2 the widget draws under its answer."""
    return [cell.strip() for cell in tree.locator(".widget-html-content table tr").nth(1).locator("td").all_inner_texts()]


def _expected_row(path: tuple[bool, bool], lang: str) -> list[str]:
    use_case = choosing.row(*path)
    aws, gcp = choosing.USE_CASES[use_case]
    return [text(f"choosing.row.{use_case}", lang), choosing.service(aws), choosing.service(gcp),
            text(f"choosing.why.{use_case}", lang)]


def test_lesson07_tree_clicked_to_a_recommendation_with_its_row_and_reason(page, student_lab, shots):
    tree, _ = _open_tree(page, student_lab, "en")
    nb.run_cell(page, tree)
    tree.locator(".widget-button").first.wait_for(timeout=30_000)
    show(tree)
    assert tree.locator(SVG).count() == 0, "the live widget replaces the static figure"
    assert "Question 1 of 2" in tree.inner_text() and "Do you need serverless containers?" in tree.inner_text()
    assert _button(tree, "Back").is_disabled()

    _click(page, tree, "Yes", "Do you need Kubernetes features?")
    _click(page, tree, "No", "The tree leads to:")
    shots.take(page, "serverless-no-kubernetes")
    shown = tree.inner_text()
    assert "The tree leads to: Cloud Run (GCP) / Fargate on ECS (AWS)" in shown, shown
    assert text("choosing.reason.serverless", "en") in shown, shown
    assert "Its row of table 7.2" in shown
    assert _leaf_row(tree) == _expected_row((True, False), "en") and _leaf_row(tree)[0] == "Simple web app"
    # both answers stay on screen with their questions; the answer buttons are done
    assert "Do you need serverless containers? Your answer: Yes" in shown
    assert "Do you need Kubernetes features? Your answer: No" in shown
    expect(_button(tree, "Yes")).to_be_disabled(timeout=15_000)

    # Back takes the No back; Yes leads to the other leaf of the branch
    _click(page, tree, "Back", "Question 2 of 2", gone="The tree leads to:")
    _click(page, tree, "Yes", "The tree leads to: Fargate on EKS")
    shots.take(page, "serverless-kubernetes")
    assert _leaf_row(tree) == _expected_row((True, True), "en") and _leaf_row(tree)[0] == "K8s (simplified)"
    assert text("choosing.reason.serverless_kubernetes", "en") in tree.inner_text()

    _click(page, tree, "Start again", "Question 1 of 2", gone="Your answer")
    expect(_button(tree, "Back")).to_be_disabled(timeout=15_000)
    assert nb.errors_in(tree) == []


def test_lesson07_tree_in_korean_static_figure_then_korean_buttons(page, student_lab, shots):
    tree, source = _open_tree(page, student_lab, "ko")
    # Not run yet: the build's figure of the whole tree, in Korean, stands in the widget's place
    show(tree)
    figure = tree.locator(SVG)
    assert figure.count() == 1
    drawn = unescape(figure.evaluate("el => { const img = el.querySelector('img'); "
                                     "return img && img.naturalWidth > 0 ? decodeURIComponent(img.src) : ''; }"))
    for key in ("serverless", "kubernetes_features", "kubernetes"):
        assert text(f"choosing.question.{key}", "ko") in drawn, key
    for path in choosing.PATHS:
        assert text(f"choosing.row.{choosing.row(*path)}", "ko") in drawn, path

    nb.run_cell(page, tree)
    tree.locator(".widget-button").first.wait_for(timeout=30_000)
    buttons = [b.strip() for b in tree.locator(".widget-button").all_inner_texts()]
    assert buttons == ["예", "아니요", "뒤로", "처음부터 다시"], buttons
    _click(page, tree, "아니요", text("choosing.question.kubernetes", "ko"))
    _click(page, tree, "예", text("choosing.recommendation", "ko", service=choosing.recommend(False, True)))
    shots.take(page, "korean-leaf")
    assert _leaf_row(tree) == _expected_row((False, True), "ko"), _leaf_row(tree)
    assert not nb.errors_in(tree)
