"""labkit.start() / labkit up|down|status|env: start once, reuse after, respect a grader-managed cloud."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from labkit.cloud.process import free_port, health


@pytest.fixture
def private_env(tmp_path, monkeypatch):
    port = free_port()
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LABKIT_AWS_PORT", str(port))
    monkeypatch.delenv("LABKIT_MANAGED", raising=False)
    env = dict(os.environ)
    yield env, port
    subprocess.run([sys.executable, "-m", "labkit.cli", "down"], env=env, capture_output=True)


def labkit_cli(env, *args):
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_up_status_down_cycle(private_env):
    env, port = private_env
    assert labkit_cli(env, "status").returncode == 1
    up = labkit_cli(env, "up")
    assert up.returncode == 0 and f"127.0.0.1:{port}" in up.stdout
    assert health(port) is not None
    again = labkit_cli(env, "up")
    assert "already running" in again.stdout
    assert labkit_cli(env, "status").returncode == 0
    down = labkit_cli(env, "down")
    assert down.returncode == 0 and "stopped" in down.stdout
    assert health(port) is None
    # at once again, on the same port (its old connections may still be in TIME_WAIT)
    assert labkit_cli(env, "up").returncode == 0 and health(port) is not None


def test_start_reuses_a_running_cloud_and_sets_the_environment(private_env):
    env, port = private_env
    import labkit

    first = labkit.start()
    second = labkit.start()
    assert first.pid == second.pid and second.reused and not first.reused
    assert os.environ["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
    assert os.environ["AWS_DEFAULT_REGION"] == "ap-northeast-2"
    assert "127.0.0.1" in first._repr_markdown_()


def test_start_in_korean_says_so_in_korean(private_env, monkeypatch):
    import labkit

    session = labkit.start(lang="ko")
    assert "로컬 클라우드" in session._repr_markdown_()


def test_managed_cloud_is_never_started_by_the_kernel(private_env, monkeypatch):
    """Under the grader the cloud belongs to the grader: a missing one is an error, not a new cloud."""
    import labkit
    from labkit.session import CloudNotRunning

    monkeypatch.setenv("LABKIT_MANAGED", "1")
    with pytest.raises(CloudNotRunning):
        labkit.start()
    assert health(private_env[1]) is None


def test_reset_needs_the_control_token(cloud):
    import json
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"{cloud.endpoint}/_labkit/reset", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    assert err.value.code == 403
    assert cloud.control("reset") == {"reset": True}
    assert json.loads(urllib.request.urlopen(f"{cloud.endpoint}/_labkit/health").read())["service"] == "labkit"


@pytest.fixture
def port_taken_by_a_stranger(private_env, monkeypatch):
    """Something that is not the local cloud listens on the port (as LocalStack would on 4566)."""
    import socket

    from labkit import session

    env, port = private_env
    monkeypatch.setattr(session, "STARTING_GRACE_S", 0.3)
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", port))
        stranger.listen()
        yield port


@pytest.mark.parametrize("lang, words", [("en", "already used by another program"), ("ko", "다른 프로그램이 이미 쓰고")])
def test_a_port_held_by_another_program_is_named_with_the_way_out(port_taken_by_a_stranger, monkeypatch, capsys,
                                                                   lang, words):
    import labkit
    from labkit.cli import main

    port = port_taken_by_a_stranger
    monkeypatch.setenv("LABKIT_LANG", lang)
    with pytest.raises(labkit.session.PortInUse) as raised:
        labkit.start()
    assert words in str(raised.value) and f'LABKIT_AWS_PORT"] = "{port + 1}"' in str(raised.value)
    assert main(["up"]) == 1
    err = capsys.readouterr().err
    assert words in err and f"export LABKIT_AWS_PORT={port + 1}" in err
    assert health(port) is None  # nothing of ours was left half-started
