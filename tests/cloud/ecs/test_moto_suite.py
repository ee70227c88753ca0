"""moto's own ECS tests (tests/test_ecs/ of the sdist of the moto installed here) run against the
local cloud's ECS, each test held to its bucket in moto_suite_expectations.py. How the run works
(download, server mode, the buckets' verdicts): tests/cloud/moto_suite.py. Tests that read moto's
internals (its state manager, MOTO_ECS_* settings) skip themselves in server mode.

Run: .venv/bin/python -m pytest -q tests/cloud/ecs/test_moto_suite.py (about 25 s on 2 cores; buckets and
counts: docs/fidelity.md, ECS, "moto's ECS tests").
"""
from __future__ import annotations

from labkit.cloud.aws.ecs import api
from tests.cloud import moto_suite
from tests.cloud.ecs import moto_suite_expectations as expected

SUITE = moto_suite.Suite(
    folder="test_ecs", service="ECS", code="labkit/cloud/aws/ecs", expected=expected,
    not_emulated_hint="an operation of api.KNOWN",
    is_not_emulated=lambda operation: operation in api.KNOWN and operation not in api.OPERATIONS)


def test_expectations_are_well_formed():
    """Each test in one bucket; quirks cite a page; not-emulated names an operation we answer 501."""
    moto_suite.check_expectations(SUITE)


def test_judge_names_each_test_out_of_its_bucket():
    """The suite's verdict on a made-up run: a passing test that fails, a quirk that passes, a new
    test, a listed test moto no longer has."""
    passing = "test_ecs.py::test_create_cluster"
    quirk = "test_ecs.py::test_register_task_definition"
    every = [t for tests in moto_suite.buckets(expected).values() for t in tests]
    record = {"collected": [t for t in every if t != "test_ecs.py::test_list_clusters"] + ["test_ecs.py::test_new"],
              "outcomes": {t: {"outcome": "failed" if t not in expected.PASSES else "passed", "message": ""}
                           for t in every}}
    assert moto_suite.judge(SUITE, record)[0] == [
        "test_ecs.py::test_new: in no bucket. A test new in this moto version: run it against the cloud, then put it "
        "in one bucket of moto_suite_expectations.py (a quirk with the AWS page that shows ECS's real behaviour, an "
        "operation of api.KNOWN, or our bug to fix).",
        "test_ecs.py::test_list_clusters: listed as passes, but moto has no such test (renamed or removed in this "
        "version): remove or rename the entry."]
    record["outcomes"][passing] = {"outcome": "failed", "message": "AssertionError: assert 0 == 1"}
    record["outcomes"][quirk] = {"outcome": "passed", "message": ""}
    problems = moto_suite.judge(SUITE, record)[0]
    assert problems[0].startswith(f"{passing}: listed as passing, now failed: AssertionError: assert 0 == 1")
    assert problems[1].startswith(f"{quirk}: listed as moto quirk, now passed. If it passes, our ECS does what")
    assert moto_suite.judge(SUITE, record)[1]["passes"] == len(expected.PASSES) - 1


def test_moto_ecs_suite_against_the_local_cloud(tmp_path):
    moto_suite.run_suite(SUITE, tmp_path)
