"""The lessons' widgets (labkit/widgets), driven through their ipywidgets controls as a student's
slider would, without a browser: the figures they compute and draw, their labels in the
notebook's language, the static figures the build stores in their place (same bytes every
time, the same the functions draw), and the `static=` attribute's mistakes."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from coursebuild.errors import SourceError
from coursebuild.notebook import build_notebook
from coursebuild.source import parse
from labkit import pricing
from labkit.messages import text
from labkit.widgets import costplot, decision_tree, density, density_widget, pricing_calculator, strategy_simulator
from labkit.widgets import pricing as calculator

ROOT = Path(__file__).resolve().parents[1]


# -- lesson 01: density ---------------------------------------------------------------------------
def test_density_counts_follow_the_lessons_cell():
    assert density.fit(64, 0.5, 1) == density.Density(vms=42, containers=128)
    assert density.fit(16, 2, 1) == density.Density(vms=5, containers=8)
    with pytest.raises(ValueError):
        density.fit(64, 0, 1)


def _blocks(svg: str, colour: str) -> float:
    """Total width of the rectangles of one colour: memory drawn as that kind."""
    return sum(float(w) for w in re.findall(rf'width="([\d.]+)" height="[\d.]+" fill="{colour}"', svg))


def test_the_density_widget_redraws_when_a_slider_moves():
    w = density.DensityWidget("en")
    assert w.counts == density.Density(42, 128)
    assert "As VMs: 42 apps" in w.picture.value and "As containers: 128 apps" in w.picture.value
    scale = density.WIDTH / 8  # px per GiB (64 GiB: 8 rows of 8 GiB)
    swatch = 14  # the legend's square of each colour
    assert _blocks(w.picture.value, density.COLOURS["os"]) == pytest.approx(42 * 1.0 * scale + swatch, abs=0.1)
    w.app.value = 2.0  # a bigger app
    assert w.counts == density.Density(21, 32)
    assert "As VMs: 21 apps" in w.picture.value and "As containers: 32 apps" in w.picture.value
    assert _blocks(w.picture.value, density.COLOURS["app"]) == pytest.approx((21 + 32) * 2.0 * scale + swatch, abs=0.1)
    w.guest_os.value = 0.25  # a leaner guest OS closes the gap
    w.host.value = 16
    assert w.counts == density.Density(7, 8)


def test_the_density_widget_speaks_korean():
    box = density_widget("ko")
    labels = [child.description for child in box.children if hasattr(child, "description") and child.description]
    assert labels == ["호스트 메모리(GiB)", "앱 메모리(GiB)", "게스트 OS 메모리(GiB)"]
    picture = box.children[-1].value
    assert "VM으로 올리면: 앱 42개" in picture and 'xml:lang="ko"' in picture


# -- lesson 08: the pricing calculator and its plot ---------------------------------------------
def _table(html: str) -> dict[str, tuple[str, str]]:
    rows = re.findall(r"<tr><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td></tr>", html)
    return {name: (day, month) for name, day, month in rows}


def test_the_calculator_starts_on_the_seeds_example():
    w = calculator.PricingCalculator("en")
    table = _table(w.table.value)
    assert table["Fargate (ECS)"] == ("$0.60", "$17.77")
    assert table["GKE Autopilot"] == ("$0.65", "$19.55")
    assert table["EKS + Fargate"][1] == "$89.77"  # $72 of cluster fee
    assert list(table) == [costplot.service_label(s, "en") for s in pricing.SERVICES]


def test_the_calculator_recomputes_when_its_sliders_move():
    w = calculator.PricingCalculator("en")
    w.vcpu.value, w.memory.value, w.hours.value, w.requests.value = 1.0, 2.0, 8.0, 3.0
    table = _table(w.table.value)
    fargate = pricing.cost("fargate", 1, 2, 8, period="month")
    assert table["Fargate (ECS)"][1] == f"${fargate.rounded:,.2f}"
    run = pricing.cost("cloud_run", 1, 2, 8, 3e6, period="month")
    assert table["Cloud Run"][1] == f"${run.rounded:,.2f}" and run.total > 0
    # The plot: one line per service over 0-24 busy hours, Cloud Run rising, a dashed line at 8 h
    lines = {line.get_gid(): line for line in w.figure.axes[0].get_lines()}
    assert set(pricing.SERVICES) <= set(lines) and "hours" in lines
    assert list(lines["hours"].get_xdata()) == [8.0, 8.0]
    curves = pricing.monthly_against_load(1, 2, 3e6)
    assert list(lines["cloud_run"].get_ydata()) == pytest.approx(curves["cloud_run"])
    assert list(lines["fargate"].get_ydata()) == pytest.approx([pricing.cost("fargate", 1, 2, 24, period="month").total] * 49)
    cross = pricing.crossing(1, 2, 3e6)
    assert list(lines["crossing"].get_xdata()) == pytest.approx([cross])
    assert f"{cross:.1f} busy hours a day" in w.figure.labkit_note and f"{cross:.1f}" in w.plot.value


def test_the_calculator_speaks_korean_and_says_where_current_prices_are():
    box = pricing_calculator("ko")
    descriptions = [c.description for c in box.children if getattr(c, "description", "")]
    assert descriptions == ["vCPU 수", "메모리(GB)", "하루 실행 시간", "월 요청 수(백만)"]
    html = "".join(c.value for c in box.children if hasattr(c, "value") and isinstance(c.value, str))
    assert "EKS + EC2 노드(t3.medium)" in html and "부하에 따른 월 비용" in html
    assert "https://cloud.google.com/run/pricing" in html and pricing.prices()["checked"] in html
    ax = next(c for c in box.children if isinstance(getattr(c, "value", None), str) and "<svg" in c.value)
    assert "월 비용(USD)" in ax.value


def test_a_small_workload_never_crosses():
    fig = costplot.cost_figure(0.05, 0.1, 0, "en")  # inside the free tier even busy all day
    gids = {line.get_gid() for line in fig.axes[0].get_lines()}
    assert "crossing" not in gids and fig.labkit_note == text("widgets.plot.no_crossing", "en")


# -- lesson 06: the strategy simulator, re-exported like the others -------------------------------
def test_the_strategy_simulator_is_one_import_away_like_the_other_widgets():
    box = strategy_simulator("ko")
    assert [label for label, _ in box.children[0].options] == ["롤링 업데이트", "블루/그린", "카나리"]
    assert box.children[-1].value.startswith("<svg")


# -- static figures -------------------------------------------------------------------------------
STATIC_CELLS = {("01_containers", "density_widget"): density.static_figure,
                ("08_pricing", "cost_plot"): costplot.static_figure,
                ("08_pricing", "calculator"): calculator.static_figure,
                ("07_choosing", "decision_tree"): decision_tree.static_figure}



@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_built_notebooks_carry_the_static_figures(lang):
    for (name, cell_id), function in STATIC_CELLS.items():
        nb = json.loads((ROOT / "course" / lang / f"{name}.ipynb").read_text(encoding="utf-8"))
        cell = next(c for c in nb["cells"] if c["id"] == cell_id)
        assert cell["metadata"]["labkit"]["static"].endswith(":static_figure")
        [output] = cell["outputs"]
        assert output["output_type"] == "display_data"
        data = {mime: "".join(value) for mime, value in output["data"].items()}
        assert data == function(lang)  # what the function draws now: `coursebuild --check` stays put
        assert data["image/svg+xml"].startswith("<svg") and data["text/plain"]
        if lang == "ko":
            assert re.search(r"[\uac00-\ud7a3]", data["image/svg+xml"]), (name, cell_id)


def test_static_figures_are_the_same_bytes_every_time():
    for function in STATIC_CELLS.values():
        assert function("ko") == function("ko")
    svg = costplot.static_figure("en")["image/svg+xml"]
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg and "<?xml" not in svg
    assert "font-family: 'DejaVu Sans', 'Noto Sans CJK KR'" in svg  # text as text, drawn by the browser


SOURCE = '''::: en
Hello
:::

::: ko sha=185f8db3
안녕하세요
:::

```python {id=w static=REF}
print("live")
```
'''


def test_the_static_attribute_builds_an_output_and_refuses_mistakes():
    nb = build_notebook(parse(SOURCE.replace("REF", "labkit.widgets.density:static_figure"), "x.md", "x"), "ko")
    [output] = nb.cells[1].outputs
    assert output.data == density.static_figure("ko")
    for ref, message in (("labkit.widgets.density", "write MODULE:FUNCTION"),
                         ("labkit.nowhere:static_figure", "cannot import labkit.nowhere"),
                         ("labkit.widgets.density:nothing", "has no function nothing")):
        with pytest.raises(SourceError, match=message):
            parse(SOURCE.replace("REF", ref), "x.md", "x")
    markdown = SOURCE.replace("::: en\nHello", "::: en {static=labkit.widgets.density:static_figure}\nHello")
    with pytest.raises(SourceError, match="static= goes on a code cell"):
        parse(markdown, "x.md", "x")
