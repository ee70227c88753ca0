"""Student versions of the labs: what nbgrader's `generate_assignment` makes of the solutions.

nbgrader runs in this process, on a temporary course directory per language
(`source/X/X.ipynb -> release/X/X.ipynb`), without a gradebook (`--no-db`), so nothing persistent
is needed and all labs cost one nbgrader start. The instructor's real course directory is
`grader/`'s business; this only produces the notebooks committed under `labs/`.
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import nbformat

from coursebuild.notebook import dumps, loads

# What replaces a solution in the student's notebook, in the notebook's language: a full-line
# comment only, so en/ko parity holds for the student versions too. No `raise
# NotImplementedError()` (nbgrader's default): Run All must not stop at the first step the student
# has not done; the step's test cell says what is missing instead.
CODE_STUB = {
    "en": "# YOUR CODE HERE",
    "ko": "# 여기에 코드를 작성하세요",
}
TEXT_STUB = {"en": "YOUR ANSWER HERE", "ko": "여기에 답을 작성하세요"}


class ReleaseError(RuntimeError):
    pass


def _config(root: Path, lang: str):
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = "coursebuild"
    c.Exchange.root = str(root / "exchange")  # never the system-wide /usr/local/share/nbgrader
    c.GenerateAssignment.no_database = True  # nbgrader's own --no-db flag
    c.SaveCells.enabled = False
    c.ClearSolutions.code_stub = {"python": CODE_STUB[lang]}
    c.ClearSolutions.text_stub = TEXT_STUB[lang]
    return c


def student_versions(solutions: dict[tuple[str, str], bytes]) -> dict[tuple[str, str], bytes]:
    """{(lang, name): solution notebook bytes} -> {(lang, name): student notebook bytes}."""
    if not solutions:
        return {}
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    logging.getLogger("traitlets").setLevel(logging.ERROR)
    out: dict[tuple[str, str], bytes] = {}
    langs = sorted({lang for lang, _ in solutions})
    with tempfile.TemporaryDirectory(prefix="coursebuild-nbgrader-") as tmp:
        for lang in langs:
            root = Path(tmp) / lang
            names = sorted(name for (lg, name) in solutions if lg == lang)
            for name in names:
                target = root / "source" / name / f"{name}.ipynb"
                target.parent.mkdir(parents=True)
                target.write_bytes(solutions[(lang, name)])
            config = _config(root, lang)
            api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
            for name in names:
                result = api.generate_assignment(name, force=True, create=False)
                released = root / "release" / name / f"{name}.ipynb"
                if not result.get("success") or not released.exists():
                    raise ReleaseError(f"nbgrader generate_assignment failed for {lang}/{name}:\n"
                                       f"{result.get('error') or ''}\n{result.get('log') or ''}")
                out[(lang, name)] = _clean(released.read_bytes())
    return out


def _clean(data: bytes) -> bytes:
    """The release notebook, re-serialised the way every built notebook is, with nothing that
    could differ between two builds (nbgrader adds none today: this keeps it that way)."""
    nb = loads(data)
    for key in ("celltoolbar", "widgets"):
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
    nbformat.validate(nb)
    return dumps(nb)
