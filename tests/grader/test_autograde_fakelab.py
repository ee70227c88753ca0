"""`grader autograde` end to end on the fake lab: every kind of good and bad submission in one run
(two workers, each submission in its sandbox), then the gradebook, the CSV export and the
feedback read from it; and the attacks that only work without a sandbox, graded without one."""
from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import re

import pytest

from grader.cli import main
from grader.results import GRADED, NOT_GRADED
from tests.grader import fakelab
from grader.sandbox import probe
from tests.grader.conftest import copy_course, student_version, submit

SANDBOXED = probe()[0]

LAB = fakelab.LAB_ID

# case -> (status, score, substring of the reason or of a note)
EXPECTED = {
    "good": (GRADED, 4, ""),
    "good_ko": (GRADED, 4, ""),
    "untouched": (GRADED, 0, ""),
    "partial": (GRADED, 2, ""),
    "tamper": (GRADED, 0, ""),
    "infinite_loop": (GRADED, 4, "was interrupted"),
    "huge_output": (GRADED, 4, "rest of its output was dropped"),
    "edited_test_cell": (GRADED, 4, "test cell of bucket was edited"),
    # the checks read the cloud outside the kernel: a deleted test cell costs no work (it is flagged)
    "deleted_test_cell": (GRADED, 4, "test cell of object was deleted"),
    "kills_kernel": (NOT_GRADED, None, "kernel died while running cell 5"),
    "malformed_json": (NOT_GRADED, None, "not valid JSON"),
    "env_probe": (GRADED, 4, ""),
    "leaky": (GRADED, 4, ""),
    "daemon": (GRADED, 4, "1 process(es) the notebook left running were stopped"),
}
# In a sandbox the kernel sees neither its worker nor its cloud: these kill nothing and are graded.
# Without one, they are caught as before (see test_without_a_sandbox_...).
UNSANDBOXED = {
    "kills_worker": (NOT_GRADED, None, "grading process died"),
    "kills_cloud": (NOT_GRADED, None, "stopped the local cloud (signal 9)"),
    "daemon": (GRADED, 4, "1 process(es) the notebook left running were stopped"),
}
if SANDBOXED:
    EXPECTED.update(kills_worker=(GRADED, 4, ""), kills_cloud=(GRADED, 4, ""))
else:
    EXPECTED.update(UNSANDBOXED)


@pytest.fixture(scope="module")
def graded(fake_course_template, tmp_path_factory):
    course = copy_course(fake_course_template, tmp_path_factory.mktemp("autograde") / "course")
    en, ko = student_version(course, "en"), student_version(course, "ko")
    for name, nb in {**fakelab.submissions(en, ko), **fakelab.extra_submissions(en)}.items():
        submit(course, name, nb)
    lines: list[str] = []
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["autograde", LAB, "--course", str(course.root), "--timeout", "4", "--jobs", "2"])
    lines = buffer.getvalue().splitlines()
    assert code == 0, "\n".join(lines)
    return course, lines


def results_of(course, student) -> dict:
    return json.loads(course.results_file(student, LAB).read_text())


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_status_score_and_reason(graded, case):
    course, lines = graded
    status, score, reason = EXPECTED[case]
    res = results_of(course, case)
    assert res["status"] == status, res
    assert res["score"] == score
    words = res["reason"] + " | " + " | ".join(n["text"] for n in res["notes"])
    assert reason in words
    line = next(line for line in lines if f"] {case}" in line)
    assert ("NOT GRADED" in line) == (status == NOT_GRADED)


def test_progress_lines_and_summary(graded):
    _, lines = graded
    assert lines[0].startswith("Sandbox: bubblewrap" if SANDBOXED else "WARNING: grading WITHOUT a sandbox")
    assert lines[1].startswith(f"Autograding {len(EXPECTED)} submission(s) of {LAB} with 2 worker(s)")
    assert sum(1 for line in lines if re.match(r"\[\d+/\d+\] ", line)) == len(EXPECTED)
    not_graded = sum(1 for status, _, _ in EXPECTED.values() if status == NOT_GRADED)
    assert any(line.startswith("Done in ") and f"{not_graded} not graded" in line for line in lines)
    assert any("grader export" in line for line in lines)


def test_tamper_gains_nothing_and_checks_ran_outside(graded):
    course, _ = graded
    res = results_of(course, "tamper")
    assert [r["passed"] for r in res["results"]] == [False, False, False]
    assert {r["condition"] for r in res["results"]} == {"bucket.exists", "bucket.tagged", "object.hello"}
    assert [r["hidden"] for r in res["results"]] == [False, True, False]


def test_gradebook_holds_the_checks_scores(graded):
    from nbgrader.api import Gradebook

    course, _ = graded
    with Gradebook(course.db_url) as gb:
        def scores(student):
            nb = gb.find_submission_notebook(LAB, LAB, student)
            return {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades}
        assert scores("good") == {"bucket": (2.0, False), "object": (2.0, False)}
        assert scores("partial") == {"bucket": (2.0, False), "object": (0.0, False)}
        assert scores("tamper") == {"bucket": (0.0, False), "object": (0.0, False)}
        # a deleted test cell: the work counts, the instructor is asked to look
        assert scores("deleted_test_cell") == {"bucket": (2.0, False), "object": (2.0, True)}
        assert all(score is None and manual for score, manual in scores("kills_kernel").values())


def test_kernel_environment_points_at_the_private_cloud_without_the_control_token(graded):
    course, _ = graded
    res = results_of(course, "env_probe")
    nb = json.loads((course.autograded("env_probe", LAB) / f"{LAB}.ipynb").read_text())
    texts = [o.get("text", "") for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    printed = "".join("".join(t) if isinstance(t, list) else t for t in texts)
    env = json.loads(printed.split("ENV=", 1)[1].splitlines()[0])
    assert env["LABKIT_MANAGED"] == "1" and env["LABKIT_LANG"] == "en"
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{res['cloud']['port']}"
    assert env["LABKIT_AWS_PORT"] == str(res["cloud"]["port"])
    assert "LABKIT_CONTROL_TOKEN" not in env
    # the cloud's record (with its token) is in the cloud's own home, which the kernel never sees
    assert printed.split("RECORD=", 1)[1].splitlines()[0] == "absent"
    if SANDBOXED:  # its own processes only: the sandbox's init, the kernel (started by bwrap, or forked in
        # from the worker's kernel template with the sandbox's placeholder: grader/sandbox/template.py),
        # the relay to its cloud
        seen = json.loads(printed.split("PROCS=", 1)[1].splitlines()[0])
        own = ("bwrap --unshare-all", "relay.py inside", "ipykernel_launcher", "labkit-fastcli",
               "grader_sandbox_template", "/bin/sleep infinity")
        assert [c for c in seen if not any(mark in c for mark in own)] == [], seen
    ports = {results_of(course, s)["cloud"]["port"] for s in ("good", "partial", "untouched", "env_probe")}
    assert len(ports) == 4  # each submission had its own cloud


def test_korean_submission_is_graded_in_korean(graded):
    course, _ = graded
    assert results_of(course, "good_ko")["language"] == "ko"
    assert results_of(course, "good_ko")["notes"] == []  # translated comments are not "edited test cells"


def test_export_reports_not_graded_never_zero(graded, tmp_path):
    course, _ = graded
    target = tmp_path / "grades.csv"
    assert main(["export", str(target), "--course", str(course.root)]) == 0
    rows = {r["student"]: r for r in csv.DictReader(target.open())}
    assert set(rows) == set(EXPECTED)
    header = next(csv.reader(target.open()))
    assert header[:9] == ["student", "lab", "language", "status", "reason", "score", "max_score", "notes", "sandbox"]
    assert header[9:] == ["bucket.exists", "bucket.tagged", "object.hello"]
    assert rows["good"]["sandbox"] == ("bubblewrap" if SANDBOXED else "graded without a sandbox")
    assert rows["kills_kernel"]["status"] == "not graded" and rows["kills_kernel"]["score"] == ""
    assert "kernel died" in rows["kills_kernel"]["reason"]
    assert rows["malformed_json"]["score"] == "" and "JSON" in rows["malformed_json"]["reason"]
    assert (rows["good"]["score"], rows["good"]["max_score"]) == ("4", "4")
    assert (rows["partial"]["bucket.exists"], rows["partial"]["object.hello"]) == ("1", "0")
    assert rows["deleted_test_cell"]["object.hello"] == "2"
    assert rows["good_ko"]["language"] == "ko"


def test_feedback_never_shows_hidden_tests(graded):
    course, _ = graded
    assert main(["feedback", LAB, "--course", str(course.root)]) == 0
    record = course.record(LAB)
    assert record["hidden_lines"], "the fake lab has hidden tests"
    for case in EXPECTED:
        page = (course.feedback(case, LAB) / f"{LAB}.html").read_text()
        plain = html.unescape(re.sub(r"<[^>]+>", "", page))
        for text in (page, plain):
            assert fakelab.HIDDEN_MARKER not in text, case
            assert "HIDDEN TESTS" not in text, case
            for line in record["hidden_lines"]:
                assert line not in text, case
    leaky = (course.feedback("leaky", LAB) / f"{LAB}.html").read_text()
    # print(In) and an error quoting In: the hidden lines ran in this kernel, so it could see them
    # (they only name the grader's checks, public in labkit); the autograded notebook with them is
    # not in the kernel's folder any more, so the second leak cell finds nothing
    assert leaky.count("output removed: it showed code of the grader") == 2


def test_feedback_in_the_students_language(graded):
    course, _ = graded
    main(["feedback", LAB, "--course", str(course.root), "--student", "good_ko", "--student", "kills_kernel"])
    ko = (course.feedback("good_ko", LAB) / f"{LAB}.html").read_text()
    assert "점수: 4 / 4" in ko and "가짜 실습" in ko and "단계 확인" in ko
    assert "Create a bucket, tag it" not in ko  # nbgrader put the English locked cell back; feedback shows the Korean one
    en = (course.feedback("kills_kernel", LAB) / f"{LAB}.html").read_text()
    assert "not graded" in en and "kernel died" in en


def test_nothing_the_notebooks_started_survives(graded):
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        assert proc.info["cmdline"] != ["sleep", str(fakelab.DAEMON_SECONDS)]


def test_without_a_sandbox_the_attacks_on_the_grader_are_caught(fake_course_template, tmp_path):
    course = copy_course(fake_course_template, tmp_path / "course")
    en = student_version(course, "en")
    extra = fakelab.extra_submissions(en)
    for name in UNSANDBOXED:
        submit(course, name, extra[name])
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["autograde", LAB, "--course", str(course.root), "--timeout", "4", "--jobs", "2", "--sandbox", "none"])
    lines = buffer.getvalue().splitlines()
    assert code == 0, "\n".join(lines)
    assert lines[0].startswith("WARNING: grading WITHOUT a sandbox")
    for case, (status, score, reason) in UNSANDBOXED.items():
        res = results_of(course, case)
        assert (res["status"], res["score"]) == (status, score), res
        assert reason in res["reason"] + " | " + " | ".join(n["text"] for n in res["notes"])
        assert res["sandbox"] == "none"
