"""`labkit docker` commands that need no registry: output and exit codes like docker's, and a
hint in the notebook's language after an error."""
from __future__ import annotations

import json
import re

import pytest

from .conftest import ECR_HOST, write_files

ECR_REF = f"{ECR_HOST}/my-app:v1.0"


def test_build_prints_buildkit_steps_to_stderr(docker, lesson_app):
    r = docker("build", "-t", "my-app", ".", cwd=lesson_app)
    assert r.code == 0, r.err
    assert r.out == ""
    assert "#4 [1/5] FROM docker.io/library/python:3.12-slim@sha256:" in r.err
    assert "naming to docker.io/library/my-app:latest done" in r.err
    assert "Successfully installed blinker-" in r.err and " gunicorn-21.2.0 " in r.err
    assert "Note: RUN pip install ran without a network: 9 package(s) came from the course's environment" in r.err


def test_build_quiet_prints_the_image_id(docker, lesson_app, store, tmp_path):
    r = docker("build", "-q", "-t", "my-app", "--iidfile", str(tmp_path / "iid"), str(lesson_app))
    image = store.get("my-app")
    assert r.out.strip() == image.id
    assert (tmp_path / "iid").read_text() == image.id
    assert "#1" not in r.err


def test_build_failure_shows_the_step_the_dockerfile_line_and_a_hint(docker, tmp_path):
    ctx = write_files(tmp_path / "ctx", {"Dockerfile": "FROM python:3.12-slim\n\nWORKDIR /app\nRUN pip install -r requirements.txt\nCOPY . .\n"})
    r = docker("build", "-t", "my-app", str(ctx))
    assert r.code == 1
    assert " > [3/4] RUN pip install -r requirements.txt:\n" in r.err
    assert "ERROR: Could not open requirements file" in r.err
    assert "Dockerfile:4\n--------------------\n   2 |     \n   3 |     WORKDIR /app\n   4 | >>> RUN pip install" in r.err
    assert ("ERROR: failed to solve: process \"/bin/sh -c pip install -r requirements.txt\" did not complete "
            "successfully: exit code: 1") in r.err
    assert "Hint: requirements.txt is not in the image at /app" in r.err


def test_build_errors_in_korean(docker, tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_LANG", "ko")
    ctx = write_files(tmp_path / "ctx", {"Dockerfile": "FROM ubuntu:24.04\n"})
    r = docker("build", "-t", "x", str(ctx))
    assert r.code == 1
    assert "ERROR: failed to solve: ubuntu:24.04: failed to resolve source metadata" in r.err
    assert "힌트: labkit은 인터넷에 연결되지 않아 ubuntu:24.04 이미지를 내려받을 수 없습니다" in r.err
    assert "python:3.12-slim" in r.err
    r = docker("build", "-t", "x", str(tmp_path / "nothing"))
    assert "unable to prepare context" in r.err and "힌트: 빌드 폴더(" in r.err


def test_build_usage_errors(docker, lesson_app):
    r = docker("build", "-t", "my-app", cwd=lesson_app)
    assert r.code == 1 and '"labkit docker build" requires exactly 1 argument.' in r.err
    r = docker("build", "--frobnicate", ".", cwd=lesson_app)
    assert r.code == 125 and "unknown flag: --frobnicate" in r.err
    r = docker("build", "-t", "My-App", ".", cwd=lesson_app)
    assert r.code == 1 and 'ERROR: invalid tag "My-App": repository name (library/My-App) must be lowercase' in r.err


def test_images_table(docker, lesson_app):
    assert docker("images").out == "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"
    docker("build", "-t", "my-app", ".", cwd=lesson_app)
    docker("tag", "my-app:latest", ECR_REF)
    r = docker("images")
    lines = r.out.splitlines()
    assert re.fullmatch(r"REPOSITORY +TAG +IMAGE ID +CREATED +SIZE", lines[0])
    width = len(f"{ECR_HOST}/my-app") + 3
    assert lines[0].startswith("REPOSITORY".ljust(width) + "TAG       IMAGE ID       CREATED")
    rows = sorted(line.split() for line in lines[1:])
    assert [r[:2] for r in rows] == [[f"{ECR_HOST}/my-app", "v1.0"], ["my-app", "latest"]]
    assert rows[0][2] == rows[1][2] and re.fullmatch(r"[0-9a-f]{12}", rows[0][2])
    assert " ".join(rows[0][3:-1]) in ("Less than a second ago", "1 second ago", "2 seconds ago")
    assert re.fullmatch(r"\d+(\.\d+)?MB", rows[0][-1])  # Flask and its dependencies are in the image
    assert docker("images", "my-app").out.count("\n") == 2
    assert docker("images", "-q").out.strip() == rows[0][2]
    assert sorted(docker("images", "--format", "{{.Repository}}:{{.Tag}}").out.split()) == [
        f"{ECR_HOST}/my-app:v1.0", "my-app:latest"]
    assert docker("image", "ls").out == r.out


def test_inspect(docker, lesson_app, store):
    docker("build", "-t", "my-app", ".", cwd=lesson_app)
    r = docker("inspect", "my-app")
    assert r.code == 0
    assert r.out.startswith("[\n    {\n        \"Id\": \"sha256:")
    (doc,) = json.loads(r.out)
    image = store.get("my-app")
    assert doc["Id"] == image.id
    assert doc["RepoTags"] == ["my-app:latest"] and doc["RepoDigests"] == []
    assert doc["Config"]["Cmd"] == ["python", "app.py"]
    assert doc["Config"]["ExposedPorts"] == {"8080/tcp": {}}
    assert doc["Config"]["WorkingDir"] == "/app" and doc["Config"]["Entrypoint"] is None
    assert (doc["Architecture"], doc["Os"], doc["Size"]) == ("amd64", "linux", image.size)
    assert doc["RootFS"] == {"Type": "layers", "Layers": image.config["rootfs"]["diff_ids"]}
    assert doc["Created"] == image.config["created"]
    r = docker("inspect", "--format", "{{.Config.Cmd}} {{.Config.ExposedPorts}} {{json .Config.Cmd}} {{.Os}}", "my-app")
    assert r.out == '[python app.py] map[8080/tcp:{}] ["python","app.py"] linux\n'
    assert docker("image", "inspect", "-f", "{{.Id}}", image.short_id).out.strip() == image.id


def test_inspect_missing(docker):
    r = docker("inspect", "my-app")
    assert (r.code, r.out) == (1, "[]\n")
    assert r.err.startswith("Error: No such object: my-app\nHint: ")
    assert docker("image", "inspect", "nope").err.startswith("Error: No such image: nope")


def test_tag_and_rmi(docker, lesson_app):
    r = docker("tag", "my-app:latest", ECR_REF)
    assert r.code == 1
    assert r.err.startswith("Error response from daemon: No such image: my-app:latest\nHint: ")
    docker("build", "-t", "my-app", ".", cwd=lesson_app)
    assert docker("tag", "my-app:latest", ECR_REF) == type(r)(0, "", "")
    r = docker("tag", "my-app")
    assert r.code == 1 and '"labkit docker tag" requires exactly 2 arguments.' in r.err
    r = docker("tag", "my-app", "Bad:Name")
    assert r.code == 1 and "invalid reference format" in r.err
    r = docker("rmi", ECR_REF)
    assert (r.code, r.out) == (0, f"Untagged: {ECR_REF}\n")
    r = docker("rmi", "my-app")
    assert r.out.startswith("Untagged: my-app:latest\nDeleted: sha256:")
    r = docker("rmi", "my-app")
    assert r.code == 1 and r.err.startswith("Error response from daemon: No such image: my-app:latest")


def test_history(docker, lesson_app):
    docker("build", "-t", "my-app", ".", cwd=lesson_app)
    r = docker("history", "my-app")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert 'CMD ["python" "app.py"]' in lines[1] and "buildkit.dockerfile.v0" in lines[1]
    assert "<missing>" in lines[2]


def test_external_registries_are_refused_before_any_connection(docker, lesson_app):
    docker("build", "-t", "my-app", ".", cwd=lesson_app)
    docker("tag", "my-app", "ghcr.io/me/my-app:v1")
    for argv in (["push", "ghcr.io/me/my-app:v1"], ["push", "my-app"], ["pull", "quay.io/x/y"],
                 ["login", "-u", "me", "--password-stdin", "ghcr.io"], ["login", "-u", "me", "-p", "x"]):
        r = docker(*argv, stdin="secret\n")
        assert r.code == 1, argv
        assert "refusing to contact" in r.err and "only talks to the local cloud" in r.err, argv
        assert "Hint: labkit docker only talks to the local cloud on 127.0.0.1" in r.err


def test_pull_of_a_known_base_uses_the_stand_in(docker, store):
    r = docker("pull", "python:3.12-slim")
    assert r.code == 0
    assert r.out.startswith("3.12-slim: Pulling from library/python\n")
    assert "Status: Downloaded newer image for python:3.12-slim\ndocker.io/library/python:3.12-slim\n" in r.out
    assert store.get("python:3.12-slim").config["config"]["Cmd"] == ["python3"]
    assert "Status: Image is up to date for python:3.12-slim" in docker("pull", "python:3.12-slim").out
    r = docker("pull", "ubuntu")
    assert r.code == 1 and r.err.startswith("Error response from daemon: pull access denied for ubuntu")


def test_push_of_a_missing_image(docker):
    r = docker("push", ECR_REF)
    assert r.code == 1
    assert r.err.startswith(f"An image does not exist locally with the tag: {ECR_HOST}/my-app\nHint: ")
    assert f"labkit docker tag my-app:latest {ECR_REF}" in r.err


def test_login_needs_a_password_from_the_pipe(docker, monkeypatch):
    monkeypatch.setenv("LABKIT_AWS_PORT", "9")  # nothing is contacted before the password check
    r = docker("login", "--username", "AWS", "--password-stdin", ECR_HOST, stdin="")
    assert r.code == 1
    assert r.err.startswith("Error: Password Required\nHint: No password came through the pipe")
    assert "aws ecr get-login-password --region ap-northeast-2" in r.err
    r = docker("login", "--password-stdin", ECR_HOST, stdin="x")
    assert "Must provide --username with --password-stdin" in r.err
    r = docker("login", ECR_HOST, stdin="")
    assert "Cannot perform an interactive login from a non TTY device" in r.err


def test_login_when_the_cloud_is_down(docker, monkeypatch):
    from labkit.cloud.process import free_port

    monkeypatch.setenv("LABKIT_AWS_PORT", str(free_port()))
    r = docker("login", "--username", "AWS", "--password-stdin", ECR_HOST, stdin="pw\n")
    assert r.code == 1
    assert "the local cloud is not answering" in r.err
    assert "Hint: The local cloud is not answering on http://127.0.0.1:" in r.err and "labkit up" in r.err


def test_logout(docker, home):
    from labkit.docker import auth

    auth.save_credentials(ECR_HOST, "AWS", "pw", home)
    assert docker("logout", ECR_HOST).out == f"Removing login credentials for {ECR_HOST}\n"
    assert docker("logout", ECR_HOST).out == f"Not logged in to {ECR_HOST}\n"


@pytest.mark.parametrize("command", ["run", "ps", "exec", "compose"])
def test_commands_that_need_an_engine_explain_why(docker, command, monkeypatch):
    r = docker(command, "my-app")
    assert r.code == 1 and "needs a container engine" in r.err and "App Runner" in r.err
    monkeypatch.setenv("LABKIT_LANG", "ko")
    assert "컨테이너 엔진(Container engine)" in docker(command).err


def test_unknown_command_and_help(docker):
    r = docker("frobnicate")
    assert r.code == 1 and "'frobnicate' is not a docker command" in r.err
    r = docker("--help")
    assert r.code == 0 and "build" in r.out and "push" in r.out
    assert docker("build", "--help").code == 0
