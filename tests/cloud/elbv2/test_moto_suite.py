"""moto's own ELBv2 tests (tests/test_elbv2/ of the sdist of the moto installed here) run against the
local cloud's ELBv2 (labkit/cloud/aws/elbv2 in front of moto's), each test held to its bucket in
moto_suite_expectations.py. How the run works (download, server mode, the buckets' verdicts):
tests/cloud/moto_suite.py.

The cloud runs with MOTO_EC2_LOAD_DEFAULT_AMIS=false: moto's EC2 reloads its catalogue of default AMIs
at every reset, 0.2-0.3 s of each of these tests, and none of them reads it (an instance's AMI is not
checked unless MOTO_ENABLE_AMI_VALIDATION is set).

Run: .venv/bin/python -m pytest -q tests/cloud/elbv2/test_moto_suite.py (about 30 s on 2 cores; buckets and
counts: docs/fidelity.md, ELBv2, "moto's ELBv2 tests").
"""
from __future__ import annotations

from labkit.cloud.aws.elbv2 import api
from tests.cloud import moto_suite
from tests.cloud.elbv2 import moto_suite_expectations as expected


def _served_nowhere(operation: str) -> bool:
    """Neither labkit/cloud/aws/elbv2 nor moto's ELBv2 answers this operation."""
    from moto.elbv2.responses import ELBV2Response  # here: collecting this file need not import moto

    moto_method = "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")
    return operation not in api.SERVED and not hasattr(ELBV2Response, moto_method)


SUITE = moto_suite.Suite(
    folder="test_elbv2", service="ELBv2", code="labkit/cloud/aws/elbv2", expected=expected,
    not_emulated_hint="an operation neither we nor moto serve",
    is_not_emulated=_served_nowhere,
    also=("test_ec2/__init__.py",),  # test_elbv2_target_health.py imports tests.test_ec2.ec2_aws_verified
    cloud_env={"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"})


def test_expectations_are_well_formed():
    """Each test in one bucket; quirks cite a page; reasons say something."""
    moto_suite.check_expectations(SUITE)
    assert _served_nowhere("DescribeLoadBalancers") is False and _served_nowhere("RegisterTargets") is False
    assert _served_nowhere("MakeCoffee") is True


def test_judge_names_each_test_out_of_its_bucket():
    """The suite's verdict on a made-up run: a passing test that fails, a quirk that passes."""
    passing = "test_elbv2.py::test_describe_load_balancers"
    quirk = "test_elbv2.py::test_create_load_balancer"
    every = [t for tests in moto_suite.buckets(expected).values() for t in tests]
    record = {"collected": every,
              "outcomes": {t: {"outcome": "failed" if t not in expected.PASSES else "passed", "message": ""}
                           for t in every}}
    assert moto_suite.judge(SUITE, record)[0] == []
    record["outcomes"][passing] = {"outcome": "failed", "message": "AssertionError"}
    record["outcomes"][quirk] = {"outcome": "passed", "message": ""}
    problems = moto_suite.judge(SUITE, record)[0]
    assert problems[0].startswith(f"{passing}: listed as passing, now failed: AssertionError\n"
                                  f"    A regression in labkit/cloud/aws/elbv2 (fix it)")
    assert problems[1].startswith(f"{quirk}: listed as moto quirk, now passed. If it passes, our ELBv2 does what")


def test_moto_elbv2_suite_against_the_local_cloud(tmp_path):
    moto_suite.run_suite(SUITE, tmp_path)
