"""Trust the notebooks the course ships, so Jupyter does not log "Notebook ... is not trusted" for
each one a student opens (that warning is about outputs from elsewhere, and these have none).

Signatures go where the Jupyter server looks for them (nbformat's notary database in the Jupyter
data folder). Checking first makes a second launch cost one read per notebook.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
from jupyter_core.paths import jupyter_data_dir
from nbformat.sign import NotebookNotary

SKIP = {".ipynb_checkpoints"}


def course_notebooks(root: Path, only_ours: bool = True) -> list[Path]:
    """The .ipynb files under `root`; with `only_ours`, only those the course build wrote
    (`metadata.labkit`), never a notebook someone else made."""
    found = []
    for path in sorted(Path(root).rglob("*.ipynb")):
        if SKIP.intersection(path.relative_to(root).parts):
            continue
        if only_ours and not _built_by_course(path):
            continue
        found.append(path)
    return found


def trust(paths: list[Path]) -> int:
    """Sign every notebook in `paths` not signed yet. Returns how many were signed now."""
    data_dir = Path(jupyter_data_dir())
    data_dir.mkdir(parents=True, exist_ok=True)
    signed = 0
    with NotebookNotary(data_dir=str(data_dir)) as notary:
        for path in paths:
            try:
                nb = nbformat.read(path, as_version=4)
            except Exception:  # noqa: BLE001 - a broken notebook is Jupyter's to report when opened
                continue
            if not notary.check_signature(nb):
                notary.sign(nb)
                signed += 1
    return signed


def _built_by_course(path: Path) -> bool:
    try:
        return "labkit" in json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return False

