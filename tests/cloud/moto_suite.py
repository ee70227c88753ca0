"""moto's own tests for a service this project serves, run against the local cloud: what every
service's suite shares (tests/cloud/<service>/test_moto_suite.py holds one `Suite` and its buckets in
moto_suite_expectations.py).

Each test of moto's tests/<folder>/ is held to one bucket: PASSES must pass; moto quirks, operations
we do not emulate and our known bugs must still fail (one that starts passing is named, so its bucket
gets fixed); not-applicable tests are not run; a test in no bucket (a new moto version) fails the
suite, naming it.

How the tests reach the cloud: moto's TEST_SERVER_MODE, pointed at a real cloud process
(`labkit.cloud.process.start_cloud`) with TEST_SERVER_MODE_ENDPOINT. That is moto's own way of
running its suite against a server: `mock_aws` then only sets every boto3 client's endpoint_url and
resets state before and after each test with POST /moto-api/reset (which the local cloud answers
with its control token only, and then resets our services as well as moto's: moto_suite_plugin.py
adds the token). Tests that read moto's internals check settings.TEST_SERVER_MODE and skip
themselves, so they are visibly not applicable. Making `mock_aws` a no-op with AWS_ENDPOINT_URL would
run those internal tests against nothing and leave state from test to test.

The sdist of the moto installed comes from PyPI's simple API (or PIP_INDEX_URL), checked against its
sha256, cached under ~/.cache/labkit/moto-sdist/ (XDG_CACHE_HOME) and reused; without network a suite
skips, saying so.
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
import urllib.request
from dataclasses import dataclass, field
from importlib.metadata import version as installed_version
from pathlib import Path
from types import ModuleType
from typing import Callable, NamedTuple

import pytest

from labkit.cloud.process import start_cloud

PLUGIN = Path(__file__).resolve().parent / "moto_suite_plugin.py"
SIMPLE_INDEX = "https://pypi.org/simple"
RUN_TIMEOUT_S = 300
BUCKET_NAMES = ("passes", "not applicable", "moto quirk", "not emulated", "our bug")


class Quirk(NamedTuple):
    moto: str    # what moto's test asserts
    real: str    # what the real service does instead
    source: str  # where that is documented or seen (a URL)


def buckets(expected: ModuleType) -> dict:
    """An expectations module's buckets by name (PASSES, NOT_APPLICABLE, MOTO_QUIRKS, NOT_EMULATED, OUR_BUGS)."""
    return dict(zip(BUCKET_NAMES, (expected.PASSES, expected.NOT_APPLICABLE, expected.MOTO_QUIRKS,
                                   expected.NOT_EMULATED, expected.OUR_BUGS)))


def bucket_of(expected: ModuleType, test_id: str) -> list[str]:
    """The buckets naming `test_id` (exactly one, when the expectations are right)."""
    return [name for name, tests in buckets(expected).items() if test_id in tests]


@dataclass(frozen=True)
class Suite:
    folder: str                          # moto's tests/<folder>/, e.g. "test_ecs"
    service: str                         # as the messages name it: "ECS"
    code: str                            # where a regression gets fixed: "labkit/cloud/aws/ecs"
    expected: ModuleType                 # the buckets (moto_suite_expectations.py)
    not_emulated_hint: str               # what a not-emulated entry names: "an operation of api.KNOWN"
    is_not_emulated: Callable[[str], bool]  # a NOT_EMULATED entry's value is something we do not serve
    also: tuple[str, ...] = ()           # other files of moto's tests/ that the folder imports
    cloud_env: dict = field(default_factory=dict)  # settings of the cloud process for this run (say why)


class NoNetwork(Exception):
    """PyPI could not be reached (the one reason a suite may skip)."""


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


def extract_tests(sdist: Path, version: str, folder: str, also: tuple[str, ...] = ()) -> Path:
    """A folder holding moto's tests/__init__.py, tests/conftest.py (and the other files directly in
    tests/), tests/<folder>/ and the files `also` names, plus an empty pytest.ini so neither moto's nor
    our settings apply."""
    root = sdist.with_name(f"moto-{version}-{folder.removeprefix('test_')}-tests")
    if (root / ".complete").exists():
        return root
    prefix = f"moto-{version}/tests/"
    with tarfile.open(sdist) as tar:
        members = []
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith(prefix):
                continue
            inside = member.name[len(prefix):]
            if "/" not in inside or inside.startswith(f"{folder}/") or inside in also:
                member.name = "tests/" + inside
                members.append(member)
        if not any(m.name.startswith(f"tests/{folder}/") for m in members):
            raise AssertionError(f"{sdist.name} has no tests/{folder}/: did moto move these tests?")
        partial = root.with_name(root.name + f".{os.getpid()}.part")
        tar.extractall(partial, members=members, filter="data")
    (partial / "pytest.ini").write_text("[pytest]\n")
    (partial / ".complete").write_text(version)
    if root.exists():  # another run finished first: keep its copy
        shutil.rmtree(partial)
    else:
        partial.rename(root)
    return root


def run_moto_tests(suite: Suite, tests_root: Path, cloud, work: Path) -> dict:
    """Run moto's tests/<folder> against `cloud` in a subprocess pytest; the plugin's JSON record."""
    results, deselect = work / "results.json", work / "deselect.json"
    deselect.write_text(json.dumps(sorted(suite.expected.NOT_APPLICABLE)))
    plugin_dir = work / "plugin"  # the plugin alone on PYTHONPATH: `tests` must be moto's package, not ours
    plugin_dir.mkdir(exist_ok=True)
    shutil.copy(PLUGIN, plugin_dir / PLUGIN.name)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "LABKIT_", "MOTO_", "TEST_SERVER_MODE", "PYTEST_"))}
    env.update({
        "TEST_SERVER_MODE": "true", "TEST_SERVER_MODE_ENDPOINT": cloud.endpoint,
        "MOTO_SUITE_TOKEN": cloud.token, "MOTO_SUITE_RESULTS": str(results), "MOTO_SUITE_DESELECT": str(deselect),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(work / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(work / "aws-credentials"),
        "PYTHONPATH": str(plugin_dir),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # moto's tests need no plugin; loading ours costs seconds
    })
    command = [sys.executable, "-m", "pytest", "-p", PLUGIN.stem, "-p", "no:cacheprovider",
               "-q", "--tb=short", "-rN", f"tests/{suite.folder}"]
    done = subprocess.run(command, cwd=tests_root, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if not results.exists():
        raise AssertionError(f"moto's {suite.service} tests did not run (exit {done.returncode}):\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(results.read_text())


def judge(suite: Suite, record: dict) -> tuple[list[str], dict[str, int]]:
    """What is wrong with the run against the buckets (empty: all as expected), and the counts."""
    expected, service = suite.expected, suite.service
    collected = record["collected"]
    outcomes = record["outcomes"]
    problems = []
    for test in collected:
        found = bucket_of(expected, test)
        if not found:
            problems.append(f"{test}: in no bucket. A test new in this moto version: run it against the cloud, then "
                            f"put it in one bucket of moto_suite_expectations.py (a quirk with the AWS page that "
                            f"shows {service}'s real behaviour, {suite.not_emulated_hint}, or our bug to fix).")
            continue
        if len(found) > 1:
            problems.append(f"{test}: in {len(found)} buckets ({', '.join(found)}): keep one.")
            continue
        bucket = found[0]
        if bucket == "not applicable":
            continue
        result = outcomes.get(test, {"outcome": "not run", "message": ""})
        if bucket == "passes" and result["outcome"] != "passed":
            problems.append(f"{test}: listed as passing, now {result['outcome']}: {result['message']}\n"
                            f"    A regression in {suite.code} (fix it), or, if moto changed the test, "
                            f"move it to the bucket that says why.")
        elif bucket != "passes" and result["outcome"] != "failed":
            problems.append(f"{test}: listed as {bucket}, now {result['outcome']}. If it passes, our {service} does "
                            f"what the test asserts: check that this is {service}'s real behaviour, then move it to "
                            f"PASSES.")
    for bucket, tests in buckets(expected).items():
        for test in sorted(set(tests) - set(collected)):
            problems.append(f"{test}: listed as {bucket}, but moto has no such test (renamed or removed in this "
                            f"version): remove or rename the entry.")
    counts = {bucket: sum(1 for t in collected if bucket_of(expected, t) == [bucket]) for bucket in BUCKET_NAMES}
    return problems, counts


def check_expectations(suite: Suite) -> None:
    """Each test in one bucket; quirks cite a page; not-emulated names something we do not serve;
    reasons say something."""
    seen: dict[str, str] = {}
    for bucket, tests in buckets(suite.expected).items():
        for test in tests:
            assert "::" in test and test.split("::")[0].endswith(".py"), f"{test}: not FILE::TEST"
            assert test not in seen, f"{test} is in both {seen[test]} and {bucket}"
            seen[test] = bucket
    for test, quirk in suite.expected.MOTO_QUIRKS.items():
        assert quirk.moto and quirk.real, test
        assert "https://" in quirk.source, f"{test}: a quirk must cite where {suite.service}'s real behaviour is shown"
    for test, what in suite.expected.NOT_EMULATED.items():
        assert suite.is_not_emulated(what), f"{test}: {what} is emulated"
    for test, reason in {**suite.expected.NOT_APPLICABLE, **suite.expected.OUR_BUGS}.items():
        assert len(reason) > 20, test


def run_suite(suite: Suite, tmp_path: Path) -> None:
    """Download (or reuse) moto's tests, run them against a fresh cloud process, hold them to the buckets."""
    version = installed_version("moto")
    try:
        sdist = fetch_sdist(version)
    except NoNetwork as exc:
        pytest.skip(f"moto {version}'s sdist could not be downloaded (no network to PyPI?): {exc}")
    tests_root = extract_tests(sdist, version, suite.folder, suite.also)
    cloud = start_cloud(tmp_path / "cloud", extra_env=suite.cloud_env)
    try:
        started = time.monotonic()
        record = run_moto_tests(suite, tests_root, cloud, tmp_path)
        took = time.monotonic() - started
    finally:
        cloud.stop()
    problems, counts = judge(suite, record)
    summary = (f"moto {version}, tests/{suite.folder}: {len(record['collected'])} tests in {took:.1f} s; "
               + ", ".join(f"{bucket} {n}" for bucket, n in counts.items()))
    print(summary)
    if version != suite.expected.MOTO_VERSION:
        summary += f" (the buckets were made for moto {suite.expected.MOTO_VERSION})"
    assert not problems, summary + "\n" + "\n".join(problems)
