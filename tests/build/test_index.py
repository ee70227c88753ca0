"""The course index (course/{en,ko}/00_index.ipynb) and the order it comes from
(coursebuild/index.py): every notebook has its row, every link of the index opens something, the
order is the front matter's, a new source gets its row and its neighbours' next links without
an edit, and the chooser at the top of course/ links both indexes."""
from __future__ import annotations

import json
import shutil

from coursebuild import build
from coursebuild.index import CONTENTS, NEXT, course_order, file_name

from .helpers import FIXTURES, REPO, make_tree
from .markdown_parts import parse
from .test_links import check_links

INDEX = "00_index.ipynb"


def _text(nb_bytes: bytes) -> str:
    return "\n".join("".join(c["source"]) for c in json.loads(nb_bytes)["cells"] if c["cell_type"] == "markdown")


def _links(nb_bytes: bytes) -> list[tuple[str, str]]:
    return [(link.text, link.target) for link in parse(_text(nb_bytes)).links]


def test_every_notebook_has_one_row_titled_in_its_language(repo_build):
    for lang in ("en", "ko"):
        table = _text(repo_build.outputs[f"course/{lang}/{INDEX}"])
        rows = [line for line in table.splitlines() if line.startswith("| ") and ".ipynb)" in line]
        built = sorted(p for p in repo_build.outputs if p.startswith(f"course/{lang}/") and not p.endswith(INDEX))
        assert built, lang
        for rel in built:
            name = rel.rsplit("/", 1)[1]
            title = json.loads(repo_build.outputs[rel])["metadata"]["title"]
            mine = [row for row in rows if f"]({name})" in row]
            assert len(mine) == 1, f"{lang} index: {len(mine)} rows for {name}"
            assert f"[{title}]({name})" in mine[0], f"{lang} index links {name} without its {lang} title"
        assert len(rows) == len(built), f"{lang} index: rows for notebooks that are not built"


def test_every_link_of_both_indexes_and_the_chooser_resolves(repo_build):
    index_pages = {rel: data for rel, data in repo_build.outputs.items()
                   if rel.endswith(f"/{INDEX}") or rel == "course/index.ipynb"}
    assert len(index_pages) == 3
    assert check_links(index_pages, REPO) == []
    # each index links the other language's, and the chooser links both
    assert ("한국어로 보기", f"../ko/{INDEX}") in _links(repo_build.outputs[f"course/en/{INDEX}"])
    assert ("English", f"../en/{INDEX}") in _links(repo_build.outputs[f"course/ko/{INDEX}"])
    assert {t for _, t in _links(repo_build.outputs["course/index.ipynb"])} == {f"en/{INDEX}", f"ko/{INDEX}"}


def test_the_rows_follow_the_course_order_with_time_and_needs(repo_build):
    table = "\n".join(line for line in _text(repo_build.outputs[f"course/en/{INDEX}"]).splitlines()
                      if line.startswith("| ") or line.startswith("About "))
    linked = [link.target for link in parse(table).links if not link.target.startswith("../")]
    ordered = [file_name(s) for s in course_order(repo_build.sources) if s.id != "00_index"]
    assert linked == ordered
    # lab 09 (lesson 06's hands-on) comes after lab 06 and before lesson 07: its `order: 6`
    assert ordered.index("lab06.ipynb") < ordered.index("lab09.ipynb") < ordered.index("07_choosing.ipynb")
    row = next(line for line in table.splitlines() if "](lab03.ipynb)" in line)
    assert "50 min" in row and "lab 02's image" in row
    assert "About " in table and " hours in all" in table


def test_every_source_says_how_long_it_takes(repo_build):
    missing = [s.path for s in repo_build.sources if "minutes" not in s.meta]
    assert not missing, f"add `minutes:` to the front matter of {missing}"
    lab_needs = [s.path for s in repo_build.sources if s.is_lab and not (s.meta.get("needs_en") and s.meta.get("needs_ko"))]
    assert not lab_needs, f"a lab says what it needs first (needs_en, needs_ko): {lab_needs}"


def test_no_placeholder_reaches_a_notebook(repo_build):
    for rel, data in repo_build.outputs.items():
        text = _text(data)
        assert CONTENTS not in text and NEXT not in text, rel


def test_next_links_the_next_notebook_in_the_order(repo_build):
    ordered = course_order(repo_build.sources)
    index_next = _links(repo_build.outputs[f"course/en/{INDEX}"])[-1]
    assert index_next[1] == file_name(ordered[1])
    lesson07 = _links(repo_build.outputs["course/ko/07_choosing.ipynb"])
    after = ordered[[s.id for s in ordered].index("07_choosing") + 1]
    assert (after.meta["title_ko"], file_name(after)) in lesson07


def test_a_new_source_gets_its_row_and_its_next_link_without_an_edit(tmp_path):
    root = make_tree(tmp_path)
    shutil.copy(REPO / "src" / "lessons" / "00_index.md", root / "src" / "lessons" / "00_index.md")
    lesson = (FIXTURES / "lesson99.md").read_text(encoding="utf-8")
    # the fixture lesson, placed first by its front matter, ending on {next}
    lesson = lesson.replace("---\n", "---\norder: 1\nminutes: 7\nneeds_en: \"a cup of tea\"\nneeds_ko: \"차 한 잔\"\n", 1)
    lesson += "\n::: en\n**Next:** {next}\n:::\n\n::: ko\n**다음:** {next}\n:::\n"
    (root / "src" / "lessons" / "lesson99.md").write_text(lesson, encoding="utf-8")
    result = build(root)
    assert result.ok, [str(e) for e in result.errors]
    en_index = _text(result.outputs[f"course/en/{INDEX}"])
    row = next(line for line in en_index.splitlines() if "](lesson99.ipynb)" in line)
    assert "| 01 |" in row and "7 min" in row and "a cup of tea" in row
    assert "](lab99.ipynb)" in en_index  # the fixture lab, by its number (99), last
    # lesson99's next is lab99; lab99 is last, so its next would be the index
    title = json.loads(result.outputs["course/ko/lab99.ipynb"])["metadata"]["title"]
    assert ("**다음:** " + f"[{title}](lab99.ipynb)") in _text(result.outputs["course/ko/lesson99.ipynb"])
