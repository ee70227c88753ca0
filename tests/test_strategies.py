"""The deployment-strategy model (labkit/strategies.py): each strategy's shape as the services give it,
and a bad v2 rolled back by the alarm, costing what the strategy exposes it to."""
import pytest

from labkit.strategies import STRATEGIES, Settings, simulate


def at(timeline, second):
    return timeline.t.index(second)


def test_a_rolling_update_replaces_one_task_at_a_time_and_never_runs_more_than_n_plus_batch():
    t = simulate(strategy="rolling", instances=4, batch=1, start_s=30)
    assert t.outcome == "done" and t.done_s == 4 * 30
    assert t.peak_tasks == 5
    assert [t.share_v2[at(t, s)] for s in (0, 30, 60, 90, 120)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert t.tasks_v1[-1] == 0 and t.tasks_v2[-1] == 4


def test_a_bigger_batch_is_faster_and_needs_more_room():
    one, two = simulate(strategy="rolling", batch=1), simulate(strategy="rolling", batch=2)
    assert two.done_s < one.done_s and two.peak_tasks > one.peak_tasks


def test_blue_green_moves_all_traffic_at_once_with_twice_the_tasks_and_keeps_blue_for_a_while():
    t = simulate(strategy="blue_green", instances=4, start_s=30, keep_blue_s=300)
    assert set(t.share_v2) == {0.0, 1.0}
    assert t.share_v2[at(t, 20)] == 0.0 and t.share_v2[at(t, 30)] == 1.0
    assert t.peak_tasks == 8
    assert t.done_s == 30 + 300 and t.tasks_v1[-1] == 0


def test_a_canary_serves_its_share_for_the_bake_time_then_the_rest():
    t = simulate(strategy="canary", canary_percent=10, bake_s=300, start_s=30)
    assert t.share_v2[at(t, 30)] == 0.1 and t.share_v2[at(t, 320)] == 0.1
    assert t.share_v2[at(t, 330)] == 1.0
    assert [what for _, what in t.events][:3] == ["v2_healthy", "shifted", "shifted"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_good_v2_fails_no_request(strategy):
    t = simulate(strategy=strategy)
    assert t.outcome == "done" and t.failed_requests == 0 and "alarm" not in dict(t.events).values()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_bad_v2_sets_off_the_alarm_and_is_rolled_back(strategy):
    t = simulate(strategy=strategy, v2_bad=True)
    assert t.outcome == "rolled_back"
    assert t.share_v2[-1] == 0.0 and t.tasks_v2[-1] == 0 and t.tasks_v1[-1] == 4
    assert t.failed_requests > 0


def test_the_canary_exposes_the_fewest_requests_to_a_bad_v2_and_rolling_back_a_rolling_update_is_slowest():
    failed = {s: simulate(strategy=s, v2_bad=True) for s in STRATEGIES}
    assert failed["canary"].failed_requests * 5 < failed["blue_green"].failed_requests
    assert failed["canary"].failed_requests < failed["rolling"].failed_requests
    alarm = {s: next(t for t, what in failed[s].events if what == "alarm") for s in STRATEGIES}
    assert failed["blue_green"].done_s == alarm["blue_green"]          # traffic moves back at once
    assert failed["rolling"].done_s - alarm["rolling"] >= 30           # tasks must start again


def test_a_canary_too_small_to_show_the_errors_hides_them_until_the_rest_moves():
    """10% failures of a 10% canary is 1%, under the 2% alarm: the bake passes, the full move fails."""
    t = simulate(strategy="canary", v2_bad=True, v2_error_rate=0.1, alarm_threshold=0.02, bake_s=300)
    alarm = next(when for when, what in t.events if what == "alarm")
    assert alarm >= 30 + 300 and t.outcome == "rolled_back"
    assert simulate(strategy="canary", v2_bad=True, v2_error_rate=0.01).outcome == "done"   # never seen


def test_same_inputs_same_timeline():
    assert simulate(strategy="rolling", v2_bad=True).__dict__ == simulate(strategy="rolling", v2_bad=True).__dict__


def test_settings_can_be_changed_one_at_a_time():
    base = Settings(strategy="canary", bake_s=120)
    assert simulate(base, canary_percent=20).share_v2[at(simulate(base), 30)] == 0.2


@pytest.mark.parametrize("bad", [{"strategy": "big_bang"}, {"instances": 0}, {"canary_percent": 100}])
def test_settings_that_mean_nothing_are_refused(bad):
    with pytest.raises(ValueError):
        simulate(**bad)
