"""gcloud's client-side rules, without a cloud: the traffic merge of update-traffic and deploy
(labkit/gcloud/traffic.py, ported from googlecloudsdk/api_lib/run/traffic.py) and --format."""
from __future__ import annotations

import json

import pytest

from labkit.gcloud import formats, traffic
from labkit.gcloud.errors import GcloudError
from labkit.gcloud.traffic import LATEST, Target


def shares(targets) -> list[tuple]:
    return [(t.key, t.percent, t.tag) for t in targets]


def test_the_canary_takes_its_share_from_the_revision_serving_now():
    serving = traffic.zero_latest([Target(LATEST, 100)], "app-00001-abc")  # deploy --no-traffic
    assert shares(serving) == [("app-00001-abc", 100, "")]
    assert shares(traffic.update_traffic(serving, {"app-00002-xyz": 10})) == [("app-00001-abc", 90, ""),
                                                                             ("app-00002-xyz", 10, "")]


def test_unnamed_targets_are_scaled_in_proportion_and_rounded_as_gcloud_rounds():
    half = [Target("a", 50), Target("b", 50)]
    # 67 % left for a and b: 33.5 each; gcloud adds the lost 1 % to the smaller key first
    assert shares(traffic.update_traffic(half, {"c": 33})) == [("a", 34, ""), ("b", 33, ""), ("c", 33, "")]
    assert shares(traffic.update_traffic([Target("a", 20), Target("b", 80)], {"a": 0})) == [("b", 100, "")]
    assert shares(traffic.update_traffic([Target("a", 100)], {LATEST: 100})) == [(LATEST, 100, "")]


def test_tags_move_to_zero_percent_targets_and_survive_a_split():
    tagged = traffic.update_tags([Target(LATEST, 100)], {"green": "app-00002-xyz"})
    assert shares(tagged) == [(LATEST, 100, ""), ("app-00002-xyz", 0, "green")]
    assert traffic.by_tag(tagged, {"green": 50}, "app") == {"app-00002-xyz": 50}
    split = traffic.update_traffic(traffic.zero_latest(tagged, "app-00001-abc"), {"app-00002-xyz": 50})
    assert shares(split) == [("app-00001-abc", 50, ""), ("app-00002-xyz", 50, ""), ("app-00002-xyz", 0, "green")]
    assert shares(traffic.update_tags(split, {}, ["green"])) == [("app-00001-abc", 50, ""), ("app-00002-xyz", 50, "")]


@pytest.mark.parametrize("current, new, words", [
    ([Target("a", 100)], {"a": 60, "b": 50}, "Over 100% of traffic is specified."),
    ([Target("a", 100)], {"a": 60}, "Every target with traffic is updated but 100% of traffic has not been specified."),
    ([Target("a", 100)], {"b": -5}, "New traffic for target b is -5, not between 0 and 100"),
])
def test_refusals_are_gcloud_s(current, new, words):
    with pytest.raises(GcloudError, match=words.replace("%", "%").replace("(", r"\(")):
        traffic.update_traffic(current, new)
    with pytest.raises(GcloudError, match=r"There is no revision tagged with \[blue\]"):
        traffic.by_tag(current, {"blue": 10}, "app")


def test_pairs_and_their_syntax_errors():
    assert traffic.parse_pairs("app-00002-xyz=10,app-00001-abc=90", "--to-revisions") == {
        "app-00002-xyz": 10, "app-00001-abc": 90}
    with pytest.raises(GcloudError, match="Bad syntax for dict arg: \\[app-00002\\]") as error:
        traffic.parse_pairs("app-00002", "--to-revisions")
    assert error.value.exit_code == 2


SERVICE = {"metadata": {"name": "my-service"}, "status": {"url": "https://u", "traffic": [
    {"percent": 90, "revisionName": "r1"}, {"percent": 10, "revisionName": "r2", "tag": "green"}]}}


def test_value_json_yaml_and_table():
    assert formats.render(SERVICE, "value(status.url)", "yaml", single=True) == "https://u\n"
    assert formats.render(SERVICE, "value(metadata.name,status.traffic[1].tag)", "yaml", single=True) == \
        "my-service\tgreen\n"
    assert formats.render(SERVICE, "value(status.traffic[0])", "yaml", single=True) == "percent=90;revisionName=r1\n"
    assert json.loads(formats.render(SERVICE, "json", "yaml", single=True)) == SERVICE
    assert formats.render(SERVICE, "yaml", "json", single=True).startswith("metadata:\n  name: my-service\n")
    table = formats.render([SERVICE], None, "table(metadata.name:label=SERVICE, status.url)")
    assert table == "SERVICE     URL\nmy-service  https://u\n"
    with pytest.raises(GcloudError, match=r"Format \[valu\] not found."):
        formats.render(SERVICE, "valu(status.url)", "yaml", single=True)


SDK = "/usr/lib/google-cloud-sdk"
GCLOUD_TRAFFIC = """
import json, sys
sys.path[:0] = [sys.argv[1] + "/lib", sys.argv[1] + "/lib/third_party"]
from googlecloudsdk.api_lib.run import traffic
from googlecloudsdk.generated_clients.apis.run.v1 import run_v1_messages as m
out = []
for current, new, tags in json.load(sys.stdin):
    targets = [traffic.NewTrafficTarget(m, key, percent or None, tag or None) for key, percent, tag in current]
    wrapped = traffic.TrafficTargets(m, targets)
    try:
        if tags:
            wrapped.UpdateTags(tags, [], False)
        wrapped.UpdateTraffic(new)
        out.append([[traffic.GetKey(t), t.percent or 0, t.tag or ""] for t in targets])
    except Exception as exc:
        out.append(str(exc))
print(json.dumps(out))
"""


def _cases():
    import random

    rng = random.Random(10)
    cases = []
    for _ in range(200):
        keys = rng.sample(["app-00001-abc", "app-00002-xyz", "app-00003-def", LATEST], rng.randint(1, 3))
        cuts = sorted(rng.sample(range(1, 100), len(keys) - 1))
        percents = [b - a for a, b in zip([0] + cuts, cuts + [100])]
        current = [[k, p, ""] for k, p in zip(keys, percents)]
        named = rng.sample(["app-00001-abc", "app-00002-xyz", "app-00004-new", LATEST], rng.randint(1, 2))
        new = {k: rng.choice([0, 5, 10, 33, 50, 90, 100]) for k in named}
        tags = {"green": "app-00002-xyz"} if rng.random() < 0.3 else {}
        cases.append([current, new, tags])
    return cases


def test_the_port_gives_what_gcloud_s_own_code_gives():
    import os
    import subprocess

    python = f"{SDK}/platform/bundledpythonunix/bin/python3"
    if not os.path.exists(python):
        pytest.skip("the Google Cloud SDK (its bundled Python and googlecloudsdk) is not installed here")
    cases = _cases()
    done = subprocess.run([python, "-c", GCLOUD_TRAFFIC, SDK], input=json.dumps(cases), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    theirs = json.loads(done.stdout)
    for (current, new, tags), expected in zip(cases, theirs):
        targets = [Target(k, p, t) for k, p, t in current]
        try:
            if tags:
                targets = traffic.update_tags(targets, tags)
            ours = [[t.key, t.percent, t.tag] for t in traffic.update_traffic(targets, new)]
        except GcloudError as exc:
            ours = exc.message
        assert ours == expected, (current, new, tags)
