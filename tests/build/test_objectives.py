"""Every notebook opens with its objectives: the first cell of every lesson and lab (and of the
course index) says what you will be able to do by its end, as a numbered list, in both languages,
before anything else it lists (a lab's table of steps comes after). What a student reads first is
what the notebook is for, not what to type."""
from __future__ import annotations

import re

import pytest

from coursebuild.build import find_sources, read_source
from coursebuild.source import Markdown
from tests.build.helpers import REPO

OPENING = {"en": re.compile(r"(?:By the end|After the course) you will(?: be able to)?:$", re.M),
           "ko": re.compile(r"이 (?:노트북|실습|과정)을 마치면 다음을 할 수 있습니다\.$", re.M)}
FIRST_ITEM = re.compile(r"\A\s*1\. \S")
TABLE_ROW = re.compile(r"^\|", re.M)

SOURCES = [path.relative_to(REPO).as_posix() for path in find_sources(REPO)]


@pytest.mark.parametrize("path", SOURCES)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_first_cell_lists_its_objectives_before_anything_else(path, lang):
    source = read_source(REPO, REPO / path)
    first = next(cell for cell in source.cells if isinstance(cell, Markdown)).text(lang)
    opening = OPENING[lang].search(first)
    assert opening, f"{path} ({lang}): the first cell has no objectives line ({OPENING[lang].pattern})"
    after = first[opening.end():]
    assert FIRST_ITEM.match(after), f"{path} ({lang}): a numbered list follows the objectives line"
    table = TABLE_ROW.search(first)
    assert table is None or table.start() > opening.end(), f"{path} ({lang}): the objectives come before the table"
