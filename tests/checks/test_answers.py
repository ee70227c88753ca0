"""One place decides "not answered yet": the placeholder nbgrader writes, in every language the
build writes it, is no answer (coursebuild/release.py holds the stubs)."""
from __future__ import annotations

from pathlib import Path

import pytest

from coursebuild.release import CODE_STUB, TEXT_STUB
from labkit.checks.answers import answer_text, is_stub_line, without_stub
from labkit.checks.core import CheckContext


def ctx(**answers):
    return CheckContext(endpoint="http://127.0.0.1:9", home=Path("/nonexistent"), answers=answers)


@pytest.mark.parametrize("lang", sorted(CODE_STUB))
def test_every_stub_the_build_writes_is_recognised(lang):
    for stub in (CODE_STUB[lang], TEXT_STUB[lang]):
        assert all(is_stub_line(line) for line in stub.splitlines()), (lang, stub)
        assert answer_text(ctx(answer=f"\n{stub}\n"), "answer") is None


@pytest.mark.parametrize("line", ["raise NotImplementedError()", "raise NotImplementedError", "  # YOUR CODE HERE  "])
def test_nbgraders_default_stub_is_recognised_too(line):
    assert is_stub_line(line)


def test_not_assigned_or_not_a_string_is_no_answer():
    assert answer_text(ctx(), "answer") is None
    assert answer_text(ctx(answer="   \n\n"), "answer") is None


def test_an_answer_keeps_its_lines_where_they_were():
    text = "# YOUR CODE HERE\ndocker build -t my-app .\n"
    assert answer_text(ctx(answer=text), "answer") == "\ndocker build -t my-app ."
    assert without_stub("a\n# 여기에 코드를 작성하세요\nb") == "a\n\nb"


def test_a_comment_that_only_looks_like_a_stub_is_kept():
    assert not is_stub_line("# YOUR CODE HERE: docker build")
    assert answer_text(ctx(answer="# my notes"), "answer") == "# my notes"


def test_the_notebook_is_read_the_same_way():
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": 'answer = """\n# 여기에 코드를 작성하세요\n"""\n'}]}
    assert answer_text(CheckContext(endpoint="http://127.0.0.1:9", home=Path("/x"), notebook=nb), "answer") is None
