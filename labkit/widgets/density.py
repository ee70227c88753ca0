"""Lesson 01's density what-if as a widget: how many copies of one app fit on a host as VMs
(each with its guest OS) or as containers (the app alone), memory deciding, drawn as the two
hosts' memory filled block by block."""
from __future__ import annotations

from dataclasses import dataclass

from labkit.messages import current_language, text
from labkit.widgets import svg

# The lesson's assumptions (its density cell): the sliders start here, the static figure shows them
DEFAULTS = {"host_gib": 64.0, "app_gib": 0.5, "guest_os_gib": 1.0}
COLOURS = {"os": "#f0b429", "app": "#2680c2", "free": "#f5f7fa", "edge": "#52606d"}
WIDTH, ROW_H, ROW_GAP, LEFT = 640, 14, 3, 20
MAX_ROWS = 16


@dataclass(frozen=True)
class Density:
    vms: int
    containers: int


def fit(host_gib: float, app_gib: float, guest_os_gib: float) -> Density:
    """How many apps fit in the host's memory: as VMs, each app needs its guest OS as well."""
    if host_gib <= 0 or app_gib <= 0 or guest_os_gib < 0:
        raise ValueError("memory sizes must be more than 0")
    return Density(vms=int(host_gib // (guest_os_gib + app_gib)), containers=int(host_gib // app_gib))


def _row_gib(host_gib: float) -> float:
    """GiB per drawn row: 8, or more for a big host so that it stays at most MAX_ROWS rows."""
    return max(8.0, host_gib / MAX_ROWS)


def _blocks(segments: list[tuple[str, float]], host_gib: float, top: float) -> tuple[list[str], float]:
    """Fill rows of the host's memory with (kind, GiB) segments, left to right, splitting a
    segment at a row's end; the rest of the host is unused. Returns the shapes and the bottom."""
    per_row = _row_gib(host_gib)
    rows = max(1, -(-host_gib // per_row))
    scale = WIDTH / per_row
    shapes = [svg.rect(LEFT, top + r * (ROW_H + ROW_GAP), min(per_row, host_gib - r * per_row) * scale, ROW_H,
                       COLOURS["free"], COLOURS["edge"], ' stroke-width="0.5"') for r in range(int(rows))]
    at = 0.0
    for kind, size in segments:
        left = size
        while left > 1e-9:
            row, offset = int(at // per_row), at % per_row
            piece = min(left, per_row - offset)
            shapes.append(svg.rect(LEFT + offset * scale, top + row * (ROW_H + ROW_GAP), piece * scale, ROW_H,
                                   COLOURS[kind], "#ffffff", ' stroke-width="0.6"'))
            at, left = at + piece, left - piece
    return shapes, top + rows * (ROW_H + ROW_GAP)


def host_svg(host_gib: float, app_gib: float, guest_os_gib: float, lang: str | None = None) -> str:
    """The picture: the host's memory twice, filled with VMs (guest OS + app) and with containers."""
    lang = lang or current_language()
    counts = fit(host_gib, app_gib, guest_os_gib)
    title = text("widgets.density.title", lang, host=f"{host_gib:g}")
    body = [svg.text(LEFT, 22, title, 14, weight="bold")]
    y = 48
    for key, count, segments in (
            ("widgets.density.vms", counts.vms, [("os", guest_os_gib), ("app", app_gib)] * counts.vms),
            ("widgets.density.containers", counts.containers, [("app", app_gib)] * counts.containers)):
        body.append(svg.text(LEFT, y, text(key, lang, count=count), 13, weight="bold"))
        shapes, y = _blocks(segments, host_gib, y + 8)
        body += shapes
        y += 26
    x = LEFT
    for kind, key in (("os", "widgets.density.legend_os"), ("app", "widgets.density.legend_app"),
                      ("free", "widgets.density.legend_free")):
        label = text(key, lang)
        body.append(svg.rect(x, y - 11, 14, 14, COLOURS[kind], COLOURS["edge"], ' stroke-width="0.5"'))
        body.append(svg.text(x + 20, y, label, 12))
        x += 20 + 12 * 0.62 * len(label) * (1.6 if lang == "ko" else 1) + 24
    alt = f"{title}. {text('widgets.density.vms', lang, count=counts.vms)}; " \
          f"{text('widgets.density.containers', lang, count=counts.containers)}."
    return svg.document(WIDTH + 2 * LEFT, y + 14, body, alt, lang)


def alt_text(host_gib: float, app_gib: float, guest_os_gib: float, lang: str) -> str:
    counts = fit(host_gib, app_gib, guest_os_gib)
    return (f"{text('widgets.density.title', lang, host=f'{host_gib:g}')}. "
            f"{text('widgets.density.vms', lang, count=counts.vms)}; "
            f"{text('widgets.density.containers', lang, count=counts.containers)}.")


def static_figure(lang: str) -> dict:
    """The built notebook's picture in the widget's place (coursebuild calls this)."""
    return svg.mime_bundle(host_svg(**DEFAULTS, lang=lang), alt_text(**DEFAULTS, lang=lang))


class DensityWidget:
    """Three sliders (host, app, guest OS memory) and the picture, redrawn on every change."""

    def __init__(self, lang: str | None = None):
        import ipywidgets as widgets

        self.lang = lang or current_language()
        style, layout = {"description_width": "12em"}, widgets.Layout(width="34em")

        def slider(key, value, low, high, step):
            return widgets.FloatSlider(value=value, min=low, max=high, step=step, description=text(key, self.lang),
                                       style=style, layout=layout, continuous_update=False, readout_format=".2f")

        self.host = slider("widgets.density.host", DEFAULTS["host_gib"], 4, 256, 4)
        self.app = slider("widgets.density.app", DEFAULTS["app_gib"], 0.25, 8, 0.25)
        self.guest_os = slider("widgets.density.guest_os", DEFAULTS["guest_os_gib"], 0.25, 4, 0.25)
        self.note = widgets.HTML(value=f"<p>{text('widgets.density.note', self.lang)}</p>")
        self.picture = widgets.HTML(value="")
        for control in (self.host, self.app, self.guest_os):
            control.observe(lambda _change: self.update(), names="value")
        self.box = widgets.VBox([self.note, self.host, self.app, self.guest_os, self.picture])
        self.update()

    @property
    def counts(self) -> Density:
        return fit(self.host.value, self.app.value, self.guest_os.value)

    def update(self) -> None:
        self.picture.value = host_svg(self.host.value, self.app.value, self.guest_os.value, self.lang)
