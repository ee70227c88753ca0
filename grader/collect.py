"""The main process writes what a worker returned into the course: only here, never in a worker
or a kernel. autograded/<student>/<lab>/ (the autograded notebook nbgrader made and the
submission's files), the grade cells in gradebook.db (formgrader agrees with the export), and
labkit-results.json.

Before a submission is handed to a worker, `mark_in_progress` clears its old grade and writes a
results file saying it is being graded: if the run is killed, that submission reads "not graded
(grading was interrupted)" in the export, never an old score and never a 0.
"""
from __future__ import annotations

import shutil
import time
from datetime import datetime
from pathlib import Path

from grader import results
from grader.course import Course
from grader.results import GRADED, NOT_GRADED


def _with_retry(fn, attempts: int = 5):
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as exc:
            if "database is locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def mark_in_progress(course: Course, lab: str, student: str, record: dict) -> None:
    forget(course, lab, student)
    res = results.new(lab, student, record["notebook"], record["max_score"])
    results.set_status(res, NOT_GRADED, "reason.interrupted_run")
    results.write(course.results_file(student, lab), res)


def forget(course: Course, lab: str, student: str) -> None:
    """A submission that is not graded (this time) keeps no older run's scores or notebook."""
    folder = course.autograded(student, lab)
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name != results.RESULTS_NAME:
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    _clear_grades(course, lab, student)


def _clear_grades(course: Course, lab: str, student: str) -> None:
    """Every grade of the submission empty and flagged for a person (formgrader shows it so)."""
    from nbgrader.api import Gradebook, MissingEntry

    def clear():
        with Gradebook(course.db_url) as gb:
            try:
                submission = gb.find_submission(lab, student)
            except MissingEntry:
                return
            for nb in submission.notebooks:
                for grade in nb.grades:
                    grade.auto_score = None
                    grade.needs_manual_grade = True
            gb.db.commit()
    _with_retry(clear)


def apply(course: Course, lab: str, outcome: dict) -> dict:
    """Write a worker's outcome into the course. Returns the results."""
    res = outcome["results"]
    student = res["student"]
    forget(course, lab, student)
    if res["status"] == GRADED and outcome.get("grades") is not None:
        _write_files(course.autograded(student, lab), outcome.get("files") or {})
        _with_retry(lambda: _write_gradebook(course, lab, student, outcome["grades"]))
    elif "nbgrader" in res:  # nbgrader ran it: formgrader lists it, every grade empty, for a person to look at
        _with_retry(lambda: _write_gradebook(course, lab, student, {"grades": {}, "comments": {}}))
        _clear_grades(course, lab, student)  # the new submission's grade cells: empty, for a person
    results.write(course.results_file(student, lab), res)
    return res


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    base = folder.resolve()
    for name, data in files.items():
        target = (folder / name).resolve()
        if base in target.parents and target.name != results.RESULTS_NAME:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def _write_gradebook(course: Course, lab: str, student: str, grades: dict) -> None:
    import warnings

    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    with Gradebook(course.db_url) as gb, warnings.catch_warnings():
        # nbgrader's own creation of a submission warns about its autoflush; it is harmless
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(student)
        timestamp = datetime.fromisoformat(grades["timestamp"]) if grades.get("timestamp") else None
        submission = (gb.update_or_create_submission(lab, student, timestamp=timestamp) if timestamp
                      else gb.update_or_create_submission(lab, student))
        for nb in submission.notebooks:
            if grades.get("late_penalty") is not None:
                nb.late_submission_penalty = grades["late_penalty"]
            for grade in nb.grades:
                entry = grades["grades"].get(grade.name)
                if entry is not None:
                    grade.auto_score = entry["auto_score"]
                    grade.needs_manual_grade = entry["needs_manual_grade"]
            for comment in nb.comments:
                if comment.name in grades.get("comments", {}):
                    comment.auto_comment = grades["comments"][comment.name]
        gb.db.commit()
