"""The students' landing page, `course/index.ipynb`, built from `src/index.md` and the titles of
every lesson and lab.

`src/index.md` is a normal bilingual source (English blocks with their stamped Korean twins, no
code). Unlike a lesson, both languages go into one notebook, English first: the page is where a
student picks a language. A line `{contents}` in a block becomes the table of every notebook in
that block's language, so adding a lesson or a lab adds its row without editing the page.
"""
from __future__ import annotations

import re

from nbformat.v4 import new_markdown_cell, new_notebook

from coursebuild.errors import SourceError
from coursebuild.notebook import KERNELSPEC, LANGUAGE_INFO
from coursebuild.source import EN, KO, Code, Source

INDEX_SOURCE = "src/index.md"
INDEX_NOTEBOOK = "course/index.ipynb"
CONTENTS = "{contents}"

HEADERS = {
    EN: ("#", "lesson", "lab (graded)"),
    KO: ("#", "레슨", "실습(채점)"),
}
_NUMBER_RE = re.compile(r"(\d{2})")


def unit_number(source: Source) -> str:
    """The two-digit unit a notebook belongs to: `02_registries` and `lab02` are both unit 02."""
    m = _NUMBER_RE.search(source.id)
    return m.group(1) if m else "99"


def contents_table(sources: list[Source], lang: str) -> str:
    """One row per unit: its lesson and its lab, each linked, titled in `lang`."""
    units: dict[str, dict[str, list[str]]] = {}
    for source in sorted(sources, key=lambda s: (unit_number(s), s.is_lab, s.id)):
        title = source.meta.get(f"title_{lang}") or source.meta.get(f"title_{EN}") or source.id
        name = source.path.rsplit("/", 1)[1].removesuffix(".md")
        link = f"[{title}]({lang}/{name}.ipynb)"
        unit = units.setdefault(unit_number(source), {"lesson": [], "lab": []})
        unit["lab" if source.is_lab else "lesson"].append(link)
    number, lesson, lab = HEADERS[lang]
    rows = [f"| {number} | {lesson} | {lab} |", "|---|---|---|"]
    for n, unit in units.items():
        rows.append(f"| {n} | {'<br>'.join(unit['lesson'])} | {'<br>'.join(unit['lab'])} |")
    return "\n".join(rows)


def build_index(index: Source, sources: list[Source]):
    """The landing notebook: every markdown block of `src/index.md`, English then Korean."""
    cells = []
    for i, cell in enumerate(index.cells):
        if isinstance(cell, Code):
            raise SourceError(index.path, 1, "the landing page has no code cells")
        for lang in (EN, KO):
            text = cell.text(lang).replace(CONTENTS, contents_table(sources, lang))
            cells.append(new_markdown_cell(text, id=f"{cell.attrs.get('id') or f'cell-{i + 1:03d}'}-{lang}"))
    metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO),
                "labkit": {"id": index.id, "lang": "en+ko", "source": index.path},
                "title": index.meta.get("title_en", "Course")}
    nb = new_notebook(cells=cells, metadata=metadata)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb
