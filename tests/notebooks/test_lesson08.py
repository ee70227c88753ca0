"""Lesson 08 (what containers cost) prints what its text says, in both languages, each in its own
words (labkit/say.py): the prices
with their dates, the seed's worked examples ($0.49 + $0.11 = $0.60 for Fargate, $0.65 for
Autopilot), EKS's $72 cluster fee, Cloud Run inside and past its free tier, the crossing hours,
the savings; the plot cell draws the same SVG the built notebook stores in its place, and the
calculator cell replaces its static figure with the live widget. (test_lessons.py leaves this
lesson to this module.)"""
from __future__ import annotations

import re

import pytest

from labkit import say
from labkit.widgets import costplot

from .runner import ROOT, errors, execute
from .test_lesson03 import outputs

WIDGET = "application/vnd.jupyter.widget-view+json"
# What the cells print in each notebook's language (labkit/say.py): the same numbers, its words
SAID = {
    "en": {"checked": "checked: 2026-12-02 | a month = 30 days", "unit": "per vCPU per hour",
           "exactly": "exactly $0.5924 a day", "without": "without the free tier (a second cluster): $3.05",
           "busy_2": "busy 2 h a day, 1,000,000 requests: $0.00 a month",
           "busy_8": "busy 8 h a day, 3,000,000 requests: $7.71 a month",
           "crossing": "0.5 vCPU, 1 GB: Cloud Run costs more than Fargate (ECS) above 14.7 busy hours a day",
           "full": "1 vCPU, 2 GB, all month:"},
    "ko": {"checked": "확인한 날짜: 2026-12-02 | 한 달 = 30일", "unit": "vCPU 1개 시간당",
           "exactly": "정확히는 하루 $0.5924", "without": "무료 등급이 없을 때(두 번째 클러스터): $3.05",
           "busy_2": "하루 2시간 바쁨, 요청 1,000,000건: 한 달 $0.00",
           "busy_8": "하루 8시간 바쁨, 요청 3,000,000건: 한 달 $7.71",
           "crossing": "0.5 vCPU, 1 GB: 하루에 바쁜 시간이 14.7시간을 넘으면 Cloud Run 비용이 Fargate (ECS) 비용보다 큽니다",
           "full": "1 vCPU, 2 GB, 한 달 내내:"},
}


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

        said = SAID[lang]
        assert out["prices"].startswith(said["checked"])
        assert "fargate    vcpu_hour" in out["prices"] and "seed" in out["prices"] and said["unit"] in out["prices"]
        assert out["fargate_day"] == ("= (0.5 × $0.04048 × 24) + (1 × $0.004445 × 24)\n"
                                      f"= $0.49 + $0.11 = $0.60\n{said['exactly']}\n")
        assert out["eks_month"].count("$72.00") == 2 and "= $72.00 + $14.57 + $3.20 = $89.77" in out["eks_month"]
        assert "= $0.53 + $0.12 + $2.40 - $2.40 = $0.65" in out["autopilot_day"]
        assert said["without"] in out["autopilot_day"]
        assert said["busy_2"] in out["cloud_run_month"] and said["busy_8"] in out["cloud_run_month"]
        assert "= $6.05 + $1.26 + $0.40 = $7.71" in out["cloud_run_month"]
        assert said["crossing"] in out["crossing"]
        savings = out["savings"].splitlines()
        assert [line.split("$")[-1].strip() for line in savings] == ["35.55", "17.77", "5.33"]
        assert savings[0].startswith(said["full"]) and len({say._columns(line.split("$")[0]) for line in savings}) == 1  # lined up (Hangul: two columns)
        if lang == "ko":  # no English sentence left in the Korean notebook's printed lines
            for cell in ("fargate_day", "autopilot_day", "cloud_run_month", "crossing", "savings"):
                assert not re.search(r"\b(a day|a month|busy|requests|without|above|exactly)\b", out[cell]), out[cell]

        # The plot drawn live is the static figure the build stores (same function, same values)
        assert _data(nb, "cost_plot") == costplot.static_figure(lang)
        plot = _data(nb, "cost_plot")["image/svg+xml"]
        assert ("월 비용(USD)" if lang == "ko" else "USD per month") in plot
        # The calculator: a live widget now stands where the static figure was
        assert WIDGET in _data(nb, "calculator")
    finally:
        cloud.stop()
