"""Exercise 3 is read as a person would read it, and "Check my progress" in the kernel and the
grader always give the same result for the same cell.

Each form is the list of cells a student ran. The kernel path gets what Python makes of those
cells (we run them here: they are our own test strings); the grader path gets a notebook with
those cells and reads them with `ast`, never running them.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from labkit.checks import answers
from labkit.checks.core import CheckContext
from labkit.checks.registry import get_lab

REG = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"
LOGIN = f"aws ecr get-login-password --region ap-northeast-2 | docker login --username AWS --password-stdin {REG}"
BUILD = "docker build -t my-app ."
TAG = f"docker tag my-app:latest {REG}/my-app:v1.0"
PUSH = f"docker push {REG}/my-app:v1.0"
ANSWER = "\n".join([LOGIN, BUILD, TAG, PUSH])

# Forms we read: every one of them is worth the whole step.
SUPPORTED = {
    "plain": [f'exercise3 = """\n{ANSWER}\n"""'],
    "strip": [f'exercise3 = """\n{ANSWER}\n""".strip()'],
    "strip_newlines": [f'exercise3 = """\n{ANSWER}\n""".strip("\\n")'],
    "lstrip_rstrip": [f'exercise3 = """\n{ANSWER}\n""".lstrip().rstrip()'],
    "annotated": [f'exercise3: str = """\n{ANSWER}\n"""'],
    "annotated_strip": [f'exercise3: str = """\n{ANSWER}\n""".strip()'],
    "dedent": [f'import textwrap\nexercise3 = textwrap.dedent("""\n    {ANSWER.replace(chr(10), chr(10) + "    ")}\n""")'],
    "dedent_imported": [f'from textwrap import dedent\nexercise3 = dedent("""\n  {ANSWER.replace(chr(10), chr(10) + "  ")}\n""").strip()'],
    "implicit_concatenation": ["exercise3 = (\n" + "".join(f"    {line + chr(10)!r}\n" for line in ANSWER.splitlines()) + ")"],
    "plus": [" + ".join(["exercise3 = " + repr(LOGIN + "\n"), repr(BUILD + "\n"), repr(TAG + "\n"), repr(PUSH)])],
    "augmented": [f"exercise3 = {LOGIN + chr(10)!r}\nexercise3 += {BUILD + chr(10)!r}",
                  f"exercise3 += {TAG + chr(10)!r}\nexercise3 += {PUSH!r}"],
    "fstring_without_placeholders": [f'exercise3 = f"""\n{ANSWER}\n"""'],
    "chained": [f'answer = exercise3 = """\n{ANSWER}\n"""'],
    "reassigned_last_wins": ['exercise3 = "docker push nothing"', f'exercise3 = """\n{ANSWER}\n"""'],
    "one_line_and": [f'exercise3 = "{LOGIN} && {BUILD} && {TAG} && {PUSH}"'],
    "one_line_semicolon": [f'exercise3 = "{LOGIN}; {BUILD}; {TAG}; {PUSH}"'],
    "build_with_uri_then_push_one_line": [f'exercise3 = "{LOGIN} && docker build -t {REG}/my-app:v1.0 . && {PUSH}"'],
    "shell_continuations": ['exercise3 = r"""\naws ecr get-login-password --region ap-northeast-2 \\\n    | docker login \\\n'
                            f'    --username AWS --password-stdin {REG}\n{BUILD}\n{TAG}\n{PUSH}\n"""'],
    "python_continuations": ['exercise3 = """\naws ecr get-login-password --region ap-northeast-2 | \\\n'
                             f'docker login --username AWS --password-stdin {REG}\n{BUILD}\n{TAG}\n{PUSH}\n"""'],
    "equivalent_flags": ['exercise3 = """\n'
                         f"aws --region=ap-northeast-2 ecr get-login-password | docker login --password-stdin -u AWS https://{REG}\n"
                         f"docker image build --tag my-app .\ndocker image tag my-app {REG}/my-app:v1.0\n"
                         f"!labkit docker push {REG}/my-app:v1.0\n" '"""'],
}

# Forms we deliberately do not read (that would mean running student code): the grader and the
# kernel both say "not answered yet", so nobody sees 4 in the kernel and 0 in the grade.
NOT_READ = {
    "join": ["exercise3 = '\\n'.join([" + ", ".join(repr(line) for line in ANSWER.splitlines()) + "])"],
    "function": [f"def make():\n    return {ANSWER!r}\nexercise3 = make()"],
    "variable": [f"text = {ANSWER!r}\nexercise3 = text"],
    "fstring_with_placeholder": [f"reg = {REG!r}\nexercise3 = f{ANSWER.replace(REG, '{reg}')!r}"],
    "replace": [f"exercise3 = {ANSWER.replace(REG, 'REG')!r}.replace('REG', {REG!r})"],
}


def _kernel_value(cells: list[str]) -> str:
    namespace: dict = {}
    for source in cells:
        exec(source, namespace)  # noqa: S102 - our own test strings, never a student's
    return namespace["exercise3"]


def _summary(ctx: CheckContext) -> list[tuple]:
    return [(r.condition, r.passed, r.key, r.earned) for r in get_lab("lab02").step("exercise3").run(ctx)]


def _kernel(cells: list[str], monkeypatch, ran: list[str] | None = None) -> list[tuple]:
    """Check my progress: the kernel's variable, and (inside IPython) the cells it ran."""
    monkeypatch.setattr(answers, "_kernel_cells", lambda: ran)
    ctx = CheckContext(endpoint="http://127.0.0.1:9", home=Path("/nonexistent"),
                       answers={"exercise3": _kernel_value(cells)})
    return _summary(ctx)


def _grader(cells: list[str]) -> list[tuple]:
    notebook = {"cells": [{"cell_type": "code", "metadata": {}, "source": s} for s in cells]}
    return _summary(CheckContext(endpoint="http://127.0.0.1:9", home=Path("/nonexistent"), notebook=notebook))


@pytest.mark.parametrize("form", sorted(SUPPORTED))
def test_every_supported_form_scores_the_same_in_the_kernel_and_the_grader(form, monkeypatch):
    cells = SUPPORTED[form]
    grader = _grader(cells)
    assert _kernel(cells, monkeypatch) == grader                # a kernel value given as is
    assert _kernel(cells, monkeypatch, ran=cells) == grader     # inside IPython, reading `In`
    assert sum(earned for *_, earned in grader) == 4, grader
    assert all(passed for _, passed, _, _ in grader), grader


@pytest.mark.parametrize("form", sorted(NOT_READ))
def test_a_string_we_would_have_to_run_is_not_answered_in_either(form, monkeypatch):
    cells = NOT_READ[form]
    assert ANSWER in _kernel_value(cells)  # the kernel does hold a good answer...
    grader = _grader(cells)
    assert grader == [("exercise3.answered", False, "lab02.exercise3.unanswered", 0)]
    # ...but reading the cells it ran, Check my progress says what the grader will say.
    assert _kernel(cells, monkeypatch, ran=["import labkit", *cells, 'labkit.check_progress("lab02")']) == grader


def test_a_cell_assigned_in_a_way_we_cannot_read_replaces_the_earlier_answer(monkeypatch):
    cells = [f"exercise3 = {ANSWER!r}", "exercise3 = exercise3.upper()"]
    assert _grader(cells) == [("exercise3.answered", False, "lab02.exercise3.unanswered", 0)]
    assert _kernel(cells, monkeypatch, ran=cells) == _grader(cells)


def test_the_grader_never_runs_the_cell(tmp_path):
    marker = tmp_path / "ran"
    cells = [f"open({str(marker)!r}, 'w').close()\nexercise3 = {ANSWER!r}.strip()"]
    assert sum(earned for *_, earned in _grader(cells)) == 4
    assert not marker.exists()


@pytest.mark.parametrize("source, value", [
    ('"a" "b"', "ab"),
    ('("a"\n "b") + "c"', "abc"),
    ('"  a \\n".strip()', "a"),
    ('"xax".strip("x")', "a"),
    ('f"a" f"b"', "ab"),
    ('textwrap.dedent("  a\\n  b")', "a\nb"),
    ('"a".strip(chars)', None),         # a variable argument
    ('"a".strip("x", "y")', None),
    ('"a".upper()', None),              # not one of the strip family
    ('other.dedent("a")', None),        # not textwrap's
    ('f"{x}"', None),
    ('b"bytes"', None),
    ('1 + 2', None),
])
def test_literal_string_reads_only_the_safe_forms(source, value):
    import ast

    assert answers.literal_string(ast.parse(source, mode="eval").body) == value
