"""The parts of a notebook's markdown that the language and link tests compare: headings, code
spans, links, numbers, prose. A small reader for the markdown this course writes (CommonMark
as JupyterLab renders it), not a full parser: fenced blocks, inline code, links and images,
HTML `<a href>` / `<img src>`, bare URLs."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING_RE = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN_RE = re.compile(r"(`+)(.+?)\1", re.S)
# [text](target "title") and ![alt](target); the target has no spaces in this course
LINK_RE = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK_RE = re.compile(r"<(a|img)\b[^>]*?\b(href|src)\s*=\s*[\"']([^\"']*)[\"'][^>]*>", re.I)
HTML_TAG_RE = re.compile(r"</?[A-Za-z][^>]*>")
URL_RE = re.compile(r"https?://[^\s)<>\]\"'`]+")
NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
TABLE_ROW_RE = re.compile(r"^\s*\|")
SPAN = "\x00{}\x00"  # what a code span becomes in `prose`: no letters, no digits
SPAN_RE = re.compile(r"\x00(\d+)\x00")


@dataclass
class Link:
    target: str
    image: bool
    text: str = ""


@dataclass
class Parts:
    """One markdown cell, taken apart."""
    headings: list[tuple[int, str]] = field(default_factory=list)  # (level, rendered text)
    code_spans: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    prose: str = ""  # outside fenced blocks; code spans -> SPAN, link targets and HTML tags dropped
    fenced: list[str] = field(default_factory=list)  # the text of fenced blocks (diagrams, commands)
    prose_lines: list[str] = field(default_factory=list)  # prose, line by line, with line kinds
    line_kinds: list[str] = field(default_factory=list)  # "heading" | "table" | "text", per prose line

    @property
    def numbers(self) -> list[str]:
        """Digits in the prose (headings included), not in code, link targets or fenced blocks."""
        return NUMBER_RE.findall(SPAN_RE.sub(" ", self.prose))


def split_fenced(text: str) -> tuple[list[str], list[str]]:
    """(lines outside fenced blocks, [text of each fenced block])."""
    outside: list[str] = []
    blocks: list[str] = []
    fence: str | None = None
    current: list[str] = []
    for line in text.split("\n"):
        m = FENCE_RE.match(line)
        if fence is None:
            if m:
                fence, current = m.group(1), []
            else:
                outside.append(line)
        elif m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip().lstrip(fence[0]):
            blocks.append("\n".join(current))
            fence = None
        else:
            current.append(line)
    if fence is not None:  # an unclosed fence runs to the end of the cell, as CommonMark says
        blocks.append("\n".join(current))
    return outside, blocks


def rendered(markdown_inline: str) -> str:
    """The text JupyterLab shows for inline markdown (what a heading's anchor is made from)."""
    text = CODE_SPAN_RE.sub(lambda m: m.group(2).strip(), markdown_inline)
    text = LINK_RE.sub(lambda m: m.group(2), text)
    text = HTML_TAG_RE.sub("", text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])", r"\1", text)
    return text.replace("\\", "")


def anchor(heading_text: str) -> str:
    """JupyterLab 4's heading id: the heading's text with every space replaced by '-'
    (`createHeaderId` in @jupyterlab/rendermime: `textContent.replace(/ /g, '-')`)."""
    return heading_text.replace(" ", "-")


def parse(text: str) -> Parts:
    parts = Parts()
    outside, parts.fenced = split_fenced(text)
    body = "\n".join(outside)

    spans: list[str] = []

    def keep_span(m: re.Match) -> str:
        spans.append(m.group(2).strip() if m.group(2).strip() else m.group(2))
        return SPAN.format(len(spans) - 1)

    body = CODE_SPAN_RE.sub(keep_span, body)
    parts.code_spans = spans

    def keep_link(m: re.Match) -> str:
        parts.links.append(Link(target=m.group(3), image=bool(m.group(1)), text=m.group(2)))
        return m.group(2)

    body = LINK_RE.sub(keep_link, body)
    for m in HTML_LINK_RE.finditer(body):
        parts.links.append(Link(target=m.group(3), image=m.group(1).lower() == "img"))
    body = HTML_TAG_RE.sub(" ", body)
    for m in URL_RE.finditer(body):  # bare URLs: JupyterLab turns them into links
        parts.links.append(Link(target=m.group(0).rstrip(".,;:!?"), image=False))
    body = URL_RE.sub(" ", body)
    parts.prose = body

    for line in body.split("\n"):
        h = HEADING_RE.match(line)
        if h:
            shown = SPAN_RE.sub(lambda m: spans[int(m.group(1))], h.group(2))
            parts.headings.append((len(h.group(1)), rendered(shown)))
            kind = "heading"
        elif TABLE_ROW_RE.match(line):
            kind = "table"
        else:
            kind = "text"
        parts.prose_lines.append(line)
        parts.line_kinds.append(kind)
    return parts
