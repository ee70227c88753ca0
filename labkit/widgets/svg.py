"""SVG that is the same bytes for the same input: the static figures are committed in built
notebooks, and `coursebuild --check` compares bytes."""
from __future__ import annotations

import io
import re
import warnings
from xml.sax.saxutils import escape

# Text stays text in the SVG (the browser draws it, Hangul included); layout is measured with
# matplotlib's own DejaVu Sans, so the bytes do not depend on the fonts a machine has.
FONTS = "'DejaVu Sans', 'Noto Sans CJK KR', 'Malgun Gothic', sans-serif"
MATPLOTLIB_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "labkit",  # clip-path ids from a fixed salt, not a random one
    "font.family": ["sans-serif"],
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 10,
}


def figure_svg(fig) -> str:
    """A matplotlib Figure as deterministic SVG text (no date, no creator line, fixed ids)."""
    import matplotlib

    out = io.StringIO()
    with matplotlib.rc_context(MATPLOTLIB_RC), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph ... missing from font(s) DejaVu Sans": Hangul is measured, not drawn
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    text = out.getvalue()
    text = text.replace("font-family: 'DejaVu Sans'", f"font-family: {FONTS}")
    return _inline(text)


def _inline(svg: str) -> str:
    """Without the XML prolog and DOCTYPE: the SVG is also put inside HTML (an ipywidgets HTML)."""
    return re.sub(r"\A<\?xml[^>]*>\s*<!DOCTYPE[^>]*>\s*", "", svg)


def text(x: float, y: float, content: str, size: int = 12, anchor: str = "start", weight: str = "normal",
         fill: str = "#1f2933") -> str:
    bold = ' font-weight="bold"' if weight == "bold" else ""
    return (f'<text x="{x:g}" y="{y:g}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{bold}>'
            f"{escape(content)}</text>")


def rect(x: float, y: float, w: float, h: float, fill: str, stroke: str = "none", extra: str = "") -> str:
    return (f'<rect x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{h:.2f}" fill="{fill}" '
            f'stroke="{stroke}"{extra}/>')


def document(width: float, height: float, body: list[str], title: str, lang: str) -> str:
    """A standalone SVG: white background (readable in a dark theme), its title for screen readers."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{height:g}" '
            f'viewBox="0 0 {width:g} {height:g}" role="img" xml:lang="{lang}" font-family="{escape(FONTS)}">'
            f"<title>{escape(title)}</title>"
            + rect(0, 0, width, height, "#ffffff") + "".join(body) + "</svg>\n")


def mime_bundle(svg: str, alt: str) -> dict:
    """What a static figure's output holds: the picture, and its text for what shows no picture."""
    return {"image/svg+xml": svg, "text/plain": alt}
