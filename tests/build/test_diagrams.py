"""Box diagrams (src/diagrams/*.yaml) are built as SVG in each notebook's language: every label is
there, fits its box by the width estimate, boxes of a row do not overlap, the notebooks show only
diagrams that exist, and a reference to a missing diagram fails the build with file:line.

How they look in a browser was checked by eye in headless Chromium (coursebuild/README.md,
"Diagrams"); these tests hold the geometry that look depends on."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .helpers import REPO
from coursebuild import build, compare, sync
from coursebuild.diagrams import (DIAGRAM_DIR, Box, Group, Row, load, layout, render, text_width)
from coursebuild.errors import SourceError

SVG = "{http://www.w3.org/2000/svg}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
HANGUL_RE = re.compile(r"[\uac00-\ud7a3]")
SOURCES = sorted((REPO / DIAGRAM_DIR).glob("*.yaml"))
LANGS = ("en", "ko")


def _diagram(path: Path):
    return load(f"{DIAGRAM_DIR}/{path.name}", path.read_text(encoding="utf-8"))


def _texts(svg: bytes) -> list[str]:
    return [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]


def test_the_lessons_have_diagrams():
    assert {p.stem for p in SOURCES} >= {"vm_vs_container", "ecr_image_name"}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_diagram_renders_as_svg_in_its_language(path, lang):
    diagram = _diagram(path)
    svg = render(diagram, lang)
    assert svg == render(diagram, lang)  # deterministic bytes
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get(XML_LANG) == lang
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == diagram.title.text(lang)
    assert root.get("aria-labelledby") == title.get("id")
    style = root.find(f"{SVG}style").text
    font = re.search(r"text\{font-family:([^;]*);", style)[1]
    assert font == ("'Noto Sans CJK KR', sans-serif" if lang == "ko" else "sans-serif")
    assert b"@font-face" not in svg and b"<image" not in svg  # no embedded fonts or pictures


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_every_label_is_in_the_svg_of_its_language(path, lang):
    diagram = _diagram(path)
    texts = _texts(render(diagram, lang))
    labels = diagram.labels(lang)
    assert labels and sorted(texts) == sorted(labels)
    if lang == "ko":  # labelled in Korean where the diagram translates, not the English copy
        korean = [t for t in labels if HANGUL_RE.search(t)]
        assert korean and not set(korean) & set(diagram.labels("en"))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_labels_fit_their_boxes_and_the_picture(path, lang):
    out = layout(_diagram(path), lang)
    for t in out.texts:
        assert 0 < t.left and t.right < out.width, f"{t.text!r} leaves the picture"
        if t.box is not None:
            assert t.box.x + 4 <= t.left and t.right <= t.box.right - 4, f"{t.text!r} overflows its box"
            assert t.box.y < t.y < t.box.y + t.box.h, f"{t.text!r} is not inside its box vertically"
    for r in out.rects:
        assert 0 < r.x and r.right < out.width and 0 < r.y and r.y + r.h < out.height


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_nothing_overlaps_in_a_row(path, lang):
    out = layout(_diagram(path), lang)
    for row in out.rows:
        for left, right in zip(row, row[1:]):
            assert left.right < right.x, f"boxes at x={left.x} and x={right.x} overlap"
    notes = [t for t in out.texts if t.kind == "note" and t.box is None]
    for note in notes:  # a side note starts right of the boxes it points at
        for r in out.rects:
            if r.kind == "box" and r.y < note.y < r.y + r.h:
                assert note.left > r.right, f"{note.text!r} overlaps a box"
    _labels_under_a_name_do_not_overlap(out)


def _labels_under_a_name_do_not_overlap(out):
    free = [t for t in out.texts if t.box is None and t.kind != "code"]
    for a in free:
        for b in free:
            if a is not b and a.y == b.y:
                assert a.right < b.left or b.right < a.left, f"{a.text!r} overlaps {b.text!r}"


@pytest.mark.parametrize("lang", LANGS)
def test_labels_of_short_parts_move_apart_instead_of_overlapping(lang):
    diagram = load("src/diagrams/x.yaml", """title: T
items:
  - name:
    - {text: a, label: {en: a long label, ko: 아주 긴 이름표}, note: {en: and a note, ko: 설명}}
    - {text: b, label: {en: another long one, ko: 또 다른 긴 이름표}, note: {en: note two, ko: 둘째}}
""")
    out = layout(diagram, lang)
    _labels_under_a_name_do_not_overlap(out)
    assert all(0 < t.left and t.right < out.width for t in out.texts)


def test_width_estimate_counts_hangul_as_one_em_and_latin_as_point_six():
    assert text_width("가상 머신", 10) == pytest.approx(4 * 10 + 6)
    assert text_width("Host OS", 10) == pytest.approx(7 * 6)
    assert text_width("OS", 10, bold=True) == pytest.approx(2 * 6 * 1.1)


def test_a_korean_label_widens_its_box_so_both_languages_fit():
    diagram = load("src/diagrams/x.yaml", "title: T\nitems:\n  - row: [{en: OS, ko: 운영체제 하나}, Libs]\n")
    en, ko = (layout(diagram, lang) for lang in LANGS)
    assert ko.rows[0][0].w > en.rows[0][0].w
    assert ko.rows[0][0].w == ko.rows[0][1].w  # the boxes of a row are equally wide


def test_the_notebooks_show_only_diagrams_that_are_built_beside_them(repo_build):
    shown = set()
    for rel, data in repo_build.outputs.items():
        folder = rel.rsplit("/", 1)[0]
        for cell in json.loads(data)["cells"]:
            if cell["cell_type"] == "markdown":
                for target in re.findall(r"!\[[^\]]+\]\(([^)\s]+)", "".join(cell["source"])):
                    image = f"{folder}/{target}"
                    assert image in repo_build.images, f"{rel} shows {target}, which the build does not make"
                    shown.add(image)
    assert shown == set(repo_build.images)  # and nothing is built that no notebook shows
    assert {f"course/{lang}/img/{p.stem}.svg" for p in SOURCES for lang in LANGS} <= shown


def test_the_committed_svgs_are_current(repo_build):
    for rel, data in repo_build.images.items():
        assert (REPO / rel).read_bytes() == data, f"{rel} is out of date: run `make build`"


def test_the_lessons_have_no_box_drawings_left():
    for path in sorted((REPO / "src" / "lessons").glob("*.md")):
        for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            assert not set(line) & set("┌┐└┘├┤"), f"{path.name}:{n}: a box drawing; make it a diagram"


# -- the build: references, errors, orphans ------------------------------------------------

DIAGRAM = "title: {en: Two layers, ko: 두 층}\nitems:\n  - box: {en: App, ko: 앱}\n  - box: Host OS\n"
LESSON = """::: en
Look:

![two layers]({target})
:::

::: ko
보세요:

![두 층]({target})
:::
"""


def _tree(root: Path, target: str = "img/layers.svg", diagram: str | None = DIAGRAM) -> Path:
    (root / "src" / "lessons").mkdir(parents=True)
    (root / "course").mkdir()
    (root / "src" / "lessons" / "x.md").write_text(LESSON.format(target=target), encoding="utf-8")
    if diagram is not None:
        (root / DIAGRAM_DIR).mkdir(parents=True)
        (root / DIAGRAM_DIR / "layers.yaml").write_text(diagram, encoding="utf-8")
    return root


def _error(root: Path) -> SourceError:
    result = build(root)
    assert not result.ok and result.outputs == {} and result.images == {}
    return result.errors[0]


def test_a_diagram_is_built_beside_each_notebook_in_its_language(tmp_path):
    result = build(_tree(tmp_path))
    assert result.ok, result.errors
    assert sorted(result.images) == ["course/en/img/layers.svg", "course/ko/img/layers.svg"]
    assert "앱" in _texts(result.images["course/ko/img/layers.svg"])
    assert "App" in _texts(result.images["course/en/img/layers.svg"])
    changes = sync(tmp_path, result)
    assert "course/ko/img/layers.svg" in changes.written
    assert compare(tmp_path, result).up_to_date


def test_a_reference_to_a_diagram_without_source_fails_with_file_and_line(tmp_path):
    error = _error(_tree(tmp_path, target="img/layerz.svg"))
    assert (error.path, error.line) == ("src/lessons/x.md", 4)
    assert "img/layerz.svg: no diagram source src/diagrams/layerz.yaml" in error.message


@pytest.mark.parametrize("target, message", [
    ("img/photo.png", "images under img/ are diagrams"),
])
def test_other_images_under_img_fail(tmp_path, target, message):
    assert message in _error(_tree(tmp_path, target=target)).message


def test_an_image_without_alt_text_fails(tmp_path):
    root = _tree(tmp_path)
    lesson = root / "src" / "lessons" / "x.md"
    lesson.write_text(lesson.read_text(encoding="utf-8").replace("![두 층]", "![ ]"), encoding="utf-8")
    error = _error(root)
    assert error.line == 10 and "alt text" in error.message


def test_a_diagram_no_notebook_shows_fails(tmp_path):
    root = _tree(tmp_path, target="other.ipynb")
    error = _error(root)
    assert error.path == "src/diagrams/layers.yaml" and "no lesson or lab shows this diagram" in error.message


@pytest.mark.parametrize("diagram, line, message", [
    ("title: T\nitems:\n  - box: A\n    colour: red\n", 4, "unknown key 'colour'"),
    ("title: T\nitems:\n  - boxx: A\n", 3, "exactly one of box, row, group, name"),
    ("title: T\nitems:\n  - box: {en: A}\n", 3, "a label needs ko"),
    ("title: T\nitems:\n  - row: []\n", 3, "a row must be a non-empty list"),
    ("items:\n  - box: A\n", 1, "the diagram needs title"),
    ("title: T\nitems: [\n", 3, "not valid YAML"),
])
def test_a_diagram_source_the_build_cannot_draw_fails_with_its_line(tmp_path, diagram, line, message):
    error = _error(_tree(tmp_path, diagram=diagram))
    assert error.path == "src/diagrams/layers.yaml" and error.line == line and message in error.message


def test_an_svg_no_longer_built_is_removed_and_a_handmade_one_reported(tmp_path):
    root = _tree(tmp_path)
    result = build(root)
    sync(root, result)
    stale = root / "course/en/img/old.svg"
    stale.write_bytes(result.images["course/en/img/layers.svg"])  # built by us once
    handmade = root / "course/ko/img/drawing.svg"
    handmade.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    changes = compare(root, result)
    assert changes.removed == ["course/en/img/old.svg"] and changes.foreign == ["course/ko/img/drawing.svg"]
    sync(root, result)
    assert not stale.exists() and handmade.exists()


def test_the_lesson_diagrams_keep_the_original_layers():
    """The facts of the box drawings they replace: each stack's layers, top to bottom."""
    vm = _diagram(REPO / DIAGRAM_DIR / "vm_vs_container.yaml")
    stacks = {}
    for group in vm.items:
        assert isinstance(group, Group)
        row, *boxes = group.items
        assert isinstance(row, Row) and all(isinstance(b, Box) for b in boxes)
        stacks[group.heading.en] = ([[layer.en for layer in cell] for cell in row.cells], row.note.en,
                                    [b.label.en for b in boxes])
    assert stacks == {
        "Virtual Machine (VM)": ([["App A", "Guest OS"], ["App B", "Guest OS"], ["App C", "Guest OS"]],
                                 "OS per VM", ["Hypervisor", "Host OS"]),
        "Container": ([["App A", "Libs"], ["App B", "Libs"], ["App C", "Libs"]], "Libraries only",
                      ["Container Runtime", "Host OS"]),
    }
    assert [g.heading.ko for g in vm.items] == ["가상 머신 (VM)", "컨테이너"]
    assert [g.items[0].note.ko for g in vm.items] == ["각 VM마다 OS", "라이브러리만"]
    name = _diagram(REPO / DIAGRAM_DIR / "ecr_image_name.yaml").items[0]
    assert "".join(p.text for p in name.parts) == "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/my-app:latest"
    assert [p.label.ko for p in name.parts if p.label] == ["레지스트리 호스트", "리포지토리", "태그"]  # AWS's Korean word (docs/glossary.ko.yaml)
    assert [p.label.en for p in name.parts if p.label] == ["registry host", "repo", "tag"]
