"""Fixtures of the runtime's tests: the isolation to test (bubblewrap, plain processes), a Runtime,
and a local cloud in this process (its Gateway served on a free port) holding the lesson's image
(section 9.1) built and pushed with `labkit docker`, so its ECR model is at hand."""
from __future__ import annotations

import contextlib
import io
import os
import threading
from pathlib import Path
from unittest import mock

import pytest

from labkit.cloud.runtime import Runtime, launch
from tests.docker.conftest import LESSON_APP, LESSON_DOCKERFILE, LESSON_REQUIREMENTS, write_files

from .images import ACCOUNT, REGION

LESSON_REPOSITORY = "my-app"
ECR_HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def use_isolation(monkeypatch, which: str) -> launch.Isolation:
    """Switch the runtime to `which` ("bwrap" or "none") for this test; skip when bubblewrap
    cannot run here (saying why)."""
    monkeypatch.setenv("LABKIT_RUNTIME_ISOLATION", "none" if which == "none" else "auto")
    launch.isolation.cache_clear()
    found = launch.isolation()
    if which == "bwrap" and found.bwrap is None:
        pytest.skip(f"bubblewrap cannot run here: {found.how}")
    return found


@pytest.fixture(params=["bwrap", "none"])
def isolation(request, monkeypatch):
    yield use_isolation(monkeypatch, request.param)
    launch.isolation.cache_clear()


@pytest.fixture
def bwrap_only(monkeypatch):
    yield use_isolation(monkeypatch, "bwrap")
    launch.isolation.cache_clear()


@pytest.fixture
def plain_only(monkeypatch):
    yield use_isolation(monkeypatch, "none")
    launch.isolation.cache_clear()


@pytest.fixture
def runtime(tmp_path):
    rt = Runtime(tmp_path / "runtime")
    yield rt
    rt.stop_all(timeout=1)


@contextlib.contextmanager
def _environment(**values):
    with mock.patch.dict(os.environ, values), contextlib.redirect_stdout(io.StringIO()) as out, \
            contextlib.redirect_stderr(io.StringIO()) as err:
        yield out, err


def _docker(*argv: str, stdin: str | None = None, cwd: Path | None = None) -> None:
    from labkit.docker.cli import main

    old = os.getcwd()
    with mock.patch("sys.stdin", io.StringIO(stdin or "")):
        try:
            if cwd is not None:
                os.chdir(cwd)
            code = main(list(argv))
        finally:
            os.chdir(old)
    assert code == 0, f"labkit docker {' '.join(argv)} failed"


@pytest.fixture(scope="module")
def lesson_cloud(tmp_path_factory):
    """A Gateway served in this process, with my-app:v1 (the lesson's Flask app) pushed by
    `labkit docker build/tag/login/push`. Yields the gateway."""
    from werkzeug.serving import make_server

    from labkit.checks.core import CheckContext
    from labkit.cloud.gateway import Gateway
    from labkit.docker import registry_client

    root = tmp_path_factory.mktemp("lesson-cloud")
    gateway = Gateway(home=str(root / "cloud-home"))
    server = make_server("127.0.0.1", 0, gateway, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    app = write_files(root / "app", {"Dockerfile": LESSON_DOCKERFILE, "app.py": LESSON_APP,
                                     "requirements.txt": LESSON_REQUIREMENTS})
    ecr = CheckContext(endpoint=f"http://127.0.0.1:{port}", home=root / "clients").client("ecr")
    ecr.create_repository(repositoryName=LESSON_REPOSITORY)
    password = registry_client.ecr_credentials(ecr)[1]
    reference = f"{ECR_HOST}/{LESSON_REPOSITORY}:v1"
    with _environment(LABKIT_HOME=str(root / "client-home"), LABKIT_AWS_PORT=str(port), LABKIT_LANG="en"):
        _docker("build", "-t", "my-app", ".", cwd=app)
        _docker("tag", "my-app:latest", reference)
        _docker("login", "--username", "AWS", "--password-stdin", ECR_HOST, stdin=password + "\n")
        _docker("push", reference)
    yield gateway
    gateway.state.stop_containers(timeout=1)
    server.shutdown()
