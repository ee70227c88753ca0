"""What the attack samples of grader/samples/ (issue "Grading a class that may cheat") must leave
behind, beyond the grade expected.json gives each: the course's own files untouched, victims
graded after their attacker, no process surviving the run, small files, no solution in any
feedback page even base64-encoded. Shares the class run of test_samples.py (sample_class.py)."""
from __future__ import annotations

import base64
import binascii
import html
import json
import re
import zlib
from pathlib import Path

import pytest

from tests.grader.sample_class import REPO, attacks, expected, graded_class

LAB = "lab02"
FULL = 22  # lab 02's points: ECR 15 + Artifact Registry 7 (grader/samples/make_samples.py LABS)


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """The attacks are lab 02's samples (the same graded class test_samples.py reads)."""
    return graded_class(LAB, tmp_path_factory)


ATTACKS = {"attack_1_checks", "tamper_results", "attack_3_startup", "correct_attacking_neighbours",
           "attack_5_escape", "attack_6_exception", "attack_7_leak", "broken_docker_state", "deleted_all_test_cells"}
DIFFERENT_ANSWERS = {"correct_boto3", "correct_registry_api", "correct_reordered"}
MAX_FILE = 3_000_000


def _window(graded, case: str) -> tuple[float, float]:
    """(start, end) of a case's grading: its results file is written when it ends."""
    path = graded.root / "autograded" / case / LAB / "labkit-results.json"
    end = path.stat().st_mtime
    return end - graded.results(case)["timing"].get("total", 0.0), end


def _plain(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_every_attack_and_different_answer_of_the_issue_is_a_sample():
    cases = expected(LAB)
    assert set(cases) >= ATTACKS | DIFFERENT_ANSWERS
    for case in DIFFERENT_ANSWERS:
        assert cases[case]["score"] == FULL and cases[case]["notes"] == 0, case
    assert {c for c, e in cases.items() if e.get("needs_sandbox")} == ATTACKS - {
        "attack_6_exception", "broken_docker_state", "deleted_all_test_cells"}


def test_every_submission_ran_in_a_sandbox(graded):
    graded.require("attack_1_checks")
    unsandboxed = {c: graded.results(c).get("sandbox") for c in graded.cases
                   if graded.results(c).get("sandbox") != "bubblewrap" and expected(LAB)[c]["status"] != "not graded"}
    assert not unsandboxed


@pytest.mark.parametrize("attacker", ["attack_1_checks", "attack_3_startup"])
def test_attackers_are_graded_before_their_victims_and_the_victims_get_their_due(graded, attacker):
    """Checks replaced (1) or code planted for later kernels (3): every blank graded after the
    attacker ended still gets 0, every correct one full marks."""
    graded.require(attacker)
    _, attack_end = _window(graded, attacker)
    later = [c for c in graded.cases if _window(graded, c)[0] > attack_end]
    wanted = expected(LAB)
    blanks = [c for c in later if wanted[c]["score"] == 0 and wanted[c]["status"] == "graded"]
    correct = [c for c in later if wanted[c]["score"] == FULL]
    assert {"untouched", "tamper_results"} <= set(blanks) and "good" in correct, later
    got = {c: (graded.results(c)["status"], graded.results(c)["score"]) for c in blanks + correct}
    assert got == {c: (wanted[c]["status"], wanted[c]["score"]) for c in blanks + correct}


def test_the_course_files_are_what_init_wrote(graded):
    graded.require("attack_1_checks")
    config = (graded.root / "nbgrader_config.py").read_text()
    assert "_always_passes" not in config and "Step.run" not in config
    record = json.loads((graded.root / "grader-labs" / f"{LAB}.json").read_text())
    assert not record.get("checks")
    assert not list((graded.root / "grader-labs").glob("*_checks.py"))


def test_results_and_gradebook_are_the_graders_own(graded):
    """Attack 2 rewrote every results file and the gradebook, then left a daemon rewriting them."""
    graded.require("tamper_results")
    from nbgrader.api import Gradebook, MissingEntry

    wanted = expected(LAB)
    with Gradebook(f"sqlite:///{graded.root / 'gradebook.db'}") as gb:
        for case in graded.cases:
            res = graded.results(case)
            assert (res["status"], res["score"]) == (wanted[case]["status"], wanted[case]["score"]), case
            if res["status"] == "graded":
                try:
                    assert gb.find_submission(LAB, case).score == res["score"], case
                except MissingEntry:
                    pytest.fail(f"{case}: graded but not in the gradebook")


def test_nothing_planted_reached_the_graders_home(graded):
    graded.require("attack_3_startup")
    home = Path.home()
    for planted in (home / ".ipython" / "profile_default" / "startup" / "00-cheat.py",
                    home / ".ipython" / "profile_default" / "ipython_kernel_config.py",
                    home / ".local" / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"):
        assert not (planted.exists() and planted.stat().st_mtime >= graded.started), planted


def test_neighbours_graded_alongside_the_cloud_attacker_keep_their_points(graded):
    graded.require("correct_attacking_neighbours")
    start, end = _window(graded, "correct_attacking_neighbours")
    wanted = expected(LAB)
    alongside = [c for c in graded.cases if c != "correct_attacking_neighbours"
                 and _window(graded, c)[0] < end and _window(graded, c)[1] > start]
    # someone with a repository and pushed images was graded meanwhile: else the test proves nothing
    assert any((wanted[c]["score"] or 0) >= 7 for c in alongside), alongside
    got = {c: (graded.results(c)["status"], graded.results(c)["score"]) for c in alongside}
    assert got == {c: (wanted[c]["status"], wanted[c]["score"]) for c in alongside}


def test_no_kernel_read_the_graders_environment(graded):
    """Attack 4 prints every environment it can read in /proc (the issue's kernel read the cloud's
    control token there): the grader's own never shows."""
    graded.require("correct_attacking_neighbours")
    for case in graded.cases:
        notebook = graded.root / "autograded" / case / LAB / f"{LAB}.ipynb"
        for path in (notebook, graded.feedback(case)):
            assert not path.exists() or graded.secret not in path.read_text(errors="replace"), path


def test_no_process_of_a_submission_survives_the_run(graded):
    """Attack 5's 25 sleepers (own session, empty environment, SIGTERM ignored) and attack 2's
    daemon carry the marker in their command lines."""
    graded.require("attack_5_escape")
    import psutil

    survivors = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if any(attacks.MARKER in arg for arg in proc.info["cmdline"] or []):
            survivors.append((proc.info["pid"], " ".join(proc.info["cmdline"])[-60:]))
    assert not survivors


def test_a_huge_exception_leaves_small_files(graded):
    graded.require("attack_6_exception")
    notebook = graded.root / "autograded" / "attack_6_exception" / LAB / f"{LAB}.ipynb"
    for path in (notebook, graded.feedback("attack_6_exception")):
        assert path.stat().st_size < MAX_FILE, (path, path.stat().st_size)


def _secret_lines(graded) -> set[str]:
    """The instructor's solution and hidden-test lines that a blank student's own feedback does not
    show anyway (a hint may quote a command)."""
    lines = set(json.loads((graded.root / "grader-labs" / f"{LAB}.json").read_text())["hidden_lines"])
    for lang in ("en", "ko"):
        nb = json.loads((REPO / "solutions" / lang / f"{LAB}.ipynb").read_text())
        for cell in nb["cells"]:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            inside = False
            for line in source.splitlines():
                if "BEGIN SOLUTION" in line or "END SOLUTION" in line:
                    inside = "BEGIN" in line
                elif inside and len(line.strip()) >= 20:
                    lines.add(line.strip())
    shown = _plain(graded.feedback("untouched").read_text())
    return {line for line in lines if line not in shown}


def _decoded_runs(text: str) -> list[str]:
    """Every long base64 run of `text` decoded, and decompressed where it is zlib data."""
    found = []
    for run in re.findall(r"[A-Za-z0-9+/]{40,}={0,2}", text):
        try:
            data = base64.b64decode(run + "=" * (-len(run) % 4))
        except (binascii.Error, ValueError):
            continue
        found.append(data.decode("utf-8", "replace"))
        try:
            found.append(zlib.decompress(data).decode("utf-8", "replace"))
        except zlib.error:
            pass
    return found


def _leaked(page: str, secrets: set[str]) -> list[str]:
    plain = _plain(page)
    texts = [plain, *_decoded_runs(plain)]
    return sorted({line for line in secrets for t in texts if line in t or json.dumps(line)[1:-1] in t})


def test_the_leak_detector_finds_a_solution_however_it_is_printed(graded):
    graded.require("attack_7_leak")
    secrets = _secret_lines(graded)
    assert len(secrets) >= 5, secrets
    data = (REPO / "solutions" / "en" / f"{LAB}.ipynb").read_bytes()
    for printed in (base64.b64encode(data), base64.b64encode(zlib.compress(data, 9))):
        assert _leaked(f"<pre>{html.escape(printed.decode())}</pre>", secrets)


def test_feedback_leaks_no_solution_even_encoded(graded):
    graded.require("attack_7_leak")
    secrets = _secret_lines(graded)
    assert _leaked(graded.feedback("attack_7_leak").read_text(), secrets) == []
    hidden = set(json.loads((graded.root / "grader-labs" / f"{LAB}.json").read_text())["hidden_lines"])
    for case in graded.cases:
        assert _leaked(graded.feedback(case).read_text(), hidden) == [], case


def test_a_broken_docker_state_is_the_students_failure_with_a_hint(graded):
    from labkit.messages import text

    graded.require("broken_docker_state")
    res = graded.results("broken_docker_state")
    plain = " ".join(_plain(graded.feedback("broken_docker_state").read_text()).split())
    for key in expected(LAB)["broken_docker_state"]["failed"]:
        failed = [r for r in res["results"] if r["key"] == key]
        assert failed and not any(r["passed"] for r in failed) and all(r["kind"] != "infra" for r in failed), key
        hint = text(f"{key}.hint", "en", **failed[0]["params"]).replace("`", "")
        assert " ".join(hint.split()) in plain, key


def test_deleted_test_cells_cost_no_work_the_cloud_shows(graded):
    graded.require("deleted_all_test_cells")
    res = graded.results("deleted_all_test_cells")
    assert [s["test_cell"] for s in res["steps"]] == ["deleted"] * len(res["steps"])
    assert all(s["earned"] == s["max_points"] for s in res["steps"]), res["steps"]
    assert sum("was deleted" in n["text"] for n in res["notes"]) == len(res["steps"])
