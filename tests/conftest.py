"""Shared fixtures: a private local cloud per test session (own port, own home), and clients
that point at it. Nothing here reads ~/.aws or reaches past 127.0.0.1."""
from __future__ import annotations

import os

import pytest

# what a lab notebook shows (tests/notebooks/lab_outputs.py) is asserted from tests/grader too:
# pytest's readable assertion failures there as well
pytest.register_assert_rewrite("tests.notebooks.lab_outputs")

from labkit.checks.core import CheckContext
from labkit.cloud import owner
from labkit.cloud.process import start_cloud

# Every cloud this test run starts, however (a fixture, a kernel, a grader), ends with the run's
# outermost pytest process, even when a timeout kills it midway (labkit/cloud/owner.py).
os.environ.setdefault(owner.ENV, str(os.getpid()))


@pytest.fixture(scope="session")
def cloud(tmp_path_factory):
    """A running local cloud for this pytest worker, stopped at the end."""
    home = tmp_path_factory.mktemp("labkit-home")
    proc = start_cloud(home)
    yield proc
    proc.stop()


@pytest.fixture
def fresh_cloud(cloud):
    """The session's cloud, reset to empty before the test."""
    cloud.control("reset")
    return cloud


@pytest.fixture
def ctx(fresh_cloud, tmp_path):
    return CheckContext(endpoint=fresh_cloud.endpoint, home=tmp_path / "labkit-home")


@pytest.fixture
def aws(ctx):
    """aws("ecr") -> a boto3 client on the fresh cloud (fake credentials, pinned endpoint)."""
    return ctx.client


@pytest.fixture
def cloud_env(fresh_cloud, tmp_path, monkeypatch):
    """Environment for subprocesses (aws CLI, labkit CLI) pointed at the fresh cloud."""
    from labkit import env as cloud_env_module
    from labkit.config import Settings

    settings = Settings(home=tmp_path / "labkit-home", aws_port=fresh_cloud.port, managed=True)
    env = dict(os.environ)
    cloud_env_module.apply(cloud_env_module.cloud_environment(settings), env)
    env["HOME"] = str(tmp_path)  # a ~/.aws that could leak is never the real one
    return env


def pytest_sessionstart(session):
    """CI installs bubblewrap (.ci/run sets GRADER_REQUIRE_SANDBOX=1): there, a sandbox that does not
    work is a failure of the whole run, not a row of skipped sandbox tests."""
    import os

    if os.environ.get("GRADER_REQUIRE_SANDBOX") == "1":
        from grader.sandbox import probe

        ok, how = probe()
        if not ok:
            raise pytest.UsageError(f"GRADER_REQUIRE_SANDBOX=1 but there is no sandbox: {how}")
