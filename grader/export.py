"""`grader export FILE.csv`: the grade table, from the grader's results files.

Not from nbgrader's export, which writes 0.0 for a submission it could not grade: here such a
row says "not graded" and why, its score is empty. A submission folder without results yet
is listed too ("not graded", "not autograded yet"), so nobody silently disappears.
"""
from __future__ import annotations

import csv
from pathlib import Path

from grader import results
from grader.course import Course
from grader.errors import GraderError
from grader.texts import text

FIXED = ["student", "lab", "language", "status", "reason", "score", "max_score", "notes", "sandbox"]


def _num(value) -> str:
    return "" if value is None else f"{float(value):g}"


def rows(course: Course, labs: list[str] | None = None) -> tuple[list[str], list[dict]]:
    course.require()
    labs = labs or course.labs()
    if not labs:
        raise GraderError(f"no lab is set up in {course.root}: run `grader init --course {course.root} lab02` first")
    columns: list[str] = []
    out: list[dict] = []
    for lab in labs:
        record = course.record(lab)
        students = set(course.students(lab))
        students |= {p.parent.parent.name for p in (course.root / "autograded").glob(f"*/{lab}/{results.RESULTS_NAME}")}
        for student in sorted(students):
            res = results.read(course.results_file(student, lab))
            row = {"student": student, "lab": lab, "language": "", "max_score": _num(record["max_score"])}
            if res is None:
                row.update(status=results.NOT_GRADED, reason=text("reason.not_autograded"), score="")
                out.append(row)
                continue
            row.update(language=res.get("language", ""), status=res["status"], reason=res.get("reason", ""),
                       score=_num(res.get("score")) if res["status"] == results.GRADED else "",
                       max_score=_num(res.get("max_score")))
            row["notes"] = "; ".join(n.get("text", "") for n in res.get("notes", []))
            # how it was graded: "bubblewrap", or marked when student code ran with the grader's permissions
            row["sandbox"] = (text("export.no_sandbox") if res.get("sandbox") == "none"
                              else res.get("sandbox", ""))
            if res["status"] == results.GRADED:
                for r in res.get("results", []):
                    column = r["condition"]
                    if column not in columns:
                        columns.append(column)
                    row[column] = _num(r.get("earned", 0.0))
            out.append(row)
    return FIXED + columns, out


def export(course: Course, file: str | Path, labs: list[str] | None = None, out=print) -> Path:
    header, table = rows(course, labs)
    path = Path(file).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(table)
    counts = {s: sum(1 for r in table if r["status"] == s) for s in results.STATUSES}
    out(f"Wrote {len(table)} row(s) to {path}: {counts[results.GRADED]} graded, "
        f"{counts[results.NOT_GRADED]} not graded, {counts[results.NEEDS_REGRADE]} need a regrade")
    unsandboxed = [r for r in table if r.get("sandbox") == text("export.no_sandbox")]
    if unsandboxed:
        out(f"  {len(unsandboxed)} grade(s) were graded without a sandbox (column 'sandbox')")
    for r in table:
        if r["status"] != results.GRADED:
            out(f"  {r['student']} {r['lab']}: {r['status'].upper()} - {r['reason']}")
    return path
