"""Turn a parsed source into one notebook per language, and notebooks into bytes.

Everything here is deterministic: same source, same bytes (cell ids come from the source, no
outputs, no execution counts, no timestamps, no versions of the machine that built it). The one
output a built notebook may have is a widget cell's static figure (`static=`), drawn by a function
that gives the same bytes for the same language.
"""
from __future__ import annotations

import importlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from coursebuild.source import EN, Code, Source

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}


def nbgrader_metadata(kind: str, grade_id: str, points: float | int | None) -> dict:
    """Cell metadata exactly as nbgrader's "Create Assignment" writes it (schema version 3):
    every key present, `points` only on cells that are graded."""
    meta = {
        "grade": kind in ("tests", "manual"),
        "grade_id": grade_id,
        "locked": kind in ("tests", "readonly", "task"),
        "schema_version": 3,
        "solution": kind in ("solution", "manual"),
        "task": kind == "task",
    }
    if kind in ("tests", "manual", "task"):
        meta["points"] = points if points is not None else 0
    return dict(sorted(meta.items()))


def cell_id(source: Source, index: int) -> str:
    """The `id=` attribute, else one derived from the cell's position (the same in both
    languages, so cells line up)."""
    cell = source.cells[index]
    return cell.attrs.get("id") or f"cell-{index + 1:03d}"


STATIC_TYPES = ("image/svg+xml", "image/png", "text/plain")


def static_output(ref: str, lang: str) -> nbformat.NotebookNode:
    """A widget cell's stand-in where no kernel runs (GitHub, a static render): FUNCTION(lang) of
    `static=MODULE:FUNCTION` returns a MIME bundle (a picture and its text), stored as the cell's
    display_data output. Running the cell replaces it with the live widget."""
    module, function = ref.split(":")
    bundle = getattr(importlib.import_module(module), function)(lang)
    unknown = sorted(set(bundle) - set(STATIC_TYPES))
    if unknown or "text/plain" not in bundle:
        raise ValueError(f"{ref} returned {sorted(bundle)}: a picture ({', '.join(STATIC_TYPES[:2])}) and text/plain")
    return new_output("display_data", data=dict(sorted(bundle.items())), metadata={})


def build_notebook(source: Source, lang: str) -> nbformat.NotebookNode:
    cells = []
    for index, cell in enumerate(source.cells):
        cid = cell_id(source, index)
        metadata: dict = {}
        kind = cell.attrs.get("nbgrader")
        if kind:
            metadata["nbgrader"] = nbgrader_metadata(kind, cid, cell.attrs.get("points"))
        if cell.attrs.get("tags"):
            metadata["tags"] = list(cell.attrs["tags"])
        text = cell.text(lang)
        if isinstance(cell, Code):
            outputs = []
            if cell.attrs.get("static"):
                metadata["labkit"] = {"static": cell.attrs["static"]}
                outputs = [static_output(cell.attrs["static"], lang)]
            cells.append(new_code_cell(text, id=cid, metadata=metadata, outputs=outputs))
        else:
            cells.append(new_markdown_cell(text, id=cid, metadata=metadata))
    labkit = {"id": source.id, "lang": lang, "source": source.path}
    if source.is_lab:
        labkit["lab"] = source.id
    metadata = {"kernelspec": dict(KERNELSPEC), "labkit": labkit, "language_info": dict(LANGUAGE_INFO)}
    title = source.meta.get(f"title_{lang}") or source.meta.get(f"title_{EN}")
    if title:
        metadata["title"] = title
    nb = new_notebook(cells=cells, metadata=metadata)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def dumps(nb: nbformat.NotebookNode) -> bytes:
    """Notebook bytes as Jupyter itself saves them (indent 1, sorted keys, UTF-8 not escaped,
    one final newline), so opening and saving a built notebook changes nothing."""
    nbformat.validate(nb)
    text = nbformat.writes(nb, version=4)
    if not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8")


def loads(data: bytes) -> nbformat.NotebookNode:
    return nbformat.reads(data.decode("utf-8"), as_version=4)
