"""labkit/say.py: what lessons 01 and 08 print, in the notebook's language, with the cells' numbers
unchanged (the notebooks' runs are tests/notebooks/test_lesson01.py and test_lesson08.py)."""
from __future__ import annotations

import re

import pytest

from labkit import pricing, say

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_the_language_comes_from_the_notebook(monkeypatch):
    monkeypatch.setenv("LABKIT_LANG", "ko")
    assert say.density(42, 128) == "VM: 42개\n컨테이너: 128개"
    monkeypatch.setenv("LABKIT_LANG", "en")
    assert say.density(42, 128) == "VMs: 42\ncontainers: 128"


def test_every_price_has_its_unit_in_korean_and_the_same_figures_in_both():
    data = pricing.prices()
    for group in ("fargate", "eks", "gke", "cloud_run"):
        for name, entry in data[group].items():
            if isinstance(entry, dict):
                en, ko = say.price(group, name, entry, "en"), say.price(group, name, entry, "ko")
                assert en.endswith(entry["unit"]) and HANGUL.search(ko), (group, name)
                assert en.split()[:4] == ko.split()[:4]  # group, name, figure, status: as they are


def test_the_crossing_names_the_other_service_and_says_when_there_is_none():
    hours = pricing.crossing(0.5, 1, other="gke_autopilot")
    assert say.crossing(0.5, 1, hours, other="gke_autopilot", lang="en") == \
        f"0.5 vCPU, 1 GB: Cloud Run costs more than GKE Autopilot above {hours:.1f} busy hours a day"
    assert pricing.crossing(0.05, 0.1) is None
    assert say.crossing(0.05, 0.1, None, lang="ko") == \
        "0.05 vCPU, 0.1 GB: 아무리 바빠도 Cloud Run 비용이 Fargate (ECS) 비용보다 작습니다"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_savings_line_up_in_a_monospace_font(lang):
    month = pricing.cost("fargate", 0.5, 1, 24, period="month")
    lines = [say.saving(what, month, lang) for what in say.SAVINGS]
    columns = {say._columns(line.split("$")[0]) for line in lines}
    assert len(columns) == 1 and all(line.endswith("$  17.77") for line in lines)
