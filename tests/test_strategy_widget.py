"""Lesson 06's deployment-strategy simulator (labkit/widgets/strategies.py), driven through its
controls as a student's clicks would, without a browser: what it says and draws for each choice, in
the notebook's language, and its static figure (the same bytes every time)."""
from __future__ import annotations

import re

import pytest

from labkit.strategies import STRATEGIES, simulate
from labkit.widgets import strategies


def test_the_simulator_redraws_and_says_how_the_rollout_ended_when_a_control_changes():
    w = strategies.StrategySimulator("en")
    assert w.timeline.settings.strategy == "canary" and w.timeline.outcome == "done"
    assert "Canary: v2 answered every request after 5.5 min" in w.result.value and "0 requests failed" in w.result.value
    before = w.plot.value
    w.bad.value = True
    assert w.timeline.outcome == "rolled_back"
    assert "the alarm fired after 1.5 min" in w.result.value and "175 requests failed" in w.result.value
    assert w.plot.value != before and w.plot.value.startswith("<svg")
    w.strategy.value = "blue_green"
    assert w.timeline.settings.strategy == "blue_green" and "1,750 requests failed" in w.result.value
    assert w.canary.disabled and w.bake.disabled   # the canary's own settings mean nothing here


def test_the_canarys_settings_reach_the_model():
    w = strategies.StrategySimulator("en")
    w.canary.value, w.bake.value = 20, 2
    assert w.timeline.settings.canary_percent == 20 and w.timeline.settings.bake_s == 120
    assert max(s for s in w.timeline.share_v2 if s < 1) == 0.2
    w.instances.value = 6
    assert w.timeline.peak_tasks == 12


def test_the_korean_simulator_speaks_korean():
    w = strategies.StrategySimulator("ko")
    assert [label for label, _ in w.strategy.options] == ["롤링 업데이트", "블루/그린", "카나리"]
    w.bad.value = True
    assert "경보가 울렸고" in w.result.value and "실패한 요청은 175건" in w.result.value
    assert "배포를 시작한 뒤 지난 시간(분)" in w.plot.value


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_static_figure_shows_all_three_strategies_with_a_bad_v2_and_is_the_same_bytes_each_time(lang):
    bundle = strategies.static_figure(lang)
    assert bundle == strategies.static_figure(lang)
    picture, alt = bundle["image/svg+xml"], bundle["text/plain"]
    assert picture.startswith("<svg") and "<?xml" not in picture
    for name in STRATEGIES:
        title = strategies.text(f"strategies.name.{name}", lang)
        assert title in picture and title in alt
    failed = [simulate(strategy=name, v2_bad=True).failed_requests for name in STRATEGIES]
    assert all(f"{n:,}" in alt for n in failed)
    assert not re.search(r"Date|Creator", picture)
