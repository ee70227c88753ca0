"""A fresh slate per lab: `labkit.start(lab=...)` gives a lab its own cloud and docker state, so
what the lessons (or other labs) left is not counted by Check my progress, as the grader won't
count it; `labkit.reset()` starts one lab over without touching the others."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest

from labkit.cloud.process import clouds_under, free_port, health


@pytest.fixture
def student(tmp_path, monkeypatch):
    """A student's environment: a private ~/.labkit, the lessons' cloud on a free port."""
    saved = dict(os.environ)
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "labkit"))
    monkeypatch.setenv("LABKIT_AWS_PORT", str(free_port()))
    for name in ("LABKIT_MANAGED", "LABKIT_LAB", "LABKIT_BASE_HOME", "LABKIT_LANG"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path / "labkit"
    for cloud in clouds_under(tmp_path / "labkit"):
        cloud.stop()
    os.environ.clear()
    os.environ.update(saved)


def _ecr(endpoint):
    return boto3.client("ecr", endpoint_url=endpoint, region_name="ap-northeast-2",
                        aws_access_key_id="test", aws_secret_access_key="test")


def _repositories(endpoint):
    return [r["repositoryName"] for r in _ecr(endpoint).describe_repositories()["repositories"]]


def _saved_login(home):
    docker = home / "docker"
    docker.mkdir(parents=True, exist_ok=True)
    (docker / "config.json").write_text(json.dumps(
        {"auths": {"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com": {"auth": "QVdTOnRva2Vu"}}}))


def test_a_lab_does_not_see_what_the_lesson_left(student):
    import labkit
    from labkit.checks.progress import run_step

    lesson = labkit.start()
    _ecr(lesson.endpoint).create_repository(repositoryName="my-app")
    _saved_login(student)  # the lesson's `docker login`

    lab = labkit.start(lab="lab02")
    assert lab.pid != lesson.pid and lab.lab == "lab02" and not lab.reused
    assert os.environ["LABKIT_HOME"] == str(student / "labs" / "lab02")
    assert os.environ["AWS_ENDPOINT_URL"] == lab.endpoint != lesson.endpoint
    assert _repositories(lab.endpoint) == []
    # Check my progress reads the lab's own state: the lesson's repository and login do not count
    assert not any(r.passed for r in run_step("lab02", "repository"))
    assert not any(r.passed for r in run_step("lab02", "login"))
    assert "labkit.reset()" in lab._repr_markdown_()
    # the lesson's cloud still has its repository
    assert _repositories(lesson.endpoint) == ["my-app"]
    # running the first cell again reuses the lab's cloud
    again = labkit.start(lab="lab02")
    assert again.reused and again.pid == lab.pid and os.environ["LABKIT_HOME"] == str(student / "labs" / "lab02")


def test_reset_starts_one_lab_over_and_leaves_the_others(student):
    import labkit

    lab03 = labkit.start(lab="lab03")
    _ecr(lab03.endpoint).create_repository(repositoryName="kept")
    lab02 = labkit.start(lab="lab02")
    _ecr(lab02.endpoint).create_repository(repositoryName="my-app")
    _saved_login(student / "labs" / "lab02")
    said = labkit.reset()
    assert "lab02" in said
    assert _repositories(lab02.endpoint) == []
    assert not (student / "labs" / "lab02" / "docker").exists()
    assert _repositories(lab03.endpoint) == ["kept"]  # another lab keeps its work
    assert health(int(lab02.endpoint.rsplit(":", 1)[1])) is not None  # reset empties the cloud, it does not stop it


def test_the_grader_managed_cloud_is_used_as_given(student, monkeypatch, tmp_path):
    import labkit
    from labkit.cloud.process import start_cloud

    graded = start_cloud(tmp_path / "graded")
    try:
        monkeypatch.setenv("LABKIT_MANAGED", "1")
        monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "graded-client"))
        monkeypatch.setenv("LABKIT_AWS_PORT", str(graded.port))
        session = labkit.start(lab="lab02")
        assert session.pid == graded.pid and session.lab is None
        assert os.environ["LABKIT_HOME"] == str(tmp_path / "graded-client")
        assert "grader" in labkit.reset()  # a graded notebook cannot reset its cloud
    finally:
        graded.stop()


def test_cli_acts_on_one_lab_and_stops_them_all(student):
    env = dict(os.environ)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "labkit.cli", *args], env=env, capture_output=True,
                              text=True, timeout=60)

    assert cli("up").returncode == 0
    up = cli("up", "--lab", "lab02")
    assert up.returncode == 0, up.stderr
    exports = cli("env", "--lab", "lab02").stdout
    assert f"export LABKIT_HOME={student / 'labs' / 'lab02'}" in exports and "export LABKIT_LAB=lab02" in exports
    assert len(clouds_under(student)) == 2
    assert cli("reset", "--lab", "lab02").returncode == 0
    assert cli("up", "--lab", "nope/../x").returncode == 2
    down = cli("down", "--all")
    assert down.returncode == 0 and "2" in down.stdout
    assert clouds_under(student) == []


def test_a_lab_cloud_whose_port_is_taken_while_it_starts_moves_to_a_free_one(student, monkeypatch):
    """Two labs' clouds starting at the same moment (parallel tests, two notebooks): the port was free
    when asked and taken by the time the cloud binds it. The lab then starts on any free port."""
    import socket

    from labkit import session

    preferred = session.lab_settings("lab07").aws_port
    taker = socket.socket()
    try:
        taker.bind(("127.0.0.1", preferred))
        taker.listen()
        asked = []
        real = session.port_in_use
        # the first look finds the port free: the other cloud binds it just after
        monkeypatch.setattr(session, "port_in_use", lambda port: bool(asked.append(port)) or
                            (real(port) if len(asked) > 1 else False))
        cloud, reused, s = session.ensure_lab_cloud("lab07")
        assert not reused and s.aws_port != preferred and health(s.aws_port) is not None
        assert cloud.port == s.aws_port
    finally:
        taker.close()
