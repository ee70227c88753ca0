"""The grader's verdict on one submission: DIR/autograded/<student>/<lab>/labkit-results.json.

    status      "graded" | "not graded" | "needs regrade"
    reason      why not graded / why a regrade is needed (English; reason_key + reason_params
                render it in the student's language)
    score       points earned (None unless graded), max_score
    steps       per step: earned, max_points, test_cell ("ok" | "deleted" | "edited"), infra
    results     per condition: labkit's Result fields + "hidden"
    notes       what happened on the way (cell timeouts, restored test cells, truncated output)

"not graded" means nbgrader could not run the notebook to the end (the student's doing, or a
file nbgrader cannot read); "needs regrade" means our side failed (local cloud, checker): never
a zero for the student. Export and feedback read only these files.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from grader import __version__
from grader.texts import note_text, text

GRADED, NOT_GRADED, NEEDS_REGRADE = "graded", "not graded", "needs regrade"
STATUSES = (GRADED, NOT_GRADED, NEEDS_REGRADE)
SCHEMA = 1
RESULTS_NAME = "labkit-results.json"


def new(lab: str, student: str, notebook: str, max_score: float, language: str = "en") -> dict:
    return {
        "schema": SCHEMA, "grader_version": __version__, "lab": lab, "student": student, "notebook": notebook,
        "language": language, "status": NOT_GRADED, "reason": "", "reason_key": "", "reason_params": {},
        "score": None, "max_score": max_score, "steps": [], "results": [], "notes": [],
        "graded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "timing": {},
    }


def set_status(res: dict, status: str, key: str = "", **params) -> dict:
    res["status"] = status
    res["reason_key"] = key
    res["reason_params"] = params
    res["reason"] = text(key, "en", **params) if key else ""
    if status != GRADED:
        res["score"] = None
    return res


def add_note(res: dict, key: str, **params) -> None:
    res["notes"].append({"key": key, "params": params, "text": note_text(key, "en", **params)})


def write(path: Path, res: dict) -> None:
    """Atomically (a symlink or a half-written file the notebook left there is replaced, not followed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".labkit-results-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=2, ensure_ascii=False)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read(path: Path) -> dict | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("status") not in STATUSES:
        return None
    return data
