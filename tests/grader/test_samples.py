"""The sample submissions of grader/samples/: committed as the script makes them, and graded by
`grader init` + `grader autograde` exactly as expected.json says (one run, two workers, shared
with test_attacks.py: the `graded` fixture of sample_class.py)."""
from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import re
from pathlib import Path

import pytest

from grader.cli import main
from grader.samples import make_samples
from tests.notebooks import lab_outputs

SAMPLES = Path(make_samples.__file__).resolve().parent
REPO = SAMPLES.parent.parent
LABS = sorted(make_samples.LABS)


def _expected(lab: str) -> dict:
    return json.loads((SAMPLES / lab / "expected.json").read_text())


@pytest.mark.parametrize("lab", LABS)
def test_committed_samples_are_what_the_script_makes(lab):
    assert make_samples.differences(lab) == [], f"run `python -m grader.samples.make_samples {lab}`"


MECHANICS = {"solution", "tamper", "infinite_loop", "kills_kernel", "edited_test_cell", "deleted_test_cell",
             "huge_output"}


@pytest.mark.parametrize("lab", LABS)
def test_samples_cover_every_bad_case(lab):
    assert set(_expected(lab)) >= {"good", "good_ko", "untouched", "partial", "malformed_json"}


def test_the_grader_mechanics_are_graded_on_one_lab():
    # the same code for every lab, so one lab's samples carry them (make test's budget)
    with_mechanics = [lab for lab in LABS if make_samples.LABS[lab].get("mechanics")]
    assert with_mechanics == ["lab02"] and set(_expected("lab02")) >= MECHANICS


@pytest.mark.parametrize("graded,case", [(lab, case) for lab in LABS for case in sorted(_expected(lab))],
                         indirect=["graded"], ids=lambda v: v)
def test_sample_grades_as_expected(graded, case):
    graded.require(case)
    lab, output = graded.lab, graded.output
    expected = _expected(lab)[case]
    res = graded.results(case)
    assert (res["status"], res["score"]) == (expected["status"], expected["score"]), (res["reason"], output)
    words = " | ".join([res["reason"], *(n["text"] for n in res["notes"])])
    assert expected["reason"] in words
    if "notes" in expected:
        assert len(res["notes"]) == expected["notes"], res["notes"]
    if case.endswith("_ko"):
        assert res["language"] == "ko"
    for key in expected.get("failed", []):  # the student's own failures, never the checker's
        assert any(r["key"] == key and not r["passed"] and r["kind"] != "infra" for r in res["results"]), (key, res["results"])


# (lab, case): what the grader's executed notebook is held to. Lab 03's solved notebooks are not: in the
# sandbox a kernel reaches its own cloud's port alone, not the tasks' 127.0.1.N addresses, so the
# student's own curl and step 4's in-kernel test answer differently there (the checks, run outside, give
# full marks); tests/notebooks/test_lab03.py and the Korean browser run hold lab 03's solved outputs.
EXECUTED = [("lab02", "good"), ("lab02", "good_ko"), ("lab02", "untouched"), ("lab03", "untouched"),
            ("lab06", "good"), ("lab06", "good_ko"), ("lab06", "untouched"),
            ("lab09", "good"), ("lab09", "good_ko"), ("lab09", "untouched")]


@pytest.mark.parametrize("graded,case", EXECUTED, indirect=["graded"], ids=lambda v: v)
def test_the_executed_notebook_shows_what_the_lab_describes(graded, case):
    """The notebook the grader ran: a solved lab shows each step's outcome (lab 09: the canary's split
    observed, the update taking over), Run All on the untouched one fails first at step 1's test. The
    notebook tests (tests/notebooks) do not run these again: each notebook runs once per `make test`."""
    import nbformat

    graded.require(case)
    executed = graded.root / "autograded" / case / graded.lab / f"{graded.lab}.ipynb"
    shows = lab_outputs.UNTOUCHED if case == "untouched" else lab_outputs.SOLVED
    shows[graded.lab](nbformat.read(executed, as_version=4), "ko" if case.endswith("_ko") else "en")


def test_export_and_feedback_of_the_samples(graded, tmp_path):
    lab, root = graded.lab, graded.root  # the fixture wrote the feedback
    csv_path = tmp_path / "grades.csv"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["export", str(csv_path), "--course", str(root)]) == 0
    rows = {r["student"]: r for r in csv.DictReader(csv_path.open())}
    for case, expected in _expected(lab).items():
        if case not in graded.cases:
            continue
        if expected["status"] == "not graded":
            assert rows[case]["status"] == "not graded" and rows[case]["score"] == "" and rows[case]["reason"]
    record = json.loads((root / "grader-labs" / f"{lab}.json").read_text())
    assert record["hidden_lines"]
    for case in graded.cases:
        page = graded.feedback(case).read_text()
        plain = html.unescape(re.sub(r"<[^>]+>", "", page))
        assert "HIDDEN TESTS" not in page
        for line in record["hidden_lines"]:
            assert line not in page and line not in plain, case
