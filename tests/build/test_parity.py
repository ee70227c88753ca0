"""(b) Language parity: en and ko builds of one source have the same cells in the same order,
identical code except translated full-line comments, identical metadata; Korean prose is Korean."""
from __future__ import annotations

import json
import re

import pytest

from .helpers import all_builds

HANGUL = re.compile(r"[\uac00-\ud7a3]")
FULL_COMMENT = re.compile(r"^(\s*)(#+\s*)\S")


def _code_lines_match(en: str, ko: str) -> list[str]:
    en_lines, ko_lines = en.split("\n"), ko.split("\n")
    if len(en_lines) != len(ko_lines):
        return [f"{len(en_lines)} lines in en, {len(ko_lines)} in ko"]
    problems = []
    for a, b in zip(en_lines, ko_lines):
        if a == b:
            continue
        ma, mb = FULL_COMMENT.match(a), FULL_COMMENT.match(b)
        if not (ma and mb and ma.groups() == mb.groups()):
            problems.append(f"differs beyond a full-line comment: {a!r} / {b!r}")
    return problems


def _without_checksum(meta: dict) -> dict:
    meta = json.loads(json.dumps(meta))
    meta.get("nbgrader", {}).pop("checksum", None)  # nbgrader's checksum covers the cell's text
    return meta


def check_parity(label: str, en_bytes: bytes, ko_bytes: bytes) -> list[str]:
    en, ko = json.loads(en_bytes), json.loads(ko_bytes)
    problems = []
    if len(en["cells"]) != len(ko["cells"]):
        return [f"{label}: {len(en['cells'])} cells in en, {len(ko['cells'])} in ko"]
    for a, b in zip(en["cells"], ko["cells"]):
        where = f"{label} cell {a['id']}"
        if (a["id"], a["cell_type"]) != (b["id"], b["cell_type"]):
            problems.append(f"{where}: en {a['cell_type']} {a['id']} vs ko {b['cell_type']} {b['id']}")
            continue
        if _without_checksum(a["metadata"]) != _without_checksum(b["metadata"]):
            problems.append(f"{where}: metadata differs")
        text_a, text_b = "".join(a["source"]), "".join(b["source"])
        if a["cell_type"] == "code":
            problems += [f"{where}: {p}" for p in _code_lines_match(text_a, text_b)]
        else:
            if not text_b.strip():
                problems.append(f"{where}: empty Korean markdown")
            elif not HANGUL.search(text_b):
                problems.append(f"{where}: Korean markdown without Hangul: {text_b[:60]!r}")
    meta_en, meta_ko = dict(en["metadata"]), dict(ko["metadata"])
    for meta in (meta_en, meta_ko):
        meta.pop("title", None)
        meta["labkit"] = {k: v for k, v in meta["labkit"].items() if k != "lang"}
    if meta_en != meta_ko:
        problems.append(f"{label}: notebook metadata differs beyond lang/title")
    return problems


def test_every_source_has_parity(repo_build, fixture_build):
    problems = []
    for label, _source, built, student in all_builds(repo_build, fixture_build):
        problems += check_parity(label, built["en"], built["ko"])
        if student:
            problems += check_parity(f"{label} (student version)", student["en"], student["ko"])
    assert not problems, "\n".join(problems)


def test_translated_comments_keep_indentation_and_code(fixture_build):
    en = json.loads(fixture_build.outputs["course/en/lesson99.ipynb"])
    ko = json.loads(fixture_build.outputs["course/ko/lesson99.ipynb"])
    assert "".join(en["cells"][2]["source"]) == (
        "    # Say hello\nprint(\"hello\")  # trailing comments stay as they are")
    assert "".join(ko["cells"][2]["source"]) == (
        "    # 인사합니다\nprint(\"hello\")  # trailing comments stay as they are")
    assert en["cells"][2]["metadata"] == {"tags": ["hide-input"]}
    # cell magics survive, untouched, in both languages
    assert en["cells"][1]["source"][0] == ko["cells"][1]["source"][0] == "%%writefile app/app.py\n"


def test_fenced_code_inside_prose_stays_prose(fixture_build):
    ko = json.loads(fixture_build.outputs["course/ko/lesson99.ipynb"])
    assert [c["cell_type"] for c in ko["cells"]] == ["markdown", "code", "code"]
    assert "::: not a block" in "".join(ko["cells"][0]["source"])


def test_parity_check_catches_a_difference(fixture_build):
    en = fixture_build.outputs["course/en/lesson99.ipynb"]
    ko = fixture_build.outputs["course/ko/lesson99.ipynb"].replace(b'print(\\"hello\\")  #', b'print(\\"bye\\")  #')
    assert check_parity("x", en, ko)
    ko_english = fixture_build.outputs["course/en/lesson99.ipynb"]
    assert any("without Hangul" in p for p in check_parity("x", en, ko_english))


@pytest.mark.parametrize("bad", ["x = 1\n", "# one\n# two\n"])
def test_code_line_comparison(bad):
    assert _code_lines_match("# a\nx = 2", "# 가\nx = 2") == []
    assert _code_lines_match("x = 2", bad)
