"""(e) The student versions (course/<lang>/ for labs) hold no solution code and no hidden tests but keep the
visible tests, and are exactly what `nbgrader generate_assignment` makes of solutions/."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from coursebuild.release import CODE_STUB, TEXT_STUB

from .helpers import REPO, all_builds

REGION = re.compile(r"^\s*#+\s*BEGIN (SOLUTION|HIDDEN TESTS)\s*$(.*?)^\s*#+\s*END \1\s*$",
                    re.MULTILINE | re.DOTALL)


def _cells(data: bytes) -> list[dict]:
    return [dict(c, text="".join(c["source"])) for c in json.loads(data)["cells"]]


def _labs(repo_build, fixture_build):
    return [(label, built, student) for label, _s, built, student
            in all_builds(repo_build, fixture_build) if student]


def test_the_fixture_lab_is_built(fixture_build):
    assert "course/ko/lab99.ipynb" in fixture_build.outputs


def test_no_solution_and_no_hidden_test_reaches_students(repo_build, fixture_build):
    for label, built, student in _labs(repo_build, fixture_build):
        for lang in ("en", "ko"):
            solution_cells, student_cells = _cells(built[lang]), _cells(student[lang])
            assert [c["id"] for c in solution_cells] == [c["id"] for c in student_cells], label
            for sol, stu in zip(solution_cells, student_cells):
                where = f"{label} {lang} cell {sol['id']}"
                assert "BEGIN SOLUTION" not in stu["text"] and "HIDDEN TESTS" not in stu["text"], where
                for kind, hidden in REGION.findall(sol["text"]):
                    for line in hidden.strip().splitlines():
                        if line.strip():
                            assert line not in stu["text"].splitlines(), f"{where}: {kind} leaked: {line!r}"
                if sol["metadata"].get("nbgrader", {}).get("grade") and sol["cell_type"] == "code":
                    visible = REGION.sub("", sol["text"]).strip()
                    assert visible and visible in stu["text"], f"{where}: visible tests lost"


def test_fixture_secrets_are_gone_and_stubs_are_in_the_notebook_language(fixture_build):
    for lang, stub, text_stub in (("en", "# YOUR CODE HERE", "YOUR ANSWER HERE"),
                                  ("ko", "# 여기에 코드를 작성하세요", "여기에 답을 작성하세요")):
        data = fixture_build.outputs[f"course/{lang}/lab99.ipynb"]
        for secret in (b"SECRET_HIDDEN_ASSERT", b"SECRET_MANUAL_ANSWER", b"repository = {"):
            assert secret not in data
        cells = {c["id"]: c["text"] for c in _cells(data)}
        assert cells["create_repo"].endswith(stub)
        assert "NotImplementedError" not in cells["create_repo"]  # Run All must not stop at a placeholder
        assert cells["repository"].endswith('assert repository["name"] == "my-app"')
        assert text_stub in cells["why"]
        solution = fixture_build.outputs[f"solutions/{lang}/lab99.ipynb"]
        assert b"SECRET_HIDDEN_ASSERT" in solution and b"SECRET_MANUAL_ANSWER" in solution


def _nbgrader_release(root, name: str) -> bytes:
    """`nbgrader generate_assignment NAME --no-db` in course dir `root`: the released notebook's bytes."""
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", name, "--no-db", "--force",
                    f"--CourseDirectory.root={root}", f"--Exchange.root={root / 'exchange'}"],
                   cwd=root, check=True, capture_output=True, timeout=120)
    return (root / "release" / name / f"{name}.ipynb").read_bytes()


def test_student_version_equals_nbgrader_command_line(tmp_path, fixture_build):
    """Same bytes as `nbgrader generate_assignment --no-db` run by hand (one process start, ≈ 2 s)."""
    source = tmp_path / "source" / "lab99" / "lab99.ipynb"
    source.parent.mkdir(parents=True)
    source.write_bytes(fixture_build.outputs["solutions/en/lab99.ipynb"])
    (tmp_path / "nbgrader_config.py").write_text(f"c.ClearSolutions.code_stub = {{'python': {CODE_STUB['en']!r}}}\n")
    assert _nbgrader_release(tmp_path, "lab99") == fixture_build.outputs["course/en/lab99.ipynb"]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_committed_labs_equal_nbgrader_command_line(tmp_path, lang):
    """The committed course/<lang>/lab*.ipynb, byte for byte, are what `nbgrader generate_assignment`
    makes of the committed solutions/<lang>/*.ipynb, with the language's stubs in nbgrader_config.py."""
    names = sorted(p.stem for p in (REPO / "solutions" / lang).glob("*.ipynb"))
    assert names, f"no solutions/{lang}/*.ipynb"
    for name in names:
        source = tmp_path / "source" / name / f"{name}.ipynb"
        source.parent.mkdir(parents=True)
        shutil.copy(REPO / "solutions" / lang / f"{name}.ipynb", source)
    (tmp_path / "nbgrader_config.py").write_text(
        f"c.ClearSolutions.code_stub = {{'python': {CODE_STUB[lang]!r}}}\n"
        f"c.ClearSolutions.text_stub = {TEXT_STUB[lang]!r}\n")
    for name in names:
        assert _nbgrader_release(tmp_path, name) == (REPO / "course" / lang / f"{name}.ipynb").read_bytes(), \
            f"course/{lang}/{name}.ipynb is not what nbgrader makes of solutions/{lang}/{name}.ipynb: run `make build`"
