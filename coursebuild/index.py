"""The course's order, and what the build writes from it: the course index's table, each
notebook's link to the next one, and the tiny language chooser at the top of `course/`.

The order lives once, in the front matter of each source (coursebuild/README.md):

    order: 6          # its place in the course (default: the two digits in its file name)
    minutes: 40       # about how long it takes a student
    needs_en: "..."   # what it needs first, in each language (default: nothing)
    needs_ko: "..."

Notebooks are ordered by `order`, a lesson before the labs of the same place, then by id. So a new
lesson or lab gets its row and its neighbours' "next" links without an edit anywhere else.

Two placeholders, in any markdown block of any source:
- `{contents}`: the table of every lesson and lab in order (the index, `src/lessons/00_index.md`);
- `{next}`: a link to the next notebook in the order, titled in the block's language (the last
  notebook's next is the index).

`course/index.ipynb` is only a chooser: one cell per language linking `en/00_index.ipynb` and
`ko/00_index.ipynb`, for a student who opens `course/` itself.
"""
from __future__ import annotations

import re

from nbformat.v4 import new_markdown_cell, new_notebook

from coursebuild.notebook import KERNELSPEC, LANGUAGE_INFO
from coursebuild.source import EN, KO, LANGUAGES, Source

INDEX_ID = "00_index"
INDEX_SOURCE = f"src/lessons/{INDEX_ID}.md"   # the index's source, a lesson like any other
CHOOSER = "course/index.ipynb"                # the language chooser the build writes from it
CONTENTS, NEXT = "{contents}", "{next}"

HEADERS = {
    EN: ("#", "notebook", "kind", "time", "what it needs first"),
    KO: ("#", "노트북", "종류", "시간", "먼저 필요한 것"),
}
KINDS = {EN: ("lesson", "lab (graded)"), KO: ("레슨", "실습(채점)")}
MINUTES = {EN: "{n} min", KO: "{n}분"}
TOTAL = {EN: "About {hours:g} hours in all ({minutes} minutes).",
         KO: "모두 합쳐 약 {hours:g}시간({minutes}분)입니다."}
NOTHING = {EN: "nothing", KO: "없음"}
CHOOSER_TEXT = {
    EN: "# Cloud container services, hands-on\n\n**English:** [start here: the course index]({lang}/{index}.ipynb)",
    KO: "# 클라우드 컨테이너 서비스 실습\n\n**한국어:** [여기서 시작하세요: 과정 목차]({lang}/{index}.ipynb)",
}
CHOOSER_TITLE = "Cloud container services, hands-on · 클라우드 컨테이너 서비스 실습"
_NUMBER_RE = re.compile(r"(\d{2})")


def file_name(source: Source) -> str:
    """The built notebook's file name: the source's, `.md` -> `.ipynb` (`lab02.ipynb`)."""
    return source.path.rsplit("/", 1)[1].removesuffix(".md") + ".ipynb"


def place(source: Source) -> int:
    """Where a notebook goes in the course: `order:`, else the two digits of its id
    (`02_registries` and `lab02` are both 2), else last."""
    if "order" in source.meta:
        return source.meta["order"]
    m = _NUMBER_RE.search(source.id)
    return int(m.group(1)) if m else 99


def course_order(sources: list[Source]) -> list[Source]:
    """Every notebook of the course in the order a student takes them (the index first)."""
    return sorted(sources, key=lambda s: (place(s), s.is_lab, s.id))


def title(source: Source, lang: str) -> str:
    return source.meta.get(f"title_{lang}") or source.meta.get(f"title_{EN}") or source.id


def contents_table(sources: list[Source], lang: str) -> str:
    """One row per lesson and lab, in order: its place, a link that opens it, lesson or lab,
    the minutes it takes, what it needs first; then the total time."""
    kind_lesson, kind_lab = KINDS[lang]
    rows = ["| " + " | ".join(HEADERS[lang]) + " |", "|---|---|---|---|---|"]
    total = 0
    for source in course_order(sources):
        if source.id == INDEX_ID:
            continue
        minutes = source.meta.get("minutes")
        total += minutes or 0
        needs = source.meta.get(f"needs_{lang}") or NOTHING[lang]
        rows.append(f"| {place(source):02d} | [{title(source, lang)}]({file_name(source)}) | "
                    f"{kind_lab if source.is_lab else kind_lesson} | "
                    f"{MINUTES[lang].format(n=minutes) if minutes else '?'} | {needs} |")
    rows += ["", TOTAL[lang].format(hours=round(total / 60 * 2) / 2, minutes=total)]
    return "\n".join(rows)


def next_notebook(source: Source, sources: list[Source]) -> Source | None:
    """The notebook after `source` in the course; after the last one, the index (None if there is none)."""
    ordered = course_order(sources)
    at = next(i for i, s in enumerate(ordered) if s.path == source.path)
    if at + 1 < len(ordered):
        return ordered[at + 1]
    return next((s for s in ordered if s.id == INDEX_ID and s is not source), None)


def next_link(source: Source, sources: list[Source], lang: str) -> str:
    after = next_notebook(source, sources)
    return f"[{title(after, lang)}]({file_name(after)})" if after is not None else ""


def fill_placeholders(nb, source: Source, sources: list[Source], lang: str):
    """Replace `{contents}` and `{next}` in the markdown cells of one built notebook."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text = cell.source
        if CONTENTS in text:
            text = text.replace(CONTENTS, contents_table(sources, lang))
        if NEXT in text:
            text = text.replace(NEXT, next_link(source, sources, lang))
        cell.source = text
    return nb


def build_chooser(index: Source):
    """`course/index.ipynb`: one cell per language, each linking that language's index."""
    cells = [new_markdown_cell(CHOOSER_TEXT[lang].format(lang=lang, index=INDEX_ID),
                               id=f"chooser-{lang}") for lang in LANGUAGES]
    metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO),
                "labkit": {"id": "index", "lang": "en+ko", "source": index.path},
                "title": CHOOSER_TITLE}
    nb = new_notebook(cells=cells, metadata=metadata)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb
