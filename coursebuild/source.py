"""Parse one bilingual source (`src/lessons/*.md`, `src/labs/*.md`) into cells.

The format is documented for maintainers in `coursebuild/README.md`. In short:

    ---                                   optional YAML front matter
    id: lab02
    nbgrader: true
    ---

    ::: en                                one English markdown cell ...
    Text.
    :::

    ::: ko sha=1a2b3c4d                   ... and its Korean twin, with the hash of the English
    본문.                                  text it translates
    :::

    ```python {id=create_repo nbgrader=solution}
    # English comment
    #|ko 한국어 주석
    code()
    ```

This module only reads; it never writes a notebook (see `notebook.py`).
"""
from __future__ import annotations

import hashlib
import importlib
import re
from dataclasses import dataclass, field

import yaml

from coursebuild.errors import SourceError

EN, KO = "en", "ko"
LANGUAGES = (EN, KO)

# Front matter keys and their types. Unknown keys fail the build (a typo must not pass silently).
FRONT_MATTER = {"id": str, "title_en": str, "title_ko": str, "nbgrader": bool,
                # the course index's row (coursebuild/index.py): place in the course, minutes, prerequisites
                "order": int, "minutes": int, "needs_en": str, "needs_ko": str}

# nbgrader cell kinds a block may carry, per cell type (as nbgrader's "Create Assignment" offers them).
NBGRADER_KINDS = {
    "code": ("solution", "tests", "readonly"),
    "markdown": ("manual", "task", "readonly"),
}
NEEDS_ID = {"solution", "tests", "manual", "task"}  # graded cells: their grade_id must be stable
NEEDS_POINTS = {"tests", "manual", "task"}
ATTRIBUTES = {"id", "nbgrader", "points", "tags", "static"}
# static=MODULE:FUNCTION on a widget's code cell: FUNCTION(lang) draws the figure stored as the
# cell's output, where no kernel runs (coursebuild/README.md, "Static figures")
STATIC_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")

ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # nbformat cell ids and nbgrader grade ids
SHA_RE = re.compile(r"^[0-9a-f]{8}$")

DIV_RE = re.compile(r"^(?P<colons>:{3,})\s*(?P<rest>.*?)\s*$")
FENCE_RE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<info>.*?)\s*$")
INNER_FENCE_RE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
ATTR_RE = re.compile(r'(?P<key>[A-Za-z_][\w-]*)=(?P<value>"[^"]*"|\[[^\]]*\]|[^\s"\[\]{}]+)')

KO_COMMENT_RE = re.compile(r"^\s*#\|ko(?P<sep>\s|$)(?P<text>.*)$")
FULL_COMMENT_RE = re.compile(r"^(?P<indent>\s*)(?P<mark>#+\s*)(?P<text>\S.*)$")
NBGRADER_REGION_RE = re.compile(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME)")


def normalise(text: str) -> str:
    """The form a block's text is hashed and built in: trailing whitespace stripped from every
    line, blank lines removed from both ends."""
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def sha8(text: str) -> str:
    """First 8 hex digits of sha256 of the normalised text: what `::: ko sha=` records."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:8]


@dataclass
class Markdown:
    line: int  # line of the `::: en` fence
    en: str
    ko: str
    ko_line: int  # line of the `::: ko` fence
    ko_end: int  # line of the ko block's closing `:::`
    recorded_sha: str | None  # what `::: ko sha=` says; None when absent
    attrs: dict = field(default_factory=dict)
    cell_type: str = "markdown"

    @property
    def current_sha(self) -> str:
        return sha8(self.en)

    @property
    def stale(self) -> bool:
        return self.recorded_sha != self.current_sha

    def text(self, lang: str) -> str:
        return self.en if lang == EN else self.ko


@dataclass
class Code:
    line: int  # line of the opening fence
    en: str
    ko: str
    attrs: dict = field(default_factory=dict)
    cell_type: str = "code"

    def text(self, lang: str) -> str:
        return self.en if lang == EN else self.ko


@dataclass
class Stale:
    """A Korean block translating an older English text."""
    path: str
    line: int  # the `::: ko` fence
    recorded: str | None
    current: str
    en_line: int

    def __str__(self) -> str:
        recorded = self.recorded or "(none)"
        return (f"{self.path}:{self.line}: stale translation: Korean block records sha={recorded}, "
                f"the English block at line {self.en_line} is now sha={self.current}")


@dataclass
class Source:
    path: str  # relative to the repository root, posix
    meta: dict
    cells: list  # Markdown | Code, in order

    @property
    def id(self) -> str:
        return self.meta["id"]

    @property
    def is_lab(self) -> bool:
        return bool(self.meta.get("nbgrader"))

    def stale(self) -> list[Stale]:
        return [Stale(self.path, c.ko_line, c.recorded_sha, c.current_sha, c.line)
                for c in self.cells if isinstance(c, Markdown) and c.stale]


def parse(text: str, path: str, default_id: str | None = None) -> Source:
    """Parse a source. Raises SourceError (path:line: message) on anything the build can't use."""
    return _Parser(text, path).parse(default_id or path.rsplit("/", 1)[-1].removesuffix(".md"))


class _Parser:
    def __init__(self, text: str, path: str):
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.lines = text.split("\n")
        self.path = path
        self.i = 0  # index of the next line to read

    # -- helpers ---------------------------------------------------------------------------
    def error(self, line: int, message: str) -> SourceError:
        return SourceError(self.path, line, message)

    @property
    def lineno(self) -> int:
        return self.i + 1

    # -- top level -------------------------------------------------------------------------
    def parse(self, default_id: str) -> Source:
        meta = self.front_matter()
        meta.setdefault("id", default_id)
        if not ID_RE.match(str(meta["id"])):
            raise self.error(1, f"front matter id {meta['id']!r} must be letters, digits, '-' or '_'")
        items: list = []
        pending_en: tuple | None = None  # (line, body, attrs) of an `::: en` block awaiting its twin
        while self.i < len(self.lines):
            line = self.lines[self.i]
            start = self.lineno
            if not line.strip():
                self.i += 1
                continue
            if line.lstrip().startswith("<!--"):
                self.html_comment()
                continue
            div = DIV_RE.match(line)
            if div:
                tag, rest = self.div_header(div, start)
                body, end = self.div_body(tag, start)
                if tag == EN:
                    if pending_en:
                        raise self.missing_twin(pending_en[0])
                    attrs = self.attributes(rest, start, where="'::: en'")
                    if not normalise(body):
                        raise self.error(start, "empty '::: en' block")
                    pending_en = (start, body, attrs)
                else:  # ko
                    if not pending_en:
                        raise self.error(start, "'::: ko' block without an English '::: en' block before it")
                    sha = self.ko_sha(rest, start)
                    if not normalise(body):
                        raise self.error(start, "empty '::: ko' block")
                    en_line, en_body, attrs = pending_en
                    items.append(Markdown(line=en_line, en=normalise(en_body), ko=normalise(body),
                                          ko_line=start, ko_end=end, recorded_sha=sha, attrs=attrs))
                    pending_en = None
                continue
            fence = FENCE_RE.match(line)
            if fence:
                if pending_en:
                    raise self.missing_twin(pending_en[0])
                items.append(self.code_block(fence, start))
                continue
            if pending_en:
                raise self.missing_twin(pending_en[0])
            raise self.error(start, "text outside a block: prose goes in a '::: en' block followed by "
                                    "its '::: ko sha=...' twin, code in a ```python block")
        if pending_en:
            raise self.missing_twin(pending_en[0])
        self.check_cells(items, meta)
        return Source(path=self.path, meta=meta, cells=items)

    def missing_twin(self, en_line: int) -> SourceError:
        return self.error(en_line, "missing Korean twin: this '::: en' block must be followed by its "
                                   "translation in a '::: ko' block (then `python -m coursebuild "
                                   "--stamp FILE:LINE` records which English text it translates)")

    def front_matter(self) -> dict:
        if not self.lines or self.lines[0].strip() != "---":
            return {}
        for j in range(1, len(self.lines)):
            if self.lines[j].strip() == "---":
                break
        else:
            raise self.error(1, "front matter opened with '---' is never closed")
        try:
            meta = yaml.safe_load("\n".join(self.lines[1:j])) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise self.error(2 + (mark.line if mark else 0), f"front matter is not valid YAML: {e}") from None
        if not isinstance(meta, dict):
            raise self.error(2, "front matter must be a YAML mapping (key: value lines)")
        for key, value in meta.items():
            if key not in FRONT_MATTER:
                raise self.error(1, f"unknown front matter key {key!r} (known: {', '.join(FRONT_MATTER)})")
            if not isinstance(value, FRONT_MATTER[key]) or (FRONT_MATTER[key] is int and isinstance(value, bool)):
                raise self.error(1, f"front matter {key!r} must be a {FRONT_MATTER[key].__name__}")
        self.i = j + 1
        return meta

    def html_comment(self) -> None:
        start = self.lineno
        while self.i < len(self.lines):
            if "-->" in self.lines[self.i]:
                self.i += 1
                return
            self.i += 1
        raise self.error(start, "unclosed HTML comment '<!--'")

    # -- fenced divs ------------------------------------------------------------------------
    def div_header(self, m: re.Match, start: int) -> tuple[str, str]:
        if len(m["colons"]) != 3:
            raise self.error(start, "blocks open and close with exactly three colons ':::'")
        rest = m["rest"]
        if not rest:
            raise self.error(start, "':::' closes no block (unbalanced fences)")
        tag, _, rest = rest.partition(" ")
        if "{" in tag:
            tag, brace, more = tag.partition("{")
            rest = brace + more + (" " + rest if rest else "")
        if tag not in LANGUAGES:
            raise self.error(start, f"unknown block tag {tag!r} (known: {', '.join(LANGUAGES)})")
        return tag, rest.strip()

    def div_body(self, tag: str, start: int) -> tuple[str, int]:
        """Read a block's lines up to its closing ':::'; fenced code inside it is prose."""
        self.i += 1
        body: list[str] = []
        fence: str | None = None
        fence_line = 0
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if fence:
                stripped = line.strip()
                if stripped.startswith(fence) and not stripped.lstrip(fence[0]):
                    fence = None
            else:
                inner = INNER_FENCE_RE.match(line)
                if inner:
                    fence, fence_line = inner["fence"], self.lineno
                else:
                    div = DIV_RE.match(line)
                    if div:
                        if not div["rest"] and len(div["colons"]) == 3:
                            end = self.lineno
                            self.i += 1
                            return "\n".join(body), end
                        raise self.error(self.lineno, f"'{line.strip()}' inside the '::: {tag}' block opened "
                                                      f"at line {start}: close that block first with ':::'")
            body.append(line)
            self.i += 1
        if fence:
            raise self.error(fence_line, f"unclosed code fence {fence} inside the '::: {tag}' block "
                                         f"opened at line {start}")
        raise self.error(start, f"unclosed '::: {tag}' block: close it with a line ':::'")

    def ko_sha(self, rest: str, start: int) -> str | None:
        if not rest:
            return None
        m = re.fullmatch(r"sha=(\S*)", rest)
        if not m:
            raise self.error(start, f"unexpected {rest!r} after '::: ko' (only 'sha=XXXXXXXX'; "
                                    "cell attributes go on the '::: en' block)")
        if not SHA_RE.match(m[1]):
            raise self.error(start, f"sha={m[1]!r} must be 8 lowercase hex digits")
        return m[1]

    # -- code blocks -------------------------------------------------------------------------
    def code_block(self, m: re.Match, start: int) -> Code:
        fence, info = m["fence"], m["info"]
        lang, _, rest = info.partition(" ")
        if "{" in lang:
            lang, brace, more = lang.partition("{")
            rest = brace + more + (" " + rest if rest else "")
        if lang != "python":
            shown = lang or "(none)"
            raise self.error(start, f"code block language {shown!r} is not supported: code cells are "
                                    "```python (shell commands: '!cmd' lines or a '%%bash' cell)")
        attrs = self.attributes(rest.strip(), start, where="```python")
        self.i += 1
        body: list[str] = []
        while self.i < len(self.lines):
            line = self.lines[self.i]
            stripped = line.strip()
            if stripped.startswith(fence) and not stripped.lstrip(fence[0]):
                self.i += 1
                en, ko = self.translate_comments(body, start + 1)
                if not en.strip():
                    raise self.error(start, "empty code block")
                return Code(line=start, en=en, ko=ko, attrs=attrs)
            body.append(line)
            self.i += 1
        raise self.error(start, f"unclosed code block: close it with a line {fence}")

    def translate_comments(self, body: list[str], first: int) -> tuple[str, str]:
        """The cell's English and Korean text: `#|ko` lines give the Korean of the full-line
        comment just above them."""
        en: list[str] = []
        ko: list[str] = []
        previous: str | None = None  # the previous line, if it was a translatable comment
        for n, line in enumerate(body):
            k = KO_COMMENT_RE.match(line)
            if k:
                if previous is None:
                    raise self.error(first + n, "'#|ko' must directly follow a full-line '# English' "
                                                "comment (nbgrader markers are not translated)")
                text = k["text"].strip()
                if not text:
                    raise self.error(first + n, "empty '#|ko' comment")
                c = FULL_COMMENT_RE.match(previous)
                ko[-1] = c["indent"] + c["mark"] + text
                previous = None
                continue
            en.append(line)
            ko.append(line)
            c = FULL_COMMENT_RE.match(line)
            translatable = c and not c["text"].startswith("!") and not NBGRADER_REGION_RE.search(line)
            previous = line if translatable else None
        return _trim(en), _trim(ko)

    # -- attributes ----------------------------------------------------------------------------
    def attributes(self, rest: str, start: int, where: str) -> dict:
        if not rest:
            return {}
        if not (rest.startswith("{") and rest.endswith("}")):
            raise self.error(start, f"unexpected {rest!r} after {where}: attributes go in braces, "
                                    "e.g. {id=create_repo nbgrader=solution}")
        inner = rest[1:-1]
        attrs: dict = {}
        for m in ATTR_RE.finditer(inner):
            key, value = m["key"], m["value"]
            if key not in ATTRIBUTES:
                raise self.error(start, f"unknown attribute {key!r} (known: {', '.join(sorted(ATTRIBUTES))})")
            if key in attrs:
                raise self.error(start, f"attribute {key!r} given twice")
            if value.startswith('"'):
                value = value[1:-1]
            if key == "tags":
                if not value.startswith("["):
                    value = f"[{value}]"
                value = [t.strip().strip('"') for t in value[1:-1].split(",") if t.strip()]
            elif value.startswith("["):
                raise self.error(start, f"attribute {key!r} takes one value, not a list")
            attrs[key] = value
        leftover = ATTR_RE.sub("", inner).strip()
        if leftover:
            raise self.error(start, f"cannot read attribute text {leftover!r} (write key=value pairs)")
        if "points" in attrs:
            try:
                points = float(attrs["points"])
            except ValueError:
                raise self.error(start, f"points={attrs['points']!r} is not a number") from None
            if points < 0:
                raise self.error(start, "points must be >= 0")
            attrs["points"] = int(points) if points.is_integer() else points
        if "id" in attrs and not ID_RE.match(attrs["id"]):
            raise self.error(start, f"id={attrs['id']!r}: ids are 1-64 letters, digits, '-' or '_'")
        attrs["_line"] = start
        return attrs

    def check_cells(self, cells: list, meta: dict) -> None:
        seen: dict[str, int] = {}
        for cell in cells:
            attrs = cell.attrs
            line = attrs.pop("_line", cell.line)
            kind = attrs.get("nbgrader")
            if "id" in attrs:
                if attrs["id"] in seen:
                    raise self.error(line, f"id {attrs['id']!r} already used at line {seen[attrs['id']]}")
                seen[attrs["id"]] = line
            if kind is not None:
                allowed = NBGRADER_KINDS[cell.cell_type]
                if kind not in allowed:
                    raise self.error(line, f"nbgrader={kind!r} is not a {cell.cell_type} cell kind "
                                           f"(known: {', '.join(allowed)})")
                if not meta.get("nbgrader"):
                    raise self.error(line, "nbgrader cells need 'nbgrader: true' in the front matter")
                if kind in NEEDS_ID and "id" not in attrs:
                    raise self.error(line, f"nbgrader={kind} cells need an id= (it becomes the grade_id)")
                if kind in NEEDS_POINTS and "points" not in attrs:
                    raise self.error(line, f"nbgrader={kind} cells need points=")
                if kind not in NEEDS_POINTS and attrs.get("points"):
                    raise self.error(line, f"nbgrader={kind} cells carry no points (put them on the "
                                           "tests cell)")
            elif "points" in attrs:
                raise self.error(line, "points= needs an nbgrader= kind")
            if "static" in attrs:
                self.check_static(cell, attrs["static"], line)
            self.check_regions(cell, kind, line)

    def check_static(self, cell, ref: str, line: int) -> None:
        """static= names a function the build can call: a code cell's, importable, callable."""
        if cell.cell_type != "code":
            raise self.error(line, "static= goes on a code cell (the cell that shows a widget)")
        if not STATIC_RE.match(ref):
            raise self.error(line, f"static={ref!r}: write MODULE:FUNCTION, e.g. labkit.widgets.density:static_figure")
        module, function = ref.split(":")
        try:
            found = getattr(importlib.import_module(module), function, None)
        except ImportError as e:
            raise self.error(line, f"static={ref!r}: cannot import {module} ({e})") from None
        if not callable(found):
            raise self.error(line, f"static={ref!r}: {module} has no function {function}")

    def check_regions(self, cell, kind: str | None, line: int) -> None:
        """nbgrader region markers only where nbgrader acts on them; a misplaced one would ship a
        solution or a hidden test to students."""
        allowed = {"solution": {"SOLUTION"}, "manual": {"SOLUTION", "MARK SCHEME"},
                   "tests": {"HIDDEN TESTS"}}.get(kind or "", set())
        for lang in LANGUAGES:
            depth: dict[str, int] = {}
            for n, text in enumerate(cell.text(lang).split("\n")):
                m = NBGRADER_REGION_RE.search(text)
                if not m or not re.match(r"^\s*(#+|<!--)?\s*(BEGIN|END) ", text):
                    continue
                what = m[2]
                if what not in allowed:
                    raise self.error(line, f"'{text.strip()}' in a cell that is not nbgrader="
                                           f"{'manual' if what == 'MARK SCHEME' else {'SOLUTION': 'solution', 'HIDDEN TESTS': 'tests'}[what]}")
                depth[what] = depth.get(what, 0) + (1 if m[1] == "BEGIN" else -1)
                if depth[what] not in (0, 1):
                    raise self.error(line, f"unbalanced '### BEGIN/END {what}' markers")
            if any(depth.values()):
                raise self.error(line, "a '### BEGIN ...' marker has no matching '### END ...'")


def _trim(lines: list[str]) -> str:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end])
