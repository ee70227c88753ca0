"""How long `grader autograde` takes per submission, against plain `nbgrader autograde`, on the same
trivial one-cell notebook, measured in the same run (so machine load hits both alike):

    python -m grader.bench [--students 8] [--rounds 1]

  nbgrader, one command per student   `nbgrader autograde trivial --student sN` (how one runs it
                                      in parallel; each command pays nbgrader's start-up)
  nbgrader, one command for all       `nbgrader autograde trivial` (per submission = total / N)
  grader --jobs 1                     private cloud + notebook + checks outside the kernel;
                                      total / N, and the steady per-submission time it records
  grader --jobs 2                     wall time / N with two workers
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKS = '''
from labkit.checks.core import Lab, Result, Step, condition


@condition(points=1)
def cloud_answers(ctx):
    ctx.client("ecr").describe_repositories()
    return [Result("cloud.answers", True, "bench.ok")]


LAB = Lab(id="trivial", steps=[Step("answer", "bench.step", [cloud_answers])])
'''


def _notebook() -> dict:
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": "answer", "outputs": [],
                       "metadata": {"nbgrader": {"grade": True, "grade_id": "answer", "locked": True, "points": 1,
                                                 "schema_version": 3, "solution": False}},
                       "source": "assert 1 + 1 == 2"}],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                         "language_info": {"name": "python"}, "labkit": {"lang": "en", "lab": "trivial"}},
            "nbformat": 4, "nbformat_minor": 5}


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _run(argv: list[str], cwd: Path) -> float:
    started = time.monotonic()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"})
    return time.monotonic() - started


def _clear(root: Path) -> None:
    shutil.rmtree(root / "autograded", ignore_errors=True)


def measure(students: int, work: Path) -> dict:
    (work / "solutions" / "en").mkdir(parents=True)
    (work / "solutions" / "en" / "trivial.ipynb").write_text(json.dumps(_notebook()))
    (work / "trivial_checks.py").write_text(CHECKS)
    root = work / "course"
    _run([_bin("grader"), "init", "--course", str(root), "trivial", "--solutions", str(work / "solutions"),
          "--checks", str(work / "trivial_checks.py")], work)
    names = [f"s{i:02d}" for i in range(students)]
    for name in names:
        target = root / "submitted" / name / "trivial"
        target.mkdir(parents=True)
        (target / "trivial.ipynb").write_text(json.dumps(_notebook()))

    per_student = [_run([_bin("nbgrader"), "autograde", "trivial", "--student", name, "--force"], root) for name in names]
    _clear(root)
    all_at_once = _run([_bin("nbgrader"), "autograde", "trivial", "--force"], root)
    _clear(root)
    grader_1 = _run([_bin("grader"), "autograde", "trivial", "--course", str(root), "--jobs", "1"], root)
    timings = [json.loads((root / "autograded" / n / "trivial" / "labkit-results.json").read_text())["timing"]
               for n in names]
    steady = [t["total"] for t in timings]
    parts = {part: round(statistics.median(t.get(part, 0.0) for t in timings), 3)
             for part in ("cloud_start", "nbgrader", "checks")}
    statuses = {json.loads((root / "autograded" / n / "trivial" / "labkit-results.json").read_text())["status"]
                for n in names}
    _clear(root)
    grader_2 = _run([_bin("grader"), "autograde", "trivial", "--course", str(root), "--jobs", "2"], root)
    return {
        "students": students,
        "nbgrader_per_student_command_s": round(statistics.median(per_student), 2),
        "nbgrader_one_command_per_submission_s": round(all_at_once / students, 2),
        "grader_jobs1_per_submission_s": round(grader_1 / students, 2),
        "grader_steady_per_submission_s": round(statistics.median(steady), 2),
        "grader_steady_parts_s": parts,
        "grader_jobs2_wall_per_submission_s": round(grader_2 / students, 2),
        "grader_statuses": sorted(statuses),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        result = measure(args.students, Path(tmp))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    result["load_average_1min"] = round(load, 2) if load is not None else None
    result["ratio_grader_steady_vs_nbgrader_command"] = round(
        result["grader_steady_per_submission_s"] / result["nbgrader_per_student_command_s"], 2)
    result["ratio_grader_jobs1_vs_nbgrader_one_command"] = round(
        result["grader_jobs1_per_submission_s"] / result["nbgrader_one_command_per_submission_s"], 2)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
