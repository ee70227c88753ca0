"""moto's own ECS tests (tests/test_ecs/ of the sdist of the moto installed here) run against the
local cloud's ECS, with each test held to its bucket in moto_suite_expectations.py: PASSES must
pass; moto quirks, operations we do not emulate and our known bugs must still fail (one that starts
passing is named, so its bucket gets fixed); not-applicable tests are not run; a test in no bucket
(a new moto version) fails the suite, naming it.

How the tests reach the cloud: moto's TEST_SERVER_MODE, pointed at a real cloud process
(`labkit.cloud.process.start_cloud`) with TEST_SERVER_MODE_ENDPOINT. That is moto's own way of
running its suite against a server: `mock_aws` then only sets every boto3 client's endpoint_url and
resets state before and after each test with POST /moto-api/reset (which the local cloud answers
with its control token only, and then resets our ECS as well as moto's services: the plugin
moto_suite_plugin.py adds the token). Tests that read moto's internals (its state manager, MOTO_ECS_*
settings) check settings.TEST_SERVER_MODE and skip themselves, so they are visibly not applicable.
Making `mock_aws` a no-op with AWS_ENDPOINT_URL would run those internal tests against nothing and
leave state from test to test.

The sdist comes from PyPI's simple API (or PIP_INDEX_URL), checked against its sha256, cached under
~/.cache/labkit/moto-sdist/ (XDG_CACHE_HOME) and reused; without network the suite skips, saying so.
Run: .venv/bin/python -m pytest -q tests/cloud/ecs/test_moto_suite.py (about 25 s on 2 cores; buckets and
counts: docs/fidelity.md, ECS, "moto's ECS tests").
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest

from labkit.cloud.aws.ecs import api
from labkit.cloud.process import start_cloud
from tests.cloud.ecs import moto_suite_expectations as expected

HERE = Path(__file__).resolve().parent
SIMPLE_INDEX = "https://pypi.org/simple"
RUN_TIMEOUT_S = 300


class NoNetwork(Exception):
    """PyPI could not be reached (the one reason this suite may skip)."""


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "labkit" / "moto-sdist"


def _sdist_link(name: str, version: str) -> tuple[str, str]:
    """(url, sha256) of NAME-VERSION.tar.gz from the index's JSON simple API (PEP 691)."""
    index = (os.environ.get("PIP_INDEX_URL") or SIMPLE_INDEX).rstrip("/")
    request = urllib.request.Request(f"{index}/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            files = json.load(response)["files"]
    except (OSError, ValueError, KeyError) as exc:
        raise NoNetwork(f"{index}/{name}/: {exc}") from None
    wanted = f"{name}-{version}.tar.gz"
    for entry in files:
        if entry.get("filename") == wanted and entry.get("hashes", {}).get("sha256"):
            return entry["url"], entry["hashes"]["sha256"]
    raise AssertionError(f"{index}/{name}/ lists no {wanted} with a sha256: is moto {version} on that index?")


def fetch_sdist(version: str) -> Path:
    """moto's sdist for `version`, downloaded once and verified."""
    target = cache_dir() / f"moto-{version}.tar.gz"
    stamp = target.with_name(target.name + ".sha256")
    if target.exists() and stamp.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == stamp.read_text():
        return target
    url, digest = _sdist_link("moto", version)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".{os.getpid()}.part")
    try:
        with urllib.request.urlopen(url, timeout=120) as response, open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise NoNetwork(f"{url}: {exc}") from None
    got = hashlib.sha256(partial.read_bytes()).hexdigest()
    if got != digest:
        partial.unlink()
        raise AssertionError(f"{url}: sha256 {got}, the index says {digest}")
    partial.replace(target)
    stamp.write_text(digest)
    return target


def extract_ecs_tests(sdist: Path, version: str) -> Path:
    """A folder holding moto's tests/__init__.py, tests/conftest.py (and the other files directly in
    tests/) and tests/test_ecs/, plus an empty pytest.ini so neither moto's nor our settings apply."""
    root = sdist.with_name(f"moto-{version}-ecs-tests")
    if (root / ".complete").exists():
        return root
    prefix = f"moto-{version}/tests/"
    with tarfile.open(sdist) as tar:
        members = []
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith(prefix):
                continue
            inside = member.name[len(prefix):]
            if "/" not in inside or inside.startswith("test_ecs/"):
                member.name = "tests/" + inside
                members.append(member)
        if not any(m.name.startswith("tests/test_ecs/") for m in members):
            raise AssertionError(f"{sdist.name} has no tests/test_ecs/: did moto move its ECS tests?")
        partial = root.with_name(root.name + f".{os.getpid()}.part")
        tar.extractall(partial, members=members, filter="data")
    (partial / "pytest.ini").write_text("[pytest]\n")
    (partial / ".complete").write_text(version)
    if root.exists():  # another run finished first: keep its copy
        shutil.rmtree(partial)
    else:
        partial.rename(root)
    return root


def run_moto_suite(tests_root: Path, cloud, work: Path) -> dict:
    """Run moto's tests/test_ecs against `cloud` in a subprocess pytest; the plugin's JSON record."""
    results, deselect = work / "results.json", work / "deselect.json"
    deselect.write_text(json.dumps(sorted(expected.NOT_APPLICABLE)))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "LABKIT_", "MOTO_", "TEST_SERVER_MODE", "PYTEST_"))}
    env.update({
        "TEST_SERVER_MODE": "true", "TEST_SERVER_MODE_ENDPOINT": cloud.endpoint,
        "MOTO_SUITE_TOKEN": cloud.token, "MOTO_SUITE_RESULTS": str(results), "MOTO_SUITE_DESELECT": str(deselect),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(work / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(work / "aws-credentials"),
        "PYTHONPATH": str(HERE),  # the plugin only: `tests` must be moto's package, not ours
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # moto's tests need no plugin; loading ours costs seconds
    })
    command = [sys.executable, "-m", "pytest", "-p", "moto_suite_plugin", "-p", "no:cacheprovider",
               "-q", "--tb=short", "-rN", "tests/test_ecs"]
    done = subprocess.run(command, cwd=tests_root, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if not results.exists():
        raise AssertionError(f"moto's ECS tests did not run (exit {done.returncode}):\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(results.read_text())


def judge(record: dict) -> tuple[list[str], dict[str, int]]:
    """What is wrong with the run against the buckets (empty: all as expected), and the counts."""
    collected = record["collected"]
    outcomes = record["outcomes"]
    problems = []
    for test in collected:
        buckets = expected.bucket_of(test)
        if not buckets:
            problems.append(f"{test}: in no bucket. A test new in this moto version: run it against the cloud, then "
                            f"put it in one bucket of moto_suite_expectations.py (a quirk with the AWS page that "
                            f"shows ECS's real behaviour, an operation of api.KNOWN, or our bug to fix).")
            continue
        if len(buckets) > 1:
            problems.append(f"{test}: in {len(buckets)} buckets ({', '.join(buckets)}): keep one.")
            continue
        bucket = buckets[0]
        if bucket == "not applicable":
            continue
        result = outcomes.get(test, {"outcome": "not run", "message": ""})
        if bucket == "passes" and result["outcome"] != "passed":
            problems.append(f"{test}: listed as passing, now {result['outcome']}: {result['message']}\n"
                            f"    A regression in labkit/cloud/aws/ecs (fix it), or, if moto changed the test, "
                            f"move it to the bucket that says why.")
        elif bucket != "passes" and result["outcome"] != "failed":
            problems.append(f"{test}: listed as {bucket}, now {result['outcome']}. If it passes, our ECS does what "
                            f"the test asserts: check that this is ECS's real behaviour, then move it to PASSES.")
    for bucket, tests in expected.BUCKETS.items():
        for test in sorted(set(tests) - set(collected)):
            problems.append(f"{test}: listed as {bucket}, but moto has no such test (renamed or removed in this "
                            f"version): remove or rename the entry.")
    counts = {bucket: sum(1 for t in collected if expected.bucket_of(t) == [bucket]) for bucket in expected.BUCKETS}
    return problems, counts


def test_expectations_are_well_formed():
    """Each test in one bucket; quirks cite a page; not-emulated names an operation we answer 501."""
    seen: dict[str, str] = {}
    for bucket, tests in expected.BUCKETS.items():
        for test in tests:
            assert "::" in test and test.startswith("test_ecs"), f"{test}: not FILE::TEST"
            assert test not in seen, f"{test} is in both {seen[test]} and {bucket}"
            seen[test] = bucket
    for test, quirk in expected.MOTO_QUIRKS.items():
        assert quirk.moto and quirk.real, test
        assert "https://" in quirk.source, f"{test}: a quirk must cite where ECS's real behaviour is shown"
    for test, operation in expected.NOT_EMULATED.items():
        assert operation in api.KNOWN and operation not in api.OPERATIONS, f"{test}: {operation} is emulated"
    for test, reason in expected.NOT_APPLICABLE.items():
        assert len(reason) > 20, test


def test_judge_names_each_test_out_of_its_bucket():
    """The suite's verdict on a made-up run: a passing test that fails, a quirk that passes, a new
    test, a listed test moto no longer has."""
    passing = "test_ecs.py::test_create_cluster"
    quirk = "test_ecs.py::test_register_task_definition"
    every = [t for tests in expected.BUCKETS.values() for t in tests]
    record = {"collected": [t for t in every if t != "test_ecs.py::test_list_clusters"] + ["test_ecs.py::test_new"],
              "outcomes": {t: {"outcome": "failed" if t not in expected.PASSES else "passed", "message": ""}
                           for t in every}}
    assert judge(record)[0] == [
        "test_ecs.py::test_new: in no bucket. A test new in this moto version: run it against the cloud, then put it "
        "in one bucket of moto_suite_expectations.py (a quirk with the AWS page that shows ECS's real behaviour, an "
        "operation of api.KNOWN, or our bug to fix).",
        "test_ecs.py::test_list_clusters: listed as passes, but moto has no such test (renamed or removed in this "
        "version): remove or rename the entry."]
    record["outcomes"][passing] = {"outcome": "failed", "message": "AssertionError: assert 0 == 1"}
    record["outcomes"][quirk] = {"outcome": "passed", "message": ""}
    problems = judge(record)[0]
    assert problems[0].startswith(f"{passing}: listed as passing, now failed: AssertionError: assert 0 == 1")
    assert problems[1].startswith(f"{quirk}: listed as moto quirk, now passed. If it passes, our ECS does what")
    assert judge(record)[1]["passes"] == len(expected.PASSES) - 1


def test_moto_ecs_suite_against_the_local_cloud(tmp_path):
    version = installed_version("moto")
    try:
        sdist = fetch_sdist(version)
    except NoNetwork as exc:
        pytest.skip(f"moto {version}'s sdist could not be downloaded (no network to PyPI?): {exc}")
    tests_root = extract_ecs_tests(sdist, version)
    cloud = start_cloud(tmp_path / "cloud")
    try:
        started = time.monotonic()
        record = run_moto_suite(tests_root, cloud, tmp_path)
        took = time.monotonic() - started
    finally:
        cloud.stop()
    problems, counts = judge(record)
    summary = (f"moto {version}, tests/test_ecs: {len(record['collected'])} tests in {took:.1f} s; "
               + ", ".join(f"{bucket} {n}" for bucket, n in counts.items()))
    print(summary)
    if version != expected.MOTO_VERSION:
        summary += f" (the buckets were made for moto {expected.MOTO_VERSION})"
    assert not problems, summary + "\n" + "\n".join(problems)
