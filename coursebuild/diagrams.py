"""Box diagrams drawn as SVG at build time, from one source per diagram, in each notebook's language.

    src/diagrams/X.yaml  ->  <folder of every notebook showing it>/img/X.svg   (en and ko)

A diagram is a small declarative layout (format: coursebuild/README.md, "Diagrams"); a lesson
shows it with `![alt text](img/X.svg)` in its `::: en` and `::: ko` blocks. Box characters in a
fenced block cannot line up in a browser (Hangul is not two columns wide in its monospace font),
so the build measures text instead: Hangul/CJK 1.0 em, everything else 0.6 em (bold 10% more),
which overestimates the browser's sans-serif and makes every box fit its label in both languages.

Pure Python, no fonts embedded, no external tools; the same source gives the same bytes.
`layout()` places the shapes (the tests check them), `render()` writes them as SVG.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import yaml

from coursebuild.errors import SourceError
from coursebuild.source import EN, KO, LANGUAGES, Markdown, Source

DIAGRAM_DIR = "src/diagrams"
IMAGE_DIR = "img"  # next to the notebooks that show the diagram
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# ![alt](img/X.svg) in a markdown block; anything else under img/ is an error, not a broken image
REFERENCE_RE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<target>(?:\./)?img/[^)\s]*)[^)]*\)")
TARGET_RE = re.compile(r"^(?:\./)?img/(?P<name>[a-z0-9][a-z0-9_-]*)\.svg$")
# Opens the comment on the second line of every SVG the build writes: how compare() tells its own
# files from hand-made ones.
MARKER = "<!-- Built by coursebuild from "

# Sizes in px. Text sizes: box labels, group headings (bold), side notes, names in monospace.
LABEL_SIZE, HEADING_SIZE, NOTE_SIZE, CODE_SIZE = 14, 15, 13, 15
MARGIN = 12  # around the picture
PAD = 14  # text to box edge, each side
BOX_H = 34  # one box (one layer of a stacked box)
MIN_BOX_W = 72
GAP = 10  # between the boxes of a row and between the items of a group
GROUP_PAD = 12  # group frame to its items
HEAD_H = 34  # a group's heading band
ITEM_GAP = 18  # between top-level items
NOTE_GAP = 6  # row -> arrow -> note text
NOTE_ARROW = 28
LABEL_GAP = 10  # least space between two labels of a name

FONTS = {EN: "sans-serif", KO: "'Noto Sans CJK KR', sans-serif"}
STYLE = ("text{{font-family:{font};font-size:%dpx;fill:#1f2933}}"
         ".h{{font-size:%dpx;font-weight:bold}}.n{{font-size:%dpx;fill:#3e4c59}}"
         ".c{{font-family:monospace;font-size:%dpx}}"
         ".g{{fill:#eef2f7;stroke:#52606d;stroke-width:1.5}}.b{{fill:#fff;stroke:#52606d;stroke-width:1.2}}"
         ".l{{fill:none;stroke:#52606d;stroke-width:1.2}}.t{{fill:#52606d}}"
         % (LABEL_SIZE, HEADING_SIZE, NOTE_SIZE, CODE_SIZE))


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Estimated width in px: wide (Hangul, CJK) characters 1.0 em, others 0.6 em, bold +10%."""
    ems = sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6 for ch in text)
    return ems * size * (1.1 if bold else 1.0)


# -- the source ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Label:
    en: str
    ko: str

    def text(self, lang: str) -> str:
        return self.en if lang == EN else self.ko


@dataclass
class Box:  # `box: LABEL`: one box as wide as its container
    label: Label


@dataclass
class Row:  # `row: [CELL, ...]`: boxes side by side, equally wide; a cell is a stack of layers
    cells: list[list[Label]]
    note: Label | None = None


@dataclass
class Group:  # `group: LABEL` + `items:`: a frame with a heading around its items
    heading: Label
    items: list


@dataclass
class Part:
    text: str
    label: Label | None = None
    note: Label | None = None


@dataclass
class Name:  # `name: [PART, ...]`: a name in monospace, labelled parts bracketed underneath
    parts: list[Part]


@dataclass
class Diagram:
    name: str
    path: str  # src/diagrams/X.yaml
    title: Label
    items: list

    def labels(self, lang: str) -> list[str]:
        """Every text the picture shows in `lang` (what the tests look for in the SVG)."""
        found: list[str] = []

        def walk(items):
            for item in items:
                if isinstance(item, Box):
                    found.append(item.label.text(lang))
                elif isinstance(item, Row):
                    found.extend(layer.text(lang) for cell in item.cells for layer in cell)
                    if item.note:
                        found.append(item.note.text(lang))
                elif isinstance(item, Group):
                    found.append(item.heading.text(lang))
                    walk(item.items)
                else:
                    for part in item.parts:
                        found.append(part.text)
                        found.extend(x.text(lang) for x in (part.label, part.note) if x)
        walk(self.items)
        return found


def load(path: str, text: str) -> Diagram:
    """Read a diagram source. Raises SourceError (path:line: message) on anything it can't draw."""
    return _Reader(path).diagram(text)


class _Reader:
    KINDS = {"box": (), "row": ("note",), "group": ("items",), "name": ()}

    def __init__(self, path: str):
        self.path = path

    def error(self, node, message: str) -> SourceError:
        return SourceError(self.path, node.start_mark.line + 1 if node is not None else 1, message)

    def diagram(self, text: str) -> Diagram:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise SourceError(self.path, mark.line + 1 if mark else 1, f"not valid YAML: {e}") from None
        keys = self.mapping(root, "the diagram", required=("title", "items"), optional=())
        name = self.path.rsplit("/", 1)[-1].removesuffix(".yaml")
        if not NAME_RE.match(name):
            raise self.error(None, f"diagram name {name!r}: lowercase letters, digits, '-' or '_'")
        return Diagram(name, self.path, self.label(keys["title"]), self.items(keys["items"]))

    def mapping(self, node, what: str, required: tuple, optional: tuple) -> dict:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping (key: value lines)")
        found = {}
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else None
            if k not in required + optional:
                raise self.error(key, f"unknown key {k!r} in {what} (known: {', '.join(required + optional)})")
            if k in found:
                raise self.error(key, f"{k!r} given twice")
            found[k] = value
        missing = [k for k in required if k not in found]
        if missing:
            raise self.error(node, f"{what} needs {', '.join(missing)}")
        return found

    def sequence(self, node, what: str) -> list:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.error(node, f"{what} must be a non-empty list")
        return node.value

    def scalar(self, node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            raise self.error(node, f"{what} must be a non-empty text")
        return str(node.value).strip()

    def label(self, node) -> Label:
        """A text: `App A` (the same in both languages) or `{en: ..., ko: ...}`."""
        if isinstance(node, yaml.ScalarNode):
            text = self.scalar(node, "a label")
            return Label(text, text)
        keys = self.mapping(node, "a label", required=LANGUAGES, optional=())
        return Label(*(self.scalar(keys[lang], f"the {lang!r} text") for lang in LANGUAGES))

    def items(self, node) -> list:
        return [self.item(n) for n in self.sequence(node, "items")]

    def item(self, node):
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"an item is a mapping with one of {', '.join(self.KINDS)}")
        kinds = [k.value for k, _ in node.value if k.value in self.KINDS]
        if len(kinds) != 1:
            raise self.error(node, f"an item has exactly one of {', '.join(self.KINDS)}")
        kind = kinds[0]
        keys = self.mapping(node, f"a {kind!r} item", required=(kind, *(("items",) if kind == "group" else ())),
                            optional=tuple(k for k in self.KINDS[kind] if k != "items"))
        if kind == "box":
            return Box(self.label(keys["box"]))
        if kind == "group":
            return Group(self.label(keys["group"]), self.items(keys["items"]))
        if kind == "row":
            cells = [[self.label(layer) for layer in self.sequence(cell, "a stacked box")]
                     if isinstance(cell, yaml.SequenceNode) else [self.label(cell)]
                     for cell in self.sequence(keys["row"], "a row")]
            return Row(cells, self.label(keys["note"]) if "note" in keys else None)
        return Name([self.part(n) for n in self.sequence(keys["name"], "a name")])

    def part(self, node) -> Part:
        if isinstance(node, yaml.ScalarNode):
            return Part(self.scalar(node, "a part of a name"))
        keys = self.mapping(node, "a part of a name", required=("text",), optional=("label", "note"))
        if "note" in keys and "label" not in keys:
            raise self.error(node, "a part's note goes under its label: give the part a label")
        return Part(self.scalar(keys["text"], "a part's text"),
                    *(self.label(keys[k]) if k in keys else None for k in ("label", "note")))


# -- layout ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    kind: str  # "group" frame, "box", or "layer" (one layer of a stacked box)

    @property
    def right(self) -> float:
        return self.x + self.w


@dataclass(frozen=True)
class Text:
    x: float  # the centre (anchor "middle") or the left end (anchor "start")
    y: float  # baseline
    text: str
    kind: str  # "heading", "label", "note", "code"
    box: Rect | None = None  # the box it must fit in, if any
    anchor: str = "middle"

    @property
    def size(self) -> int:
        return {"heading": HEADING_SIZE, "note": NOTE_SIZE, "code": CODE_SIZE}.get(self.kind, LABEL_SIZE)

    @property
    def width(self) -> float:
        return text_width(self.text, self.size, bold=self.kind == "heading")

    @property
    def left(self) -> float:
        return self.x if self.anchor == "start" else self.x - self.width / 2

    @property
    def right(self) -> float:
        return self.left + self.width


@dataclass
class Layout:
    width: float = 0
    height: float = 0
    rects: list[Rect] = field(default_factory=list)
    paths: list[tuple[str, str]] = field(default_factory=list)  # (d, css class)
    texts: list[Text] = field(default_factory=list)
    rows: list[list[Rect]] = field(default_factory=list)  # the boxes of each row, for the overlap test


def _baseline(top: float, height: float, size: float) -> float:
    return top + height / 2 + size * 0.35  # sans-serif: centres mixed-case and Hangul text


class _Placer:
    """Places items in a Layout. `width(item)` is what the item needs; `place()` draws it at
    (x, y), stretching boxes and groups to `w`, and returns its height and the width it used."""

    def __init__(self, lang: str):
        self.lang = lang
        self.out = Layout()

    def t(self, label: Label) -> str:
        return label.text(self.lang)

    def width(self, item) -> float:
        if isinstance(item, Box):
            return max(MIN_BOX_W, text_width(self.t(item.label), LABEL_SIZE) + 2 * PAD)
        if isinstance(item, Row):
            n = len(item.cells)
            w = n * self.cell_width(item) + (n - 1) * GAP
            if item.note:
                w += 2 * NOTE_GAP + NOTE_ARROW + text_width(self.t(item.note), NOTE_SIZE)
            return w
        if isinstance(item, Group):
            inner = max(self.width(i) for i in item.items)
            return max(inner + 2 * GROUP_PAD, text_width(self.t(item.heading), HEADING_SIZE, bold=True) + 2 * PAD)
        return _Placer(self.lang).place(item, 0, 0, 0)[1]

    def cell_width(self, row: Row) -> float:
        widest = max(text_width(self.t(layer), LABEL_SIZE) for cell in row.cells for layer in cell)
        return max(MIN_BOX_W, widest + 2 * PAD)

    def place(self, item, x: float, y: float, w: float) -> tuple[float, float]:
        """Draw `item` at (x, y); returns (height, width used)."""
        out = self.out
        if isinstance(item, Box):
            rect = Rect(x, y, w, BOX_H, "box")
            out.rects.append(rect)
            out.rows.append([rect])
            out.texts.append(Text(x + w / 2, _baseline(y, BOX_H, LABEL_SIZE), self.t(item.label), "label", rect))
            return BOX_H, w
        if isinstance(item, Row):
            return self.place_row(item, x, y)
        if isinstance(item, Group):
            first = len(out.rects)  # the frame goes under its items: inserted here once its height is known
            cursor = y + HEAD_H
            for child in item.items:
                cursor += self.place(child, x + GROUP_PAD, cursor, w - 2 * GROUP_PAD)[0] + GAP
            height = cursor - GAP + GROUP_PAD - y
            frame = Rect(x, y, w, height, "group")
            out.rects.insert(first, frame)
            out.texts.append(Text(x + w / 2, _baseline(y, HEAD_H, HEADING_SIZE), self.t(item.heading), "heading",
                                  frame))
            return height, w
        return self.place_name(item, x, y)

    def place_row(self, row: Row, x: float, y: float) -> tuple[float, float]:
        out = self.out
        cw = self.cell_width(row)
        height = max(len(cell) for cell in row.cells) * BOX_H
        boxes = []
        for i, cell in enumerate(row.cells):
            cx = x + i * (cw + GAP)
            box = Rect(cx, y, cw, height, "box")
            out.rects.append(box)
            boxes.append(box)
            lh = height / len(cell)
            for j, layer in enumerate(cell):
                part = Rect(cx, y + j * lh, cw, lh, "layer")
                if j:
                    out.paths.append((f"M{_n(cx)} {_n(part.y)}H{_n(cx + cw)}", "l"))
                out.texts.append(Text(cx + cw / 2, _baseline(part.y, lh, LABEL_SIZE), self.t(layer), "label", part))
        out.rows.append(boxes)
        right = boxes[-1].right
        if row.note:
            mid = y + height / 2
            tip, tail = right + NOTE_GAP, right + NOTE_GAP + NOTE_ARROW
            out.paths.append((f"M{_n(tail)} {_n(mid)}H{_n(tip + 6)}", "l"))
            out.paths.append((f"M{_n(tip)} {_n(mid)}l7 -4v8z", "t"))
            note = Text(tail + NOTE_GAP, _baseline(y, height, NOTE_SIZE), self.t(row.note), "note", anchor="start")
            out.texts.append(note)
            right = note.right
        return height, right - x

    def place_name(self, name: Name, x: float, y: float) -> tuple[float, float]:
        out = self.out
        code_base = y + CODE_SIZE * 0.8
        bracket = y + CODE_SIZE + 5  # top of the brackets
        label_base = bracket + 14 + LABEL_SIZE * 0.8
        note_base = label_base + NOTE_SIZE + 6
        cursor = x
        right = x
        placed_label = placed_note = x - LABEL_GAP  # right end of the last label / note placed so far
        has_note = False
        for part in name.parts:
            w = text_width(part.text, CODE_SIZE)
            out.texts.append(Text(cursor, code_base, part.text, "code", anchor="start"))
            if part.label:
                mid = cursor + w / 2
                out.paths.append((f"M{_n(cursor + 1)} {_n(bracket)}v6H{_n(cursor + w - 1)}v-6", "l"))
                label = self.name_label(self.t(part.label), "label", mid, placed_label, label_base)
                out.paths.append((f"M{_n(mid)} {_n(bracket + 6)}L{_n(label.x)} {_n(bracket + 12)}", "l"))
                placed_label = label.right
                right = max(right, label.right)
                if part.note:
                    has_note = True
                    note = self.name_label(self.t(part.note), "note", label.x, placed_note, note_base)
                    placed_note = note.right
                    right = max(right, note.right)
            cursor += w
        right = max(right, cursor)
        bottom = (note_base if has_note else label_base) + 5
        return bottom - y, right - x

    def name_label(self, text: str, kind: str, centre: float, after: float, baseline: float) -> Text:
        """A label centred under its part, moved right if it would overlap the label before it
        (`after`: that label's right end; the name's left edge minus LABEL_GAP for the first)."""
        half = text_width(text, NOTE_SIZE if kind == "note" else LABEL_SIZE) / 2
        label = Text(max(centre, after + LABEL_GAP + half), baseline, text, kind)
        self.out.texts.append(label)
        return label


def layout(diagram: Diagram, lang: str) -> Layout:
    """Every shape of `diagram` in `lang`, placed; stretchable items share the widest width."""
    placer = _Placer(lang)
    widths = [placer.width(item) for item in diagram.items]
    inner = max(widths)
    y = MARGIN
    right = MARGIN + inner
    for item, w in zip(diagram.items, widths):
        stretch = isinstance(item, (Box, Group))
        height, used = placer.place(item, MARGIN, y, inner if stretch else w)
        right = max(right, MARGIN + used)
        y += height + ITEM_GAP
    out = placer.out
    out.width = float(int(right + MARGIN + 0.999))
    out.height = float(int(y - ITEM_GAP + MARGIN + 0.999))
    return out


# -- SVG -------------------------------------------------------------------------------------

def _n(v: float) -> str:
    """A coordinate as SVG text: one decimal at most, so the bytes never depend on float noise."""
    s = f"{round(v, 1):.1f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def render(diagram: Diagram, lang: str) -> bytes:
    """The diagram as an SVG document in `lang`: deterministic bytes, UTF-8, final newline."""
    out = layout(diagram, lang)
    title = diagram.title.text(lang)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"{MARKER}{diagram.path}: edit that file, then run `make build`. -->",
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(out.width)}" height="{_n(out.height)}" '
        f'viewBox="0 0 {_n(out.width)} {_n(out.height)}" role="img" aria-labelledby="title" xml:lang="{lang}">',
        f'<title id="title">{escape(title)}</title>',
        f"<style>{STYLE.format(font=FONTS[lang])}</style>",
        f'<rect width="{_n(out.width)}" height="{_n(out.height)}" fill="#fff"/>',
    ]
    for r in out.rects:
        if r.kind != "layer":
            css = "g" if r.kind == "group" else "b"
            lines.append(f'<rect class="{css}" x="{_n(r.x)}" y="{_n(r.y)}" width="{_n(r.w)}" '
                         f'height="{_n(r.h)}" rx="4"/>')
    lines += [f'<path class="{css}" d="{d}"/>' for d, css in out.paths]
    for t in out.texts:
        css = {"heading": ' class="h"', "note": ' class="n"', "code": ' class="c"'}.get(t.kind, "")
        if t.kind == "code":  # exactly the estimated width, so the brackets underneath line up
            extra = f' textLength="{_n(t.width)}" lengthAdjust="spacing"'
        else:
            extra = "" if t.anchor == "start" else ' text-anchor="middle"'
        lines.append(f'<text{css} x="{_n(t.x)}" y="{_n(t.y)}"{extra}>{escape(t.text)}</text>')
    lines.append("</svg>")
    return ("\n".join(lines) + "\n").encode("utf-8")


# -- the build -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    """`![alt](img/X.svg)` in a markdown block of a source."""
    path: str
    line: int
    lang: str
    alt: str
    target: str

    @property
    def name(self) -> str | None:
        m = TARGET_RE.match(self.target)
        return m["name"] if m else None


def references(source: Source, text: str) -> list[Reference]:
    """Every image under img/ in the markdown blocks of `source` (`text` is its file, for lines)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found = []
    for cell in source.cells:
        if not isinstance(cell, Markdown):
            continue
        for lang, fence, end in ((EN, cell.line, cell.ko_line), (KO, cell.ko_line, cell.ko_end)):
            for index in range(fence, end - 1):  # the lines between the block's fences
                for m in REFERENCE_RE.finditer(lines[index]):
                    found.append(Reference(source.path, index + 1, lang, m["alt"].strip(), m["target"]))
    return found


def load_all(root: Path) -> tuple[dict[str, Diagram], list[SourceError]]:
    diagrams, errors = {}, []
    for path in sorted((root / DIAGRAM_DIR).glob("*.yaml")):
        rel = f"{DIAGRAM_DIR}/{path.name}"
        try:
            diagram = load(rel, path.read_text(encoding="utf-8"))
        except SourceError as e:
            errors.append(e)
            diagrams[path.stem] = None  # exists, but broken: references to it are not errors too
            continue
        diagrams[diagram.name] = diagram
    return diagrams, errors


def build_images(root: Path, shown_in: list[tuple[Source, dict[str, list[str]]]],
                 index: Source | None = None) -> tuple[dict[str, bytes], list[SourceError]]:
    """The SVG of every diagram the sources show, next to each notebook showing it.

    `shown_in` pairs each source with the output folders of its notebooks per language, e.g.
    `{"en": ["course/en"], "ko": ["course/ko"]}`. A reference to a diagram without a source, a
    diagram no notebook shows and an image without alt text are errors (file:line)."""
    diagrams, errors = load_all(root)
    wanted: dict[str, set[tuple[str, str]]] = {}  # diagram -> {(lang, folder)}
    for source, folders in shown_in + ([(index, {})] if index else []):
        for ref in references(source, (root / source.path).read_text(encoding="utf-8")):
            problem = _problem(ref, diagrams, on_landing_page=source is index)
            if problem:
                errors.append(SourceError(ref.path, ref.line, f"{ref.target}: {problem}"))
            else:
                wanted.setdefault(ref.name, set()).update((ref.lang, f) for f in folders.get(ref.lang, []))
    for name, diagram in diagrams.items():
        if diagram is not None and name not in wanted:
            errors.append(SourceError(diagram.path, 1, f"no lesson or lab shows this diagram: add "
                                                       f"![alt text](img/{name}.svg) to a block, or delete it"))
    if errors:
        return {}, errors
    images: dict[str, bytes] = {}
    rendered: dict[tuple[str, str], bytes] = {}
    for name in sorted(wanted):
        for lang, folder in sorted(wanted[name]):
            if (name, lang) not in rendered:
                rendered[(name, lang)] = render(diagrams[name], lang)
            images[f"{folder}/{IMAGE_DIR}/{name}.svg"] = rendered[(name, lang)]
    return images, []


def _problem(ref: Reference, diagrams: dict, on_landing_page: bool) -> str | None:
    """What is wrong with an image reference, or None."""
    if on_landing_page:
        return "the landing page shows both languages at once; put diagrams in a lesson or a lab"
    if ref.name is None:
        return f"images under img/ are diagrams built from {DIAGRAM_DIR}/NAME.yaml, shown as img/NAME.svg"
    if ref.name not in diagrams:
        return f"no diagram source {DIAGRAM_DIR}/{ref.name}.yaml"
    if not ref.alt:
        return "give the image an alt text in the block's language, ![what it shows](...)"
    return None


def built_by_us(path: Path) -> bool:
    """Does this SVG carry the build's marker (so it may be removed when no longer built)?"""
    try:
        with path.open("rb") as f:
            return MARKER.encode() in f.read(200)
    except OSError:
        return False
