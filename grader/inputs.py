"""What a grading run needs from the course, read ONCE by the main process before any submission
runs, and handed to every worker (local or on another machine) in memory.

A worker never reads the course directory: the course's nbgrader_config.py, the lab's record,
the checks and the gradebook are read here, before any student code runs, so nothing a notebook
writes during the run (with or without a sandbox) reaches the checks of later submissions, and a
fresh worker started after a crash gets exactly what the first one got. `digest` names these
inputs; the run prints it and every result carries it.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import tempfile
from pathlib import Path

from grader.course import Course
from grader.errors import GraderError

MAX_SUBMISSION_BYTES = 50_000_000  # a submission folder larger than this is not graded


def read(course: Course, lab: str, checks: str | None = None) -> dict:
    course.require(lab)
    record_text = course.record_file(lab).read_text(encoding="utf-8")
    record = json.loads(record_text)
    spec = checks or record.get("checks")
    checks_source = None
    if spec and (spec.endswith(".py") or "/" in spec):
        path = Path(spec).expanduser()
        if not path.is_absolute():
            path = course.root / path
        try:
            checks_source = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise GraderError(f"--checks {spec}: cannot read it ({exc})") from None
    inputs = {
        "files": {},  # path -> text of the course files read here, to verify and restore (see `tampered`)
        "lab": lab,
        "record": record,
        "config_text": course.config_file.read_text(encoding="utf-8"),
        "checks": spec,
        "checks_source": checks_source,
        "gradebook": template_gradebook(course),
        "source_files": source_files(course, lab),
    }
    inputs["files"] = {str(course.config_file): inputs["config_text"],
                       str(course.record_file(lab)): record_text}
    if checks_source is not None:
        inputs["files"][str(path)] = checks_source
    inputs["digest"] = digest(inputs)
    return inputs


def tampered(inputs: dict, restore: bool = True) -> list[str]:
    """The course files this run read that are no longer what it read (only possible without a
    sandbox): their names, and each put back as it was, so the next run reads the instructor's."""
    changed = []
    for name, text in inputs["files"].items():
        path = Path(name)
        try:
            now = path.read_text(encoding="utf-8")
        except OSError:
            now = None
        if now != text:
            changed.append(name)
            if restore:
                try:
                    path.unlink(missing_ok=True)
                    path.write_text(text, encoding="utf-8")
                except OSError:
                    pass
    return changed


def digest(inputs: dict) -> str:
    h = hashlib.sha256()
    for key in ("config_text", "checks", "checks_source"):
        h.update(repr(inputs.get(key)).encode())
    h.update(json.dumps(inputs["record"], sort_keys=True).encode())
    for name, data in sorted(inputs["source_files"].items()):
        h.update(name.encode() + hashlib.sha256(data).digest())
    return h.hexdigest()[:16]


def template_gradebook(course: Course) -> bytes:
    """The course's gradebook with its assignments and no students: what nbgrader's autograde
    needs to know the grade cells, and nothing of anyone's grades."""
    from nbgrader.api import Gradebook

    with tempfile.TemporaryDirectory(prefix="grader-template-") as tmp:
        target = Path(tmp) / "gradebook.db"
        src = sqlite3.connect(f"file:{course.db_path}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        with Gradebook(f"sqlite:///{target}") as gb:
            for student in list(gb.students):
                gb.remove_student(student.id)
        return target.read_bytes()


def source_files(course: Course, lab: str) -> dict[str, bytes]:
    """The lab's non-notebook files that nbgrader copies into every autograded folder."""
    root = course.source(lab)
    files = {}
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if path.is_file() and path.suffix != ".ipynb" and ".ipynb_checkpoints" not in rel.parts:
                files[rel.as_posix()] = path.read_bytes()
    return files


def submission_files(course: Course, student: str, lab: str) -> dict[str, bytes]:
    """Everything in the student's submission folder (nbgrader collect's layout), as bytes."""
    root = course.submitted(student, lab)
    files, total = {}, 0
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        rel = path.relative_to(root)
        if ".ipynb_checkpoints" in rel.parts:
            continue
        total += path.stat().st_size
        if total > MAX_SUBMISSION_BYTES:
            raise GraderError(f"the submission folder is larger than {MAX_SUBMISSION_BYTES:,} bytes")
        files[rel.as_posix()] = path.read_bytes()
    return files


def write_files(root: Path, files: dict[str, bytes]) -> None:
    """Write `files` under `root`, refusing any name that would leave it."""
    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    base = root.resolve()
    for name, data in files.items():
        target = (root / name).resolve()
        if base not in target.parents:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
