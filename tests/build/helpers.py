"""Helpers shared by the build tests (fixtures are in conftest.py)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
if str(REPO) not in sys.path:  # coursebuild runs from the repository root; it is not installed
    sys.path.insert(0, str(REPO))


def make_tree(root: Path) -> Path:
    """A course tree with the fixture lab (every nbgrader cell kind) and a small lesson."""
    (root / "src" / "lessons").mkdir(parents=True)
    (root / "src" / "labs").mkdir(parents=True)
    (root / "course").mkdir()
    shutil.copy(FIXTURES / "lab99.md", root / "src" / "labs" / "lab99.md")
    shutil.copy(FIXTURES / "lesson99.md", root / "src" / "lessons" / "lesson99.md")
    return root


def all_builds(*results):
    """(label, source, {lang: notebook bytes}, {lang: student version bytes} or None) for every
    source of the given build results."""
    out = []
    for result in results:
        for source in result.sources:
            src_dir, name = source.path.rsplit("/", 1)
            name = name.removesuffix(".md")
            top = "course" if src_dir == "src/lessons" else "solutions"
            built = {lang: result.outputs[f"{top}/{lang}/{name}.ipynb"] for lang in ("en", "ko")}
            student = None
            if top == "solutions":
                student = {lang: result.outputs[f"course/{lang}/{name}.ipynb"] for lang in ("en", "ko")}
            out.append((source.path, source, built, student))
    return out
