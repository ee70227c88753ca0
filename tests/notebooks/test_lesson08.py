"""Lesson 08 (what containers cost) prints what its text says, in both languages: the prices
with their dates, the seed's worked examples ($0.49 + $0.11 = $0.60 for Fargate, $0.65 for
Autopilot), EKS's $72 cluster fee, Cloud Run inside and past its free tier, the crossing hours,
the savings; the plot cell draws the same SVG the built notebook stores in its place, and the
calculator cell replaces its static figure with the live widget. (test_lessons.py leaves this
lesson to this module.)"""
from __future__ import annotations

import pytest

from labkit.widgets import costplot

from .runner import ROOT, errors, execute
from .test_lesson03 import outputs

WIDGET = "application/vnd.jupyter.widget-view+json"


def _data(nb, cell_id: str) -> dict:
    cell = next(c for c in nb.cells if c.id == cell_id)
    [output] = [o for o in cell.outputs if o.get("output_type") in ("display_data", "execute_result")]
    return output["data"]


@pytest.mark.parametrize("notebook", ["en/08_pricing.ipynb", "ko/08_pricing.ipynb"])
def test_lesson08_shows_what_its_text_describes(notebook, tmp_path, monkeypatch):
    lang = notebook.split("/")[0]
    nb, cloud, home, netlog = execute(ROOT / "course" / notebook, tmp_path, monkeypatch)
    try:
        assert errors(nb) == []
        assert netlog.blocked() == []
        out = outputs(nb)

        assert out["prices"].startswith("checked: 2026-12-02 | a month = 30 days")
        assert "fargate    vcpu_hour" in out["prices"] and "seed" in out["prices"]
        assert out["fargate_day"] == ("= (0.5 × $0.04048 × 24) + (1 × $0.004445 × 24)\n"
                                      "= $0.49 + $0.11 = $0.60\nexactly $0.5924 a day\n")
        assert out["eks_month"].count("$72.00") == 2 and "= $72.00 + $14.57 + $3.20 = $89.77" in out["eks_month"]
        assert "= $0.53 + $0.12 + $2.40 - $2.40 = $0.65" in out["autopilot_day"]
        assert "without the free tier (a second cluster): $3.05" in out["autopilot_day"]
        assert "busy 2 h a day, 1,000,000 requests: $0.00 a month" in out["cloud_run_month"]
        assert "busy 8 h a day, 3,000,000 requests: $7.71 a month" in out["cloud_run_month"]
        assert "= $6.05 + $1.26 + $0.40 = $7.71" in out["cloud_run_month"]
        assert "0.5 vCPU, 1 GB: Cloud Run costs more than Fargate above 14.7 busy hours a day" in out["crossing"]
        assert [line.split("$")[-1].strip() for line in out["savings"].splitlines()] == ["35.55", "17.77", "5.33"]

        # The plot drawn live is the static figure the build stores (same function, same values)
        assert _data(nb, "cost_plot") == costplot.static_figure(lang)
        plot = _data(nb, "cost_plot")["image/svg+xml"]
        assert ("월 비용(USD)" if lang == "ko" else "USD per month") in plot
        # The calculator: a live widget now stands where the static figure was
        assert WIDGET in _data(nb, "calculator")
    finally:
        cloud.stop()
