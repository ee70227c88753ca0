"""`grader init`: an nbgrader course directory with the gradebook knowing each lab's grade cells.

For each lab: solutions/en/<lab>.ipynb becomes DIR/source/<lab>/<lab>.ipynb, nbgrader's
generate_assignment makes the English student version and fills the gradebook; the Korean
student version is generated the same way in a scratch course, so the grader knows both
languages' test cells. Each step's grade cell must have grade_id == step id and points ==
the step's points; differences are reported as warnings.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from grader import notebook as nbtools
from grader.course import DEFAULT_TIMEOUT, Course, check_name
from grader.errors import GraderError
from grader.labs import get_lab, steps_of

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_solutions() -> Path:
    return REPO_ROOT / "solutions"


def _tail(result: dict, lines: int = 25) -> str:
    text = (result.get("log") or "") + "\n" + (result.get("error") or "")
    return "\n".join(text.strip().splitlines()[-lines:])


def _generate(course: Course, lab: str, solution: Path) -> Path:
    """Copy `solution` into the course's source folder and run generate_assignment; returns the release."""
    source = course.source(lab)
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    shutil.copy(solution, source / f"{lab}.ipynb")
    result = course.api().generate_assignment(lab, force=True, create=True)
    release = course.release(lab) / f"{lab}.ipynb"
    if not result.get("success") or not release.exists():
        raise GraderError(f"nbgrader could not generate the student version of {solution}:\n{_tail(result)}\n"
                          f"Fix the notebook, then run `grader init --course {course.root} {lab}` again.")
    return release


def init_lab(course: Course, lab: str, solutions: Path, checks: str | None = None) -> dict:
    check_name("lab", lab)
    en = solutions / "en" / f"{lab}.ipynb"
    if not en.exists():
        raise GraderError(f"no solution notebook {en}: build it (`make build`) or pass --solutions DIR "
                          f"(a folder with en/{lab}.ipynb), then run `grader init --course {course.root} {lab}`")
    lab_obj = get_lab(lab, checks)
    warnings: list[str] = []

    release_en = _generate(course, lab, en)
    copies = {"en": course.release_copy(lab, "en")}
    copies["en"].parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(release_en, copies["en"])
    sources = {"en": nbtools.read_json(en)}

    ko = solutions / "ko" / f"{lab}.ipynb"
    if ko.exists():
        with tempfile.TemporaryDirectory(prefix="grader-ko-") as tmp:
            scratch = Course(tmp)
            scratch.write_config(lang="ko")
            release_ko = _generate(scratch, lab, ko)
            copies["ko"] = course.release_copy(lab, "ko")
            shutil.copy(release_ko, copies["ko"])
        sources["ko"] = nbtools.read_json(ko)

    releases = {lang: nbtools.read_json(path) for lang, path in copies.items()}
    en_ids = list(nbtools.grade_cells(releases["en"]))
    for lang, nb in releases.items():
        ids = list(nbtools.grade_cells(nb))
        if ids != en_ids:
            raise GraderError(f"the {lang} notebook's grade cells {ids} differ from the English ones {en_ids}: "
                              f"one assignment cannot grade both; rebuild the notebooks (`make build`)")

    # Accepted test-cell sources: the student versions (per language) and the instructor's own
    # (hidden tests included), so grading the solution notebook itself notes no "edited" cell.
    test_cells: dict[str, list[str]] = {}
    for nb in [*releases.values(), *sources.values()]:
        for grade_id, cell in nbtools.grade_cells(nb).items():
            test_cells.setdefault(grade_id, [])
            text = nbtools.source(cell)
            if text not in test_cells[grade_id]:
                test_cells[grade_id].append(text)

    # Read-only cells that are not tests (e.g. the `labkit.start()` cell), per language.
    locked_cells: dict[str, list[str]] = {}
    for nb in [*releases.values(), *sources.values()]:
        for grade_id, cell in nbtools.locked_cells(nb).items():
            if grade_id in test_cells:
                continue
            locked_cells.setdefault(grade_id, [])
            if nbtools.source(cell) not in locked_cells[grade_id]:
                locked_cells[grade_id].append(nbtools.source(cell))

    grade_points = {gid: float(nbtools.nbgrader_meta(cell).get("points") or 0)
                    for gid, cell in nbtools.grade_cells(releases["en"]).items()}
    steps = steps_of(lab_obj)
    for step in steps:
        if step["id"] not in grade_points:
            warnings.append(f"step {step['id']!r} of {lab} has no grade cell with grade_id {step['id']!r}: "
                            f"its score is in the results and the CSV but not in nbgrader's gradebook")
        elif grade_points[step["id"]] != step["max_points"]:
            warnings.append(f"the grade cell {step['id']!r} is worth {grade_points[step['id']]:g} points, "
                            f"its checks {step['max_points']:g}: the gradebook will hold the checks' points capped")

    # Lines of hidden tests; a line students see anyway (e.g. `import labkit`) is no secret.
    visible = "\n".join(nbtools.source(c) for nb in releases.values() for c in nb.get("cells", []))
    hidden: list[str] = []
    for nb in sources.values():
        for line in nbtools.hidden_lines(nb):
            if line not in hidden and line not in visible:
                hidden.append(line)

    record = {
        "lab": lab,
        "notebook": lab,
        "checks": checks,
        "solutions": str(solutions),
        "languages": sorted(releases),
        "steps": steps,
        "max_score": sum(s["max_points"] for s in steps),
        "grade_cells": grade_points,
        "test_cells": test_cells,
        "locked_cells": locked_cells,
        "hidden_lines": hidden,
        "warnings": warnings,
    }
    course.record_file(lab).write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    return record


def init_course(root: str | Path, labs: list[str], solutions: str | Path | None = None, checks: str | None = None,
                timeout: int = DEFAULT_TIMEOUT, out=print) -> Course:
    course = Course(root)
    course.root.mkdir(parents=True, exist_ok=True)
    if not course.write_config(timeout):
        out(f"kept the existing {course.config_file} (not written by grader init); "
            f"check it sets Execute.timeout and Execute.shutdown_kernel = 'immediate'")
    course.records.mkdir(exist_ok=True)
    solutions = Path(solutions).expanduser().resolve() if solutions else default_solutions()
    for lab in labs:
        record = init_lab(course, lab, solutions, checks)
        out(f"{lab}: {len(record['steps'])} steps, {record['max_score']:g} points, "
            f"languages {', '.join(record['languages'])}; student version in {course.release(lab)}")
        for warning in record["warnings"]:
            out(f"  warning: {warning}")
    if not labs:
        out(f"course directory {course.root} ready (no lab yet: `grader init --course {course.root} lab02`)")
    else:
        out(f"Next: put submissions in {course.root}/submitted/<student>/<lab>/<lab>.ipynb "
            f"(or `nbgrader collect`), then run `grader autograde {labs[0]} --course {course.root}`")
    return course
