"""The Korean glossary (docs/glossary.ko.yaml) is machine-readable, docs/glossary.ko.md shows the
same table, and every Korean text of the course keeps to it:

- no avoided form (레포지토리, 태그를 달다, Kubernetes 관리형, ...) and no calque (동전의 반대쪽, ~를 가지다);
- an English cell or message that names a term (checker, grader, laptop, Python, row) has that
  term's Korean word in its twin (검사기, 채점기, 내 컴퓨터, 파이썬, 행);
- in each notebook, the first use of a term that declares an English form carries it in
  parentheses, capitalised as declared, outside the bold: **인증 토큰**(Authorization token)을;
- inserted values take no particle ("{port}번 포트를", never "{port}를").

Korean texts: the Korean blocks and `#|ko` comments of every source (src/**), the SVG pictures
the Korean blocks show, labkit/messages/ko.json and grader/messages/ko.json.

`.venv/bin/python tests/test_glossary.py --write` rewrites the table in the .md from the YAML.
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from coursebuild.build import TREES, find_sources, read_source  # noqa: E402
from coursebuild.index import INDEX_SOURCE  # noqa: E402
from coursebuild.source import Code, Markdown  # noqa: E402
from tests.build.markdown_parts import LINK_RE, SPAN_RE, parse, split_fenced  # noqa: E402

GLOSSARY_YAML = REPO / "docs" / "glossary.ko.yaml"
GLOSSARY_MD = REPO / "docs" / "glossary.ko.md"
MESSAGE_FILES = ("labkit/messages", "grader/messages")
TABLE_START = "<!-- glossary table: generated from glossary.ko.yaml by tests/test_glossary.py --write -->"
TABLE_END = "<!-- end of glossary table -->"
KEYS = {"term", "ko", "en", "avoid", "allow", "only_with", "en_pattern", "ko_pattern", "note", "sources"}

HANGUL = re.compile(r"[\uac00-\ud7a3]")
CODE_SPAN_RE = re.compile(r"(`+)(.+?)\1", re.S)
# A particle straight after an inserted value: "{found}를", "{cell}을(를)". The lead's rule: add a
# noun between ("{port}번 포트를", "{cmd} 명령을"); counters (번, 초, 개, 점, 번째) are fine.
PLACEHOLDER_PARTICLE_RE = re.compile(
    r"\{[^{}]+\}(을|를|이|가|은|는|와|과|의|에서|에게|에는|에|으로|로|도|만|이나|나|까지|부터|처럼|보다|라고|이라고|라는|이라는|이라|라)"
    r"(?![\uac00-\ud7a3])")
# A bold or italic word (or the English in parentheses after it), then a space, then its
# particle: "**인증 토큰(Authorization token)** 을", "*모두 실행*(Run All) 을".
# (Not "이": it is also the word "this".)
SPACE_BEFORE_PARTICLE_RE = re.compile(
    r"(?P<end>[^\s*_](?:\*\*|\*|__|_)|\))\s+(?P<particle>을|를|가|은|는|와|과|의|에서|에|으로|로|도|만|까지|처럼|보다)"
    r"(?=[\s.,;:!?)]|$)", re.M)
# English inside the bold: "**인증 토큰(Authorization token)**" (it goes outside: **인증 토큰**(...)).
ENGLISH_INSIDE_BOLD_RE = re.compile(r"\*\*([^*\n]*[\uac00-\ud7a3][^*\n]*)\(([A-Za-z][^()]*)\)\*\*")


# -- the glossary ---------------------------------------------------------------------------

def load_glossary() -> dict:
    return yaml.safe_load(GLOSSARY_YAML.read_text(encoding="utf-8"))


def terms() -> list[dict]:
    return load_glossary()["terms"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def render_table(glossary: dict) -> str:
    """The table docs/glossary.ko.md shows: English | 한국어 | 처음 쓸 때 | 쓰지 않는 말 | 메모."""
    rows = ["| English | 한국어 | 처음 쓸 때 | 쓰지 않는 말 | 메모 |", "|---|---|---|---|---|"]
    for t in glossary["terms"]:
        first = f"{t['ko']}({t['en']})" if t.get("en") else ""
        avoid = ", ".join(t.get("avoid", []))
        rows.append(f"| {_cell(t['term'])} | {_cell(t['ko'])} | {_cell(first)} | {_cell(avoid)} | "
                    f"{_cell(t.get('note', ''))} |")
    rows += ["", "번역투로 읽히는 표현(쓰지 않음):", ""]
    rows += [f"- “{t['form'].strip()}” — {t['instead']}" for t in glossary["translationese"]]
    rows += ["", "근거 문서(클라우드의 한국어 문서가 쓰는 표기):", ""]
    rows += [f"- {t['term']} → {t['ko']}: " + ", ".join(f"<{url}>" for url in t["sources"])
             for t in glossary["terms"] if t.get("sources")]
    return "\n".join(rows)


def table_in_md() -> str:
    text = GLOSSARY_MD.read_text(encoding="utf-8")
    assert TABLE_START in text and TABLE_END in text, f"{GLOSSARY_MD.name} lacks the table markers"
    return text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()


def write_table() -> None:
    text = GLOSSARY_MD.read_text(encoding="utf-8")
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    GLOSSARY_MD.write_text(f"{head}{TABLE_START}\n{render_table(load_glossary())}\n{TABLE_END}{tail}",
                           encoding="utf-8")


def test_glossary_is_well_formed():
    glossary = load_glossary()
    names = [t["term"] for t in glossary["terms"]]
    assert names == sorted(names, key=str.lower), "keep the terms sorted by English term"
    assert len(set(names)) == len(names), "a term is listed twice"
    for t in glossary["terms"]:
        assert set(t) <= KEYS, f"{t['term']}: unknown keys {set(t) - KEYS}"
        assert t.get("ko"), f"{t['term']}: no Korean"
        for key in ("avoid", "allow", "only_with", "sources"):
            assert isinstance(t.get(key, []), list), f"{t['term']}: {key} is a list"
        for key in ("en_pattern", "ko_pattern"):
            if key in t:
                re.compile(t[key])
        if "en" in t:
            assert re.fullmatch(r"[A-Z][A-Za-z ]*", t["en"]), f"{t['term']}: en {t['en']!r} starts with a capital"
        assert not any(a in t["ko"] for a in t.get("avoid", [])), f"{t['term']}: avoids its own word"
    assert all({"form", "instead"} <= set(t) for t in glossary["translationese"])


def test_the_md_page_shows_the_yaml():
    expected = render_table(load_glossary())
    assert table_in_md() == expected, (
        "docs/glossary.ko.md differs from docs/glossary.ko.yaml; run "
        "`.venv/bin/python tests/test_glossary.py --write`")


# -- the Korean texts -------------------------------------------------------------------------

@dataclass
class Text:
    where: str  # file:line, or file and message key
    ko: str
    en: str | None  # its English twin, when it has one
    kind: str  # "cell", "comment", "message", "picture"


def _built_folders(source_path: str) -> list[str]:
    """The folders a source's Korean notebook is built into (where its pictures resolve)."""
    if source_path == INDEX_SOURCE:
        return ["course"]
    top, student = TREES[source_path.rsplit("/", 1)[0]]
    return [f"{t}/ko" for t in (top, student) if t]


def _pictures(source_path: str, ko: str) -> list[Text]:
    """The SVG pictures a Korean block shows: their words are Korean text too."""
    found = []
    for link in parse(ko).links:
        if not (link.image and link.target.endswith(".svg")) or "://" in link.target:
            continue
        for folder in _built_folders(source_path):
            svg = REPO / folder / link.target
            if svg.exists():
                words = re.findall(r"<(?:text|tspan|title|desc)\b[^>]*>([^<]+)<", svg.read_text(encoding="utf-8"))
                found.append(Text(svg.relative_to(REPO).as_posix(), "\n".join(words), None, "picture"))
                break
    return found


def source_texts() -> list[Text]:
    texts = []
    for path in find_sources(REPO):
        source = read_source(REPO, path)
        for cell in source.cells:
            if isinstance(cell, Markdown):
                texts.append(Text(f"{source.path}:{cell.ko_line}", cell.ko, cell.en, "cell"))
                texts += _pictures(source.path, cell.ko)
            elif isinstance(cell, Code):
                for n, (en, ko) in enumerate(zip(cell.en.split("\n"), cell.ko.split("\n"))):
                    if en != ko:
                        texts.append(Text(f"{source.path}:{cell.line} (comment {n + 1})", ko, en, "comment"))
    return texts


def message_texts() -> list[Text]:
    texts = []
    for folder in MESSAGE_FILES:
        ko = json.loads((REPO / folder / "ko.json").read_text(encoding="utf-8"))
        en = json.loads((REPO / folder / "en.json").read_text(encoding="utf-8"))
        texts += [Text(f"{folder}/ko.json {key}", value, en.get(key), "message") for key, value in ko.items()]
    return texts


def korean_texts() -> list[Text]:
    return source_texts() + message_texts()


def without_code(text: str, kind: str, code: str = " ") -> str:
    """What a reader reads as words: each `code` span becomes `code`, fenced commands go
    (diagrams stay: their words are read)."""
    if kind == "cell":
        outside, fenced = split_fenced(text)
        text = "\n".join(outside + [f for f in fenced if HANGUL.search(f)])
    return CODE_SPAN_RE.sub(code, text)


def _first_use_forms(t: dict) -> re.Pattern:
    """`ko(en)` with the bold closing in between or not, the English in any capitalisation."""
    return re.compile(re.escape(t["ko"]) + r"(\*\*|\*)?\((" + re.escape(t["en"]) + r")\)", re.I)


def _avoid_re(form: str) -> re.Pattern:
    if re.fullmatch(r"[A-Za-z][A-Za-z ]*", form):  # an English word: not inside a longer word
        return re.compile(r"(?<![A-Za-z])" + re.escape(form) + r"(?![A-Za-z])")
    return re.compile(re.escape(form))


def avoided_forms(text: Text, glossary: dict) -> list[str]:
    words = without_code(text.ko, text.kind)
    for t in glossary["terms"]:  # "파이썬(Python)" is the first use, not English in Korean prose
        if t.get("en"):
            words = _first_use_forms(t).sub(t["ko"], words)
    problems = []
    for t in glossary["terms"]:
        checked = words
        for allowed in t.get("allow", []):
            checked = checked.replace(allowed, " ")
        for form in t.get("avoid", []):
            if _avoid_re(form).search(checked):
                problems.append(f"{text.where}: {form.strip()!r} -> {t['ko']} ({t['term']})")
        if t.get("only_with") and t["ko"] in words and not any(c in text.ko for c in t["only_with"]):
            problems.append(f"{text.where}: {t['ko']!r} is the word for {t['term']} only; "
                            f"this text is not about {' / '.join(t['only_with'])}")
    for t in glossary["translationese"]:
        if t["form"] in words:
            problems.append(f"{text.where}: calque {t['form'].strip()!r}: {t['instead']}")
    return problems


def missing_terms(text: Text, glossary: dict) -> list[str]:
    """An English twin that names a term whose Korean word the Korean text lacks."""
    if not text.en:
        return []
    english = without_code(text.en, text.kind)
    korean = without_code(text.ko, text.kind)
    problems = []
    for t in glossary["terms"]:
        if "en_pattern" in t and re.search(t["en_pattern"], english):
            if not re.search(t.get("ko_pattern") or re.escape(t["ko"]), korean):
                problems.append(f"{text.where}: the English says {re.search(t['en_pattern'], english).group(0).strip()!r}, "
                                f"the Korean lacks {t['ko']!r}")
    return problems


def spelling(text: Text, glossary: dict) -> list[str]:
    """One capitalisation per English term; bold ends before the English and the particle."""
    problems = []
    for t in glossary["terms"]:
        if t.get("en"):
            for m in _first_use_forms(t).finditer(text.ko):
                if m.group(2) != t["en"]:
                    problems.append(f"{text.where}: {m.group(0)!r} -> {t['ko']}({t['en']})")
    words = without_code(text.ko, text.kind, code="CODE")  # "(Base image) `x`에서" has no gap
    for m in ENGLISH_INSIDE_BOLD_RE.finditer(words):
        problems.append(f"{text.where}: {m.group(0)!r} -> **{m.group(1)}**({m.group(2)})")
    for m in SPACE_BEFORE_PARTICLE_RE.finditer(words):
        problems.append(f"{text.where}: a space between {m.group('end')[-2:].strip()!r} and its particle "
                        f"{m.group('particle')!r}: {words[max(0, m.start() - 12):m.end()]!r}")
    if text.kind == "message":
        for m in PLACEHOLDER_PARTICLE_RE.finditer(text.ko):
            problems.append(f"{text.where}: particle straight after a value: {m.group(0)!r} "
                            "(add a noun: '{port}번 포트를', '{cmd} 명령을')")
    return problems


def violations(texts: list[Text], glossary: dict) -> list[str]:
    problems = []
    for text in texts:
        problems += avoided_forms(text, glossary) + missing_terms(text, glossary) + spelling(text, glossary)
    return problems


def test_the_korean_of_the_notebooks_keeps_to_the_glossary():
    problems = violations(source_texts(), load_glossary())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("folder", MESSAGE_FILES)
def test_the_korean_messages_keep_to_the_glossary(folder):
    texts = [t for t in message_texts() if t.where.startswith(folder)]
    assert texts
    problems = violations(texts, load_glossary())
    assert not problems, "\n".join(problems)


# -- first use in each notebook -----------------------------------------------------------

def _readable_text(ko_cells: list[str]) -> str:
    """A notebook's Korean prose in order, without headings and table rows (labels: the English
    goes into the first sentence that uses the term), fenced blocks, code spans and pictures'
    alt text (a sighted reader does not see it)."""
    lines = []
    for ko in ko_cells:
        parts = parse(LINK_RE.sub(lambda m: " " if m.group(1) else m.group(0), ko))
        for line, kind in zip(parts.prose_lines, parts.line_kinds):
            if kind == "text":
                lines.append(SPAN_RE.sub(" ", line))
    return "\n".join(lines)


def first_use_problems(label: str, ko_cells: list[str], glossary: dict) -> list[str]:
    text = _readable_text(ko_cells)
    with_english = [t for t in glossary["terms"] if t.get("en")]
    introduced = []  # (start, end) of every "ko(en)" in the text, any term
    for t in with_english:
        introduced += [(m.start(), m.end()) for m in _first_use_forms(t).finditer(text)]
    problems = []
    for t in with_english:
        if t.get("only_with") and not any(c in "\n".join(ko_cells) for c in t["only_with"]):
            continue  # 저장소 outside Artifact Registry text is reported as an avoided form
        first = text.find(t["ko"])
        if first < 0:
            continue
        if any(start <= first < end for start, end in introduced):
            continue  # "컨테이너 레지스트리(Container registry)" introduces 레지스트리 too
        context = text[max(0, first - 15):first + len(t["ko"]) + 15].replace("\n", " ")
        problems.append(f"{label}: first use of {t['ko']} lacks its English: ...{context}... "
                        f"-> {t['ko']}({t['en']})")
    return problems


def notebook_korean_cells() -> list[tuple[str, list[str]]]:
    notebooks = []
    for path in find_sources(REPO):
        source = read_source(REPO, path)
        notebooks.append((source.path, [c.ko for c in source.cells if isinstance(c, Markdown)]))
    return notebooks


def test_first_use_of_a_term_in_each_notebook_gives_the_english():
    glossary = load_glossary()
    problems = []
    for label, cells in notebook_korean_cells():
        problems += first_use_problems(label, cells, glossary)
    assert not problems, "\n".join(problems)


# -- the checks catch what they should ----------------------------------------------------

GLOSSARY = {
    "terms": [
        {"term": "authorization token", "ko": "인증 토큰", "en": "Authorization token"},
        {"term": "checker", "ko": "검사기", "en_pattern": r"(?i)\bchecker\b"},
        {"term": "Kubernetes", "ko": "쿠버네티스", "en": "Kubernetes", "avoid": ["Kubernetes"],
         "allow": ["Google Kubernetes Engine"]},
        {"term": "registry", "ko": "레지스트리", "en": "Registry"},
        {"term": "container registry", "ko": "컨테이너 레지스트리", "en": "Container registry"},
        {"term": "repository (Artifact Registry)", "ko": "저장소", "only_with": ["Artifact Registry"]},
        {"term": "repository", "ko": "리포지토리", "avoid": ["레포지토리"]},
        {"term": "tag", "ko": "태그", "avoid": ["태그를 달"]},
    ],
    "translationese": [{"form": "동전의 반대쪽", "instead": "반면"}],
}


def _cell_text(ko, en=None, kind="cell"):
    return Text("x.md:1", ko, en, kind)


@pytest.mark.parametrize("ko, complaint", [
    ("ECR 레포지토리를 만드세요.", "'레포지토리' -> 리포지토리"),
    ("태그를 달고 푸시하세요.", "'태그를 달' -> 태그"),
    ("Kubernetes 클러스터입니다.", "'Kubernetes' -> 쿠버네티스"),
    ("ECR 저장소에 푸시합니다.", "저장소' is the word for"),
    ("동전의 반대쪽은 격리입니다.", "calque"),
    ("**인증 토큰(Authorization token)**을 받습니다.", "-> **인증 토큰**(Authorization token)"),
    ("**인증 토큰**(Authorization Token)을 받습니다.", "-> 인증 토큰(Authorization token)"),
    ("**인증 토큰**(Authorization token) 을 받습니다.", "a space between"),
    ("*모두 실행*(Run All) 을 눌러도 됩니다.", "a space between"),
])
def test_a_violation_is_reported(ko, complaint):
    problems = violations([_cell_text(ko)], GLOSSARY)
    assert problems and complaint in problems[0], problems


@pytest.mark.parametrize("ko", [
    "ECR 리포지토리를 만들고 태그를 붙이세요.",
    "쿠버네티스(Kubernetes)와 GKE(Google Kubernetes Engine)를 씁니다.",
    "Artifact Registry 저장소를 만듭니다.",
    "`git clone https://example.com/레포지토리` 명령은 코드라서 그대로입니다.",
    "**인증 토큰**(Authorization token)을 받습니다. **진행 상황 확인** 버튼을 누르세요.",
])
def test_good_korean_passes(ko):
    assert violations([_cell_text(ko)], GLOSSARY) == []


def test_an_english_term_needs_its_korean_word():
    en = "The checker could not check step '{step}'."
    assert violations([_cell_text("채점기가 '{step}' 단계를 확인하지 못했습니다.", en, "message")], GLOSSARY)
    assert not violations([_cell_text("검사기가 '{step}' 단계를 확인하지 못했습니다.", en, "message")], GLOSSARY)
    # code is not prose: `grader/checker.py` in English names no term
    assert not violations([_cell_text("`checker.py` 파일입니다.", "The `checker.py` file.")], GLOSSARY)


@pytest.mark.parametrize("ko, bad", [
    ("이미지가 {found}를 실행합니다.", True),
    ("셀 {cell}을(를) 실행하는 중에", True),
    ("{registry}에 로그인한 기록이 없습니다.", True),
    ("{port}번 포트를 다른 프로그램이 쓰고 있습니다.", False),
    ("{seconds}초 안에 끝나지 않았습니다. {count}개, {line}번째 줄, {earned:g} / {total:g}점", False),
    ("레지스트리 주소({registry})가 필요합니다.", False),
])
def test_a_particle_after_a_value_is_reported_in_messages(ko, bad):
    assert bool(violations([_cell_text(ko, kind="message")], GLOSSARY)) is bad


def test_first_use_needs_the_english_once_per_notebook():
    good = ["# 1. 레지스트리\n\n**컨테이너 레지스트리**(Container registry)에 이미지를 둡니다.",
            "| 레지스트리 | ECR |\n|---|---|\n\n레지스트리(Registry)는 ... 다시 말해 레지스트리입니다. **인증 토큰**(Authorization token)을"]
    assert first_use_problems("nb", good, GLOSSARY) == []
    bad = ["레지스트리에 로그인합니다. 나중에 레지스트리(Registry)라고 씁니다."]
    assert any("first use of 레지스트리" in p for p in first_use_problems("nb", bad, GLOSSARY))
    # a heading or a table row is a label; the first sentence must still say it
    only_labels = ["## 인증 토큰 받기\n\n| 인증 토큰 | 12시간 |\n|---|---|\n\n인증 토큰을 받습니다."]
    assert any("인증 토큰" in p for p in first_use_problems("nb", only_labels, GLOSSARY))


def test_a_pictures_alt_text_does_not_introduce_a_term():
    cells = ["![레지스트리(Registry)와 이미지](img/x.svg)\n\n레지스트리에 이미지를 올립니다."]
    assert any("first use of 레지스트리" in p for p in first_use_problems("nb", cells, GLOSSARY))


def test_every_korean_text_is_read():
    texts = korean_texts()
    kinds = {t.kind for t in texts}
    assert {"cell", "comment", "message"} <= kinds, kinds
    assert {t.where.split()[0] for t in texts if t.kind == "message"} == {f"{f}/ko.json" for f in MESSAGE_FILES}
    assert any(t.where.startswith(INDEX_SOURCE) for t in texts), "the landing page was not read"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write_table()
        print(f"wrote the table of {GLOSSARY_MD.relative_to(REPO)}")
    else:
        sys.exit("usage: python tests/test_glossary.py --write   (rewrites the table in docs/glossary.ko.md)")
