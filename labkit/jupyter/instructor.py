"""The instructor's nbgrader course: made (or brought up to date) with `grader init` before
JupyterLab opens on it, so formgrader finds its nbgrader_config.py and every lab of the course.

Layout and commands: grader/README.md. Default folder: `.labkit-instructor/` in the repository.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from labkit.jupyter.environment import REPO

SOLUTIONS = REPO / "solutions"
EXCHANGE = ".exchange"  # nbgrader's exchange for its Assignment List panel: see config/instructor/nbgrader_config.py


def course_labs(solutions: Path = SOLUTIONS) -> list[str]:
    """Every lab the course has: one solution notebook per lab in solutions/en/."""
    return sorted(p.stem for p in (solutions / "en").glob("*.ipynb"))


def needs_init(course: Path, labs: list[str], solutions: Path = SOLUTIONS) -> bool:
    """True unless `grader init` already set up every lab from the solutions as they are now."""
    course = Path(course)
    if not (course / "nbgrader_config.py").exists() or not (course / "gradebook.db").exists():
        return True
    for lab in labs:
        record = course / "grader-labs" / f"{lab}.json"
        if not record.exists():
            return True
        newest = max((p.stat().st_mtime for p in solutions.glob(f"*/{lab}.ipynb")), default=0)
        if newest > record.stat().st_mtime:
            return True
    return False


def prepare(course: Path, solutions: Path = SOLUTIONS) -> bool:
    """Run `grader init` for the course's labs if needed. False if it failed (it printed why)."""
    labs = course_labs(solutions)
    (Path(course) / EXCHANGE).mkdir(parents=True, exist_ok=True)
    if not needs_init(course, labs, solutions):
        return True
    command = [sys.executable, "-m", "grader.cli", "init", "--course", str(course), "--solutions", str(solutions), *labs]
    return subprocess.run(command, stdin=subprocess.DEVNULL).returncode == 0
