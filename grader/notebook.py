"""Reading submissions before nbgrader does, and comparing their test cells with the release.

Nothing here executes student code: a notebook is JSON read with `json` and `nbformat`.
"""
from __future__ import annotations

import json
from pathlib import Path

from grader.course import HIDDEN_BEGIN, HIDDEN_END

MAX_NOTEBOOK_BYTES = 100_000_000  # a submission bigger than this is not read at all


class BadNotebook(Exception):
    def __init__(self, key: str, error: str):
        super().__init__(error)
        self.key = key
        self.error = error


def load_submission(path: Path) -> dict:
    """The submission as JSON, or BadNotebook(reason key, error) if nbgrader could not read it."""
    import nbformat

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BadNotebook("reason.malformed_json", str(exc)) from None
    if size > MAX_NOTEBOOK_BYTES:
        raise BadNotebook("reason.not_a_notebook", f"{size:,} bytes, more than {MAX_NOTEBOOK_BYTES:,}")
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadNotebook("reason.malformed_json", f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise BadNotebook("reason.malformed_json", f"{exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise BadNotebook("reason.not_a_notebook", "no list of cells")
    if data.get("nbformat") != 4:
        raise BadNotebook("reason.not_a_notebook", f"nbformat {data.get('nbformat')!r}, expected 4")
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat's ValidationError and friends
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadNotebook("reason.not_a_notebook", message[:300]) from None
    return data


def language(nb: dict) -> str:
    lang = ((nb.get("metadata") or {}).get("labkit") or {}).get("lang")
    return lang if lang in ("en", "ko") else "en"


def source(cell: dict) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else str(text)


def nbgrader_meta(cell: dict) -> dict:
    meta = (cell.get("metadata") or {}).get("nbgrader") or {}
    return meta if isinstance(meta, dict) else {}


def grade_cells(nb: dict) -> dict[str, dict]:
    """grade_id -> cell, for cells nbgrader grades (first one wins, as nbgrader's dedup does)."""
    found: dict[str, dict] = {}
    for cell in nb.get("cells", []):
        meta = nbgrader_meta(cell)
        if meta.get("grade") and meta.get("grade_id") and meta["grade_id"] not in found:
            found[meta["grade_id"]] = cell
    return found


def locked_cells(nb: dict) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for cell in nb.get("cells", []):
        meta = nbgrader_meta(cell)
        if meta.get("grade_id") and (meta.get("locked") or meta.get("grade")):
            found.setdefault(meta["grade_id"], cell)
    return found


def normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def strip_hidden(text: str) -> str:
    """A test cell's source without its hidden region (what nbgrader's ClearHiddenTests leaves)."""
    kept, hidden = [], False
    for line in text.split("\n"):
        if HIDDEN_BEGIN in line:
            hidden = True
        elif HIDDEN_END in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def hidden_lines(nb: dict) -> list[str]:
    """Every non-trivial line inside a hidden-test region of a notebook (the instructor's source)."""
    lines: list[str] = []
    for cell in nb.get("cells", []):
        hidden = False
        for line in source(cell).split("\n"):
            if HIDDEN_BEGIN in line:
                hidden = True
            elif HIDDEN_END in line:
                hidden = False
            elif hidden and len(line.strip()) >= 8:
                lines.append(line.strip())
    return lines


def test_cell_status(submitted: dict, step_ids: list[str], allowed: dict[str, list[str]]) -> dict[str, str]:
    """step id -> "ok" | "deleted" | "edited", comparing the submission's test cells with the
    student versions (`allowed`: grade_id -> accepted sources, one per language)."""
    cells = grade_cells(submitted)
    status: dict[str, str] = {}
    for step in step_ids:
        cell = cells.get(step)
        if cell is None:
            status[step] = "deleted"
        elif step in allowed and normalise(source(cell)) not in {normalise(s) for s in allowed[step]}:
            status[step] = "edited"
        else:
            status[step] = "ok"
    return status


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def edited_locked_cells(submitted: dict, allowed: dict[str, list[str]]) -> list[str]:
    """Read-only cells the student changed (nbgrader puts them back): their grade ids."""
    edited = []
    for grade_id, cell in locked_cells(submitted).items():
        if grade_id in allowed and normalise(source(cell)) not in {normalise(s) for s in allowed[grade_id]}:
            edited.append(grade_id)
    return edited
