"""The grader's pieces, without kernels: reading submissions, test-cell comparison, hidden-test
stripping, results files, export of missing results, CLI errors, message catalogues."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from grader import notebook as nbtools
from grader import results
from grader.cli import main
from grader.course import Course
from grader.errors import GraderError
from grader.feedback import sanitise
from grader.labs import get_lab
from grader.texts import catalogue, text
from tests.grader import fakelab
from tests.grader.conftest import FAKELAB_FILE, student_version, submit

GRADER = Path(__file__).resolve().parents[2] / "grader"


# -- reading submissions --------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, key, fragment", [
    (b'{"cells": [', "reason.malformed_json", "(line 1, column"),
    (b"\xff\xfe{}", "reason.malformed_json", "not UTF-8"),
    (b"[1, 2]", "reason.not_a_notebook", "no list of cells"),
    (json.dumps({"cells": [], "nbformat": 3, "nbformat_minor": 0, "metadata": {}}).encode(), "reason.not_a_notebook", "nbformat 3"),
    (json.dumps({"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}).encode(),
     "reason.not_a_notebook", ""),
])
def test_bad_notebooks_are_reported_with_a_reason(tmp_path, raw, key, fragment):
    path = tmp_path / "lab.ipynb"
    path.write_bytes(raw)
    with pytest.raises(nbtools.BadNotebook) as info:
        nbtools.load_submission(path)
    assert info.value.key == key
    assert fragment in info.value.error


def test_a_huge_file_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(nbtools, "MAX_NOTEBOOK_BYTES", 10)
    path = tmp_path / "lab.ipynb"
    path.write_text(json.dumps(fakelab.solution_notebook()))
    with pytest.raises(nbtools.BadNotebook, match="more than 10"):
        nbtools.load_submission(path)


def test_language_comes_from_the_metadata():
    assert nbtools.language(fakelab.solution_notebook("ko")) == "ko"
    assert nbtools.language({"metadata": {}}) == "en"
    assert nbtools.language({"metadata": {"labkit": {"lang": "fr"}}}) == "en"


def test_hidden_regions():
    src = "a = 1\n### BEGIN HIDDEN TESTS\nassert secret_thing()\n### END HIDDEN TESTS\nb = 2"
    assert nbtools.strip_hidden(src) == "a = 1\nb = 2"
    nb = {"cells": [{"cell_type": "code", "source": src}]}
    assert nbtools.hidden_lines(nb) == ["assert secret_thing()"]


def test_test_cells_deleted_edited_or_translated(fake_course):
    en, ko = student_version(fake_course, "en"), student_version(fake_course, "ko")
    allowed = fake_course.record(fakelab.LAB_ID)["test_cells"]
    assert nbtools.test_cell_status(en, ["bucket", "object"], allowed) == {"bucket": "ok", "object": "ok"}
    assert nbtools.test_cell_status(ko, ["bucket", "object"], allowed) == {"bucket": "ok", "object": "ok"}
    cases = fakelab.submissions(en)
    assert nbtools.test_cell_status(cases["edited_test_cell"], ["bucket", "object"], allowed)["bucket"] == "edited"
    assert nbtools.test_cell_status(cases["deleted_test_cell"], ["bucket", "object"], allowed)["object"] == "deleted"
    # a test cell whose nbgrader metadata was removed counts as deleted
    stripped = json.loads(json.dumps(en))
    for cell in stripped["cells"]:
        if nbtools.nbgrader_meta(cell).get("grade_id") == "bucket":
            del cell["metadata"]["nbgrader"]
    assert nbtools.test_cell_status(stripped, ["bucket"], allowed) == {"bucket": "deleted"}


def test_edited_read_only_cells_are_noticed(fake_course):
    en = student_version(fake_course, "en")
    allowed = fake_course.record(fakelab.LAB_ID)["locked_cells"]
    assert set(allowed) == {"intro"} and len(allowed["intro"]) == 2  # English and Korean
    assert nbtools.edited_locked_cells(en, allowed) == []
    assert nbtools.edited_locked_cells(student_version(fake_course, "ko"), allowed) == []
    changed = json.loads(json.dumps(en))
    changed["cells"][0]["source"] = "# My own title"
    assert nbtools.edited_locked_cells(changed, allowed) == ["intro"]


# -- init --------------------------------------------------------------------------------------------------

def test_init_records_steps_languages_and_hidden_lines(fake_course):
    record = fake_course.record(fakelab.LAB_ID)
    assert record["languages"] == ["en", "ko"]
    assert [s["id"] for s in record["steps"]] == ["bucket", "object"]
    assert record["max_score"] == 4 and record["grade_cells"] == {"bucket": 2.0, "object": 2.0}
    assert record["warnings"] == []
    assert all(fakelab.HIDDEN_MARKER in line for line in record["hidden_lines"])
    config = fake_course.config_file.read_text()
    assert 'c.Execute.shutdown_kernel = "immediate"' in config and "c.LimitOutput.max_lines" in config
    release = fake_course.release(fakelab.LAB_ID) / f"{fakelab.LAB_ID}.ipynb"
    assert fakelab.HIDDEN_MARKER not in release.read_text() and "BEGIN SOLUTION" not in release.read_text()


def test_init_without_a_solution_says_what_to_do(tmp_path, capsys):
    code = main(["init", "--course", str(tmp_path / "c"), "lab99", "--solutions", str(tmp_path / "none"),
                 "--checks", FAKELAB_FILE])
    err = capsys.readouterr().err
    assert code == 2
    assert "no solution notebook" in err and f"grader init --course {tmp_path / 'c'} lab99" in err


# -- the CLI ------------------------------------------------------------------------------------------------

def test_help_shows_examples(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "grader autograde lab02 --course" in out and "grader export grades.csv" in out
    for command in ("init", "autograde", "export", "feedback"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "examples:" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["autograde", "lab02", "--course", "{d}"],
    ["export", "x.csv", "--course", "{d}"],
    ["feedback", "lab02", "--course", "{d}"],
])
def test_errors_end_with_the_next_command(tmp_path, capsys, argv):
    (tmp_path / "empty").mkdir()
    argv = [a.replace("{d}", str(tmp_path / "empty")) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("grader: no gradebook in") and err.endswith(f"grader init --course {tmp_path / 'empty'} lab02` first")


def test_autograde_without_submissions_says_where_they_go(fake_course, capsys):
    assert main(["autograde", fakelab.LAB_ID, "--course", str(fake_course.root)]) == 2
    err = capsys.readouterr().err
    assert f"submitted/<student>/{fakelab.LAB_ID}/" in err and "nbgrader collect" in err


def test_export_lists_submissions_not_autograded_yet(fake_course, tmp_path):
    submit(fake_course, "late", fakelab.answered(student_version(fake_course)))
    target = tmp_path / "g.csv"
    assert main(["export", str(target), "--course", str(fake_course.root)]) == 0
    lines = target.read_text().splitlines()
    assert lines[1].startswith(f"late,{fakelab.LAB_ID},,not graded,not autograded yet,,4")


# -- labs ---------------------------------------------------------------------------------------------------

def test_checks_module_by_file_by_name_and_registry():
    assert get_lab(fakelab.LAB_ID, FAKELAB_FILE).id == fakelab.LAB_ID
    assert get_lab(fakelab.LAB_ID, "tests.grader.fakelab") is fakelab.LAB
    with pytest.raises(GraderError, match="pass --checks MODULE"):
        get_lab("no-such-lab")
    from labkit.checks import registry

    registry.register(fakelab.LAB)
    try:
        assert get_lab(fakelab.LAB_ID) is fakelab.LAB
    finally:
        registry._REGISTERED.pop(fakelab.LAB_ID, None)


# -- results files ------------------------------------------------------------------------------------------

def test_results_replace_a_symlink_left_by_the_notebook(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    target = tmp_path / "out" / "labkit-results.json"
    target.parent.mkdir()
    os.symlink(victim, target)
    res = results.new("lab", "s", "lab", 4)
    results.set_status(res, results.GRADED)
    res["score"] = 4
    results.write(target, res)
    assert victim.read_text() == "keep me"
    assert not target.is_symlink() and results.read(target)["score"] == 4


def test_not_graded_has_no_score_and_a_reason_in_english():
    res = results.new("lab", "s", "lab", 4)
    res["score"] = 3
    results.set_status(res, results.NOT_GRADED, "reason.kernel_died", cell="5")
    assert res["score"] is None and res["reason"].startswith("the notebook's Python kernel died while running cell 5")
    assert text("reason.kernel_died", "ko", cell="5").startswith("셀 5")


# -- feedback sanitising ------------------------------------------------------------------------------------

def test_sanitise_removes_hidden_tests_from_sources_and_outputs(fake_course):
    record = fake_course.record(fakelab.LAB_ID)
    nb = fakelab.solution_notebook("en")  # the instructor's version: hidden tests in the test cells
    leak = record["hidden_lines"][0]
    nb.cells[1].outputs = [{"output_type": "stream", "name": "stdout", "text": f"...{leak}..."}]
    nb.cells[3].outputs = [{"output_type": "error", "ename": "AssertionError", "evalue": "x",
                            "traceback": [f"  {leak}", "AssertionError"]}]
    nb.cells[2].source = leak  # a markdown cell that happens to quote one
    clean = sanitise(json.loads(json.dumps(nb)), {**record, "_release": {}}, "ko")
    blob = json.dumps(clean, ensure_ascii=False)
    assert fakelab.HIDDEN_MARKER not in blob and "HIDDEN TESTS" not in blob
    assert clean["cells"][1]["outputs"][0]["text"] == text("feedback.output_removed", "ko")
    assert clean["cells"][4]["outputs"][0]["text"] == text("feedback.test_cell", "ko")


# -- catalogues ---------------------------------------------------------------------------------------------

def test_catalogues_have_the_same_keys_and_every_used_key():
    en, ko = catalogue("en"), catalogue("ko")
    assert set(en) == set(ko)
    for key in en:
        assert set(re.findall(r"\{(\w+)", en[key])) == set(re.findall(r"\{(\w+)", ko[key])), key
    used = set()
    for path in GRADER.glob("*.py"):
        used |= set(re.findall(r'"((?:reason|note|feedback|status)\.[a-z_. ]+)"', path.read_text()))
    used = {k for k in used if not k.endswith(".")}
    assert used <= set(en), used - set(en)


def test_notes_name_the_step_by_its_title_in_the_readers_language():
    from grader.texts import note_text

    params = {"step": "push", "title_key": "lab02.step.push"}
    en, ko = note_text("note.test_cell_deleted", "en", **params), note_text("note.test_cell_deleted", "ko", **params)
    assert "Step 4" in en and "'push'" not in en
    assert "4단계" in ko and "push" not in ko
    res = {"notes": []}
    results.add_note(res, "note.test_cell_edited", **params)
    assert "Step 4" in res["notes"][0]["text"]  # the CSV's English text, too


def test_feedback_shows_code_as_code_and_hints_with_it():
    from grader.feedback import summary_html

    res = {"lab": "lab02", "student": "s1", "status": results.GRADED, "score": 0, "max_score": 1, "notes": [],
           "language": "ko",
           "steps": [{"id": "build", "title_key": "lab02.step.build", "earned": 0, "max_points": 1}],
           "results": [{"step": "build", "key": "lab02.build.exists.missing", "params": {}, "passed": False,
                        "kind": "student", "hidden": False, "points": 1, "earned": 0}]}
    page = summary_html(res, {"languages": ["en", "ko"]})
    assert "<code" in page and "`" not in page.split("<h2", 1)[1]
