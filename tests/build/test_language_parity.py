"""The two languages say the same things: in every built notebook, each Korean markdown cell has
the headings (levels, in order), code spans, link targets and numbers of its English twin.

test_parity.py proves the cells line up; this proves what is inside a cell did not drift (a
heading lost in translation, a command retyped, a "12 hours" that became "24시간"). The few
legitimate differences are listed below, each with its reason; anything else fails."""
from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from .markdown_parts import SPAN_RE, anchor, parse

# English number words a Korean sentence may write as digits, because Korean counts with a digit
# and a counter: "scale down to zero" is "0개까지 줄어듭니다" (Cloud Run's Korean docs write
# "인스턴스 0개로 축소"). Month names too: "30 April 2026" is "2026년 4월 30일". Only in that
# direction: a digit in the English must be a digit in Korean.
NUMBER_WORDS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
                **{month: str(n) for n, month in enumerate(
                    ["january", "february", "march", "april", "may", "june", "july", "august",
                     "september", "october", "november", "december"], start=1)}}
NUMBER_WORD_RE = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\b", re.I)
LANG_FOLDER_RE = re.compile(r"^((?:\.\./)?)(en|ko)/")
# Korean counts in 만 (ten thousands): "3 million requests" is "요청 300만 건", "a million" is "100만",
# "30 million" is "3,000만" (the seed's and lesson 08's Korean). An English count of millions is
# compared as the number Korean writes before 만.
MILLION_RE = re.compile(r"\b(\d+(?:\.\d+)?|a|one) million\b", re.I)


def _in_man(count: str) -> str:
    """The number Korean writes before 만 for `count` million: 1 -> 100, 1.5 -> 150, 30 -> 3,000."""
    value = 1.0 if count.lower() in ("a", "one") else float(count)
    return f"{round(value * 100):,}"


def notebook_pairs(result) -> list[tuple[str, list[tuple[dict, dict]]]]:
    """(label, [(English cell, Korean cell), ...]) for every built notebook: en/X with ko/X, and
    the landing page's own X-en / X-ko cells."""
    pairs = []
    outputs = result.outputs
    for path in sorted(outputs):
        if "/en/" in path:
            ko_path = path.replace("/en/", "/ko/")
            en, ko = json.loads(outputs[path]), json.loads(outputs[ko_path])
            pairs.append((f"{path} / {ko_path}", list(zip(en["cells"], ko["cells"]))))
        elif "/ko/" not in path:  # both languages in one notebook: the landing page
            cells = {c["id"]: c for c in json.loads(outputs[path])["cells"]}
            twins = [(c, cells[c["id"].removesuffix("-en") + "-ko"]) for c in cells.values()
                     if c["id"].endswith("-en")]
            assert twins, f"{path}: neither en/ nor ko/, and no -en/-ko cells"
            pairs.append((path, twins))
    return pairs


def _text(cell: dict) -> str:
    return "".join(cell["source"])


def _link_targets(parts, other_language_anchors: set[str]) -> Counter:
    targets = Counter()
    for link in parts.links:
        target = link.target
        # Allowance 1, the chooser (course/index.ipynb) links en/X.ipynb in English and
        # ko/X.ipynb in Korean, and each index links the other language's (../ko/00_index.ipynb
        # in English, ../en/00_index.ipynb in Korean): the same notebook, another language.
        target = LANG_FOLDER_RE.sub(r"\1{lang}/", target)
        # Allowance 2, a language switch: a link to a heading of the other language's cell on
        # the same page ("**[한국어](#클라우드-...)** 아래") has no twin; the twin is the target.
        if target.startswith("#") and target[1:] in other_language_anchors:
            continue
        targets[target] += 1
    return targets


def _numbers(parts) -> Counter:
    return Counter(parts.numbers)


def compare_cells(en_text: str, ko_text: str) -> list[str]:
    """What the Korean cell lacks or adds compared with its English twin (empty: in step)."""
    en, ko = parse(en_text), parse(ko_text)
    problems = []
    en_levels = [level for level, _ in en.headings]
    ko_levels = [level for level, _ in ko.headings]
    if en_levels != ko_levels:
        problems.append(f"heading levels {en_levels} in English, {ko_levels} in Korean "
                        f"(English: {[t for _, t in en.headings]}, Korean: {[t for _, t in ko.headings]})")
    # Every distinct code span of one language appears in the other. Counted as sets: Korean word
    # order sometimes says "`latest`로 푸시하면 `latest`가 ..." where English names it once.
    missing = sorted(set(en.code_spans) - set(ko.code_spans))
    extra = sorted(set(ko.code_spans) - set(en.code_spans))
    if missing or extra:
        problems.append(f"code spans only in English {missing}, only in Korean {extra}")
    en_anchors = {anchor(t) for _, t in en.headings}
    ko_anchors = {anchor(t) for _, t in ko.headings}
    en_links, ko_links = _link_targets(en, ko_anchors), _link_targets(ko, en_anchors)
    if en_links != ko_links:
        problems.append(f"link targets only in English {sorted((en_links - ko_links).elements())}, "
                        f"only in Korean {sorted((ko_links - en_links).elements())}")
    en_numbers, ko_numbers = _numbers(en), _numbers(ko)
    millions = MILLION_RE.findall(SPAN_RE.sub(" ", en.prose))
    en_numbers -= Counter(m for m in millions if m[0].isdigit())
    en_numbers += Counter(_in_man(m) for m in millions)
    words = Counter(NUMBER_WORDS[w.lower()] for w in NUMBER_WORD_RE.findall(en.prose))
    lost = en_numbers - ko_numbers
    added = ko_numbers - en_numbers - words
    if lost or added:
        problems.append(f"numbers only in English {sorted(lost.elements())}, "
                        f"only in Korean {sorted(added.elements())}")
    return problems


def check_notebook_pairs(pairs) -> list[str]:
    problems = []
    for label, cells in pairs:
        for en, ko in cells:
            if en["cell_type"] != "markdown":
                continue
            problems += [f"{label} cell {ko['id']}: {p}" for p in compare_cells(_text(en), _text(ko))]
    return problems


def test_every_korean_cell_says_what_its_english_twin_says(repo_build, fixture_build):
    pairs = notebook_pairs(repo_build) + notebook_pairs(fixture_build)
    assert any(label == "course/index.ipynb" for label, _ in pairs), "the landing page was not compared"
    problems = check_notebook_pairs(pairs)
    assert not problems, "\n".join(problems)


# -- the comparison itself catches what it should, and allows only what it says ---------------

EN = """## Step 2 · Log in

ECR hands out a password valid for 12 hours; `docker login` stores it. See [the lesson](02_registries.ipynb)."""
KO = """## 2단계 · 로그인하기

ECR은 12시간 동안 유효한 비밀번호를 발급하고, `docker login`이 저장합니다. [레슨](02_registries.ipynb)을 보세요."""


def test_a_faithful_translation_passes():
    assert compare_cells(EN, KO) == []


@pytest.mark.parametrize("broken, complaint", [
    (KO.replace("## 2단계 · 로그인하기\n\n", ""), "heading levels"),
    (KO.replace("## 2단계", "### 2단계"), "heading levels"),
    (KO.replace("`docker login`", "docker login"), "code spans"),
    (KO.replace("`docker login`", "`docker  login --password`"), "code spans"),
    (KO.replace("(02_registries.ipynb)", "(lab02.ipynb)"), "link targets"),
    (KO.replace("[레슨](02_registries.ipynb)", "레슨"), "link targets"),
    (KO.replace("12시간", "24시간"), "numbers"),
    (KO.replace("12시간", "반나절"), "numbers"),
    (KO.replace("로그인하기", "로그인하기 (3점)"), "numbers"),
])
def test_a_drift_is_reported(broken, complaint):
    problems = compare_cells(EN, broken)
    assert problems and complaint in problems[0], problems


def test_code_inside_fences_and_spans_is_not_prose():
    en = "Run `aws ecr create-repository --region ap-northeast-2`:\n\n```\nmy-app:v1.0 2 layers\n```"
    ko = "`aws ecr create-repository --region ap-northeast-2`를 실행하세요.\n\n```\nmy-app:v1.0 레이어 2개\n```"
    assert compare_cells(en, ko) == []


def test_allowances_are_as_small_as_they_say():
    # an English number word may be a Korean digit ...
    assert compare_cells("It can scale down to zero.", "0개까지 줄어들 수 있습니다.") == []
    # ... but not the other way round, and not a different one
    assert compare_cells("It scales to 0.", "하나도 남지 않게 줄어듭니다.")
    assert compare_cells("It can scale down to zero.", "1개까지 줄어들 수 있습니다.")
    # a month's name may be its number; another month may not
    assert compare_cells("Closed since 30 April 2026.", "2026년 4월 30일부터 닫혔습니다.") == []
    assert compare_cells("Closed since 30 April 2026.", "2026년 3월 30일부터 닫혔습니다.")
    # millions are counted in 만 in Korean, and only as many as the English says
    assert compare_cells("3 million requests, then 1.5 million and a million.", "요청 300만 건, 그다음 150만 건과 100만 건.") == []
    assert compare_cells("30 million requests a month.", "한 달 요청 3,000만 건.") == []
    assert compare_cells("3 million requests.", "요청 3백만 건.")
    assert compare_cells("3 million requests.", "요청 30만 건.")
    # the landing page's en/ and ko/ folders are one target; a different notebook is not
    assert compare_cells("[a](en/lab02.ipynb)", "[가](ko/lab02.ipynb)") == []
    assert compare_cells("[a](en/lab02.ipynb)", "[가](ko/lab03.ipynb)")
    # a switch to the other language's heading has no twin; any other anchor does
    assert compare_cells("# Title\n\n[한국어](#제목)", "# 제목") == []
    assert compare_cells("# Title\n\n[Steps](#Steps)", "# 제목")


def test_the_landing_page_pairs_its_own_cells(repo_build):
    pairs = dict(notebook_pairs(repo_build))
    twins = pairs["course/index.ipynb"]
    assert twins and all(en["id"].endswith("-en") and ko["id"].endswith("-ko") for en, ko in twins)
