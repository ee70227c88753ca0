"""`labkit docker build`: the lesson's Dockerfile into a docker v2 schema2 image, deterministic,
with docker's config semantics; RUN pip install installs from the course's environment (more in
test_pip_offline.py), other RUN lines are recorded, not executed."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from labkit.docker import bases
from labkit.docker.bases import CONFIG_V1, LAYER_GZIP, MANIFEST_V2
from labkit.docker.build import BuildError, build
from labkit.docker.layers import layer_files
from labkit.docker.store import ImageStore

from .conftest import LESSON_APP, write_files

SITE = "/usr/local/lib/python3.12/site-packages"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build_files(tmp_path, files: dict, tags=("t:latest",), **kwargs):
    context = write_files(tmp_path / "ctx", files)
    return build(context, list(tags), store=ImageStore(tmp_path / "home"), **kwargs)


# -- the lesson's image --------------------------------------------------------------------------

def test_lesson_image_is_schema2_with_the_right_config(lesson_app, store):
    result = build(lesson_app, ["my-app"], store=store)
    image = result.image
    assert result.tags == ["docker.io/library/my-app:latest"]
    assert image.repo_tags == ["my-app:latest"]
    m = image.manifest
    assert m["schemaVersion"] == 2 and m["mediaType"] == MANIFEST_V2
    assert m["config"]["mediaType"] == CONFIG_V1
    assert m["config"]["digest"] == sha(image.config_bytes) == image.id
    assert m["config"]["size"] == len(image.config_bytes)
    assert all(layer["mediaType"] == LAYER_GZIP for layer in m["layers"])
    assert image.digest == sha(image.manifest_bytes)

    c = image.config
    assert (c["architecture"], c["os"]) == ("amd64", "linux")
    assert c["config"]["Cmd"] == ["python", "app.py"]
    assert c["config"]["ExposedPorts"] == {"8080/tcp": {}}
    assert c["config"]["WorkingDir"] == "/app"
    assert "Entrypoint" not in c["config"]
    assert "PYTHON_VERSION=3.12.12" in c["config"]["Env"]
    assert c["rootfs"]["type"] == "layers"
    # diff_ids are the sha256 of the uncompressed layers, one per layer
    assert c["rootfs"]["diff_ids"] == [sha(gzip.decompress(image.layer(d))) for d in image.layer_digests]
    # base layer + WORKDIR + COPY requirements + RUN pip + COPY . .
    assert len(image.layer_digests) == 5
    created_by = [h["created_by"] for h in c["history"]]
    assert created_by[-6:] == [
        "WORKDIR /app", "COPY requirements.txt . # buildkit",
        "RUN /bin/sh -c pip install --no-cache-dir -r requirements.txt # buildkit", "COPY . . # buildkit",
        "EXPOSE map[8080/tcp:{}]", 'CMD ["python" "app.py"]']
    assert sum(not h.get("empty_layer") for h in c["history"]) == len(image.layer_digests)


def test_lesson_image_layers_hold_the_app_and_the_installed_requirements(lesson_app, store):
    image = build(lesson_app, ["my-app"], store=store).image
    top = layer_files(image.layer(image.layer_digests[-1]))
    assert {"/app/app.py", "/app/requirements.txt", "/app/Dockerfile"} <= set(top)
    assert layer_files(image.layer(image.layer_digests[2])) == ["/app/requirements.txt"]
    files = image.files()
    assert "/etc/os-release" in files and "/usr/share/labkit/base-image.json" in files
    assert image.read_file("/app/app.py").decode() == LESSON_APP
    assert image.read_file(f"{SITE}/labkit-requirements.txt") is None  # the old record is gone
    pip_layer = set(layer_files(image.layer(image.layer_digests[3])))
    assert f"{SITE}/flask/__init__.py" in pip_layer and f"{SITE}/gunicorn/__init__.py" in pip_layer
    assert f"{SITE}/gunicorn-21.2.0.dist-info/METADATA" in pip_layer
    assert "/usr/local/bin/flask" in pip_layer
    assert "Debian" in image.read_file("/etc/os-release").decode()


def test_layers_are_deterministic_tars(lesson_app, store):
    image = build(lesson_app, ["my-app"], store=store).image
    for digest in image.layer_digests:
        blob = image.layer(digest)
        assert blob[4:8] == b"\0\0\0\0"  # gzip mtime 0
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as tar:
            members = tar.getmembers()
        names = [m.name.rstrip("/") for m in members]
        assert names == sorted(names)
        assert all(m.uid == 0 and m.gid == 0 and m.uname == "" and m.mtime == 0 for m in members)
        assert all(m.mode in (0o644, 0o755, 0o700, 0o1777) for m in members)


def test_same_context_gives_the_same_digests(lesson_app, tmp_path):
    first = build(lesson_app, ["my-app"], store=ImageStore(tmp_path / "a")).image
    again = build(lesson_app, ["my-app"], store=ImageStore(tmp_path / "a")).image
    elsewhere = build(lesson_app, ["other:v2"], store=ImageStore(tmp_path / "b")).image
    assert first.digest == again.digest == elsewhere.digest
    assert first.id == elsewhere.id
    (lesson_app / "app.py").write_text(LESSON_APP + "# changed\n")
    changed = build(lesson_app, ["my-app"], store=ImageStore(tmp_path / "a")).image
    assert changed.digest != first.digest
    assert changed.layer_digests[:4] == first.layer_digests[:4]  # only the last COPY changed


def test_file_modes_do_not_depend_on_umask(tmp_path, store):
    ctx = write_files(tmp_path / "ctx", {"Dockerfile": "FROM python:3.12-slim\nCOPY . /src/\n", "a.sh": "x", "b": "y"})
    (ctx / "a.sh").chmod(0o775)
    (ctx / "b").chmod(0o664)
    image = build(ctx, ["t"], store=store).image
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(image.layer(image.layer_digests[-1])))) as tar:
        modes = {m.name: m.mode for m in tar.getmembers()}
    assert modes["src/a.sh"] == 0o755 and modes["src/b"] == 0o644


def test_source_date_epoch_sets_created(lesson_app, store, monkeypatch):
    assert build(lesson_app, ["my-app"], store=store).image.config["created"] == "1970-01-01T00:00:00Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert build(lesson_app, ["my-app"], store=store).image.config["created"] == "2023-11-14T22:13:20Z"


def test_progress_output_resembles_buildkit(lesson_app, store):
    out = io.StringIO()
    build(lesson_app, ["my-app"], store=store, out=out)
    text = out.getvalue()
    for line in ["#1 [internal] load build definition from Dockerfile",
                 "[internal] load metadata for docker.io/library/python:3.12-slim",
                 "[1/5] FROM docker.io/library/python:3.12-slim@sha256:", "[2/5] WORKDIR /app",
                 "[3/5] COPY requirements.txt .", "[4/5] RUN pip install --no-cache-dir -r requirements.txt",
                 "[5/5] COPY . .", "exporting to image", "writing image sha256:",
                 "naming to docker.io/library/my-app:latest done"]:
        assert line in text, line
    assert "CACHED" not in text
    again = io.StringIO()
    build(lesson_app, ["my-app"], store=store, out=again)
    assert again.getvalue().count("CACHED") == 4


# -- bases ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["python:3.12-slim", "python:3.11-slim", "python:3.12-alpine", "nginx:alpine",
                                  "node:20-slim"])
def test_known_bases_build(tmp_path, name):
    assert name in bases.known_names()
    image = build_files(tmp_path, {"Dockerfile": f"FROM {name}\n"}).image
    assert len(image.layer_digests) == 1
    assert image.config["config"] == bases.base_image(name).config["config"]
    assert "/etc/os-release" in image.files()


def test_base_config_is_inherited_like_docker(tmp_path):
    image = build_files(tmp_path, {"Dockerfile": "FROM nginx:alpine\nCOPY index.html /usr/share/nginx/html/\n",
                                   "index.html": "<h1>hi</h1>"}).image
    config = image.config["config"]
    assert config["Entrypoint"] == ["/docker-entrypoint.sh"]
    assert config["Cmd"] == ["nginx", "-g", "daemon off;"]
    assert config["ExposedPorts"] == {"80/tcp": {}}
    assert config["StopSignal"] == "SIGQUIT"
    assert image.read_file("/usr/share/nginx/html/index.html") == b"<h1>hi</h1>"


def test_unknown_base_is_an_error_listing_the_known_ones(tmp_path):
    with pytest.raises(BuildError) as info:
        build_files(tmp_path, {"Dockerfile": "FROM python:3.99-slim\n"})
    message = info.value.message
    assert "python:3.99-slim" in message and "not found" in message
    for name in bases.known_names():
        assert name in message
    assert info.value.hint[0] == "docker.hint.unknown_base"
    assert info.value.line == 1


def test_base_aliases_and_docker_io_names(tmp_path):
    a = build_files(tmp_path / "a", {"Dockerfile": "FROM docker.io/library/python:3.12-slim\n"}).image
    b = build_files(tmp_path / "b", {"Dockerfile": "FROM python:3.12-slim-trixie\n"}).image
    assert a.digest == b.digest


def test_from_a_local_image_and_scratch(tmp_path):
    store = ImageStore(tmp_path / "home")
    write_files(tmp_path / "one", {"Dockerfile": "FROM python:3.12-slim\nCOPY a.txt /a.txt\n", "a.txt": "a"})
    build(tmp_path / "one", ["base:1"], store=store)
    write_files(tmp_path / "two", {"Dockerfile": "FROM base:1\nCOPY b.txt /b.txt\n", "b.txt": "b"})
    child = build(tmp_path / "two", ["child"], store=store).image
    assert {"/a.txt", "/b.txt"} <= set(child.files())
    assert len(child.layer_digests) == 3
    write_files(tmp_path / "three", {"Dockerfile": "FROM scratch\nCOPY b.txt /\n", "b.txt": "b"})
    scratch = build(tmp_path / "three", ["s"], store=store).image
    assert scratch.files() == ["/b.txt"]
    assert scratch.config["config"] == {}


# -- instructions ---------------------------------------------------------------------------------

def test_shell_and_exec_form_cmd_and_entrypoint(tmp_path):
    def config(dockerfile):
        return build_files(tmp_path, {"Dockerfile": "FROM python:3.12-slim\n" + dockerfile}).image.config["config"]

    assert config('CMD ["python", "app.py"]\n')["Cmd"] == ["python", "app.py"]
    assert config("CMD python app.py\n")["Cmd"] == ["/bin/sh", "-c", "python app.py"]
    c = config('ENTRYPOINT ["gunicorn"]\n')
    assert c["Entrypoint"] == ["gunicorn"] and "Cmd" not in c  # ENTRYPOINT resets the base's CMD
    c = config('CMD ["-b", ":8080"]\nENTRYPOINT ["gunicorn"]\n')
    assert c["Entrypoint"] == ["gunicorn"] and c["Cmd"] == ["-b", ":8080"]
    c = config("ENTRYPOINT exec gunicorn app:app\n")
    assert c["Entrypoint"] == ["/bin/sh", "-c", "exec gunicorn app:app"]
    assert config("CMD [\"python\", 'app.py']\n")["Cmd"] == ["/bin/sh", "-c", "[\"python\", 'app.py']"]
    assert config('SHELL ["/bin/bash", "-c"]\nCMD echo hi\n')["Cmd"] == ["/bin/bash", "-c", "echo hi"]
    assert config("CMD []\n")["Cmd"] == []


def test_shell_form_cmd_warns_like_buildkit(tmp_path):
    result = build_files(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nCMD python app.py\n"})
    assert result.warnings == ["JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended "
                               "behavior related to OS signals (line 2)"]


def test_env_arg_label_user_expose(tmp_path):
    dockerfile = """\
ARG BASE=python:3.12-slim
FROM ${BASE}
ARG PORT=8000
ARG GREETING
ENV APP_HOME=/srv/app PORT=$PORT
ENV LEGACY value with spaces
ENV QUOTED="a b" SINGLE='$NOT' ESCAPED=\\$HOME
LABEL org.opencontainers.image.title="my app" version=1.0
WORKDIR $APP_HOME
USER 1000:1000
EXPOSE $PORT 9000/udp 7000-7001
CMD ["python", "app.py"]
"""
    result = build_files(tmp_path, {"Dockerfile": dockerfile}, build_args={"PORT": "8080", "GREETING": "hi"})
    c = result.image.config["config"]
    env = dict(e.split("=", 1) for e in c["Env"])
    assert env["APP_HOME"] == "/srv/app" and env["PORT"] == "8080"
    assert env["LEGACY"] == "value with spaces"
    assert (env["QUOTED"], env["SINGLE"], env["ESCAPED"]) == ("a b", "$NOT", "$HOME")
    assert "GREETING" not in env  # ARG values are not kept in the image
    assert c["Labels"] == {"org.opencontainers.image.title": "my app", "version": "1.0"}
    assert c["WorkingDir"] == "/srv/app"
    assert c["User"] == "1000:1000"
    assert c["ExposedPorts"] == {"8080/tcp": {}, "9000/udp": {}, "7000/tcp": {}, "7001/tcp": {}}


def test_variable_defaults_and_alternatives(tmp_path):
    dockerfile = "FROM python:3.12-slim\nARG A\nARG B=set\nENV X=${A:-fallback} Y=${B:+alt} Z=${A:+alt}\n"
    env = build_files(tmp_path, {"Dockerfile": dockerfile}).image.config["config"]["Env"]
    assert {"X=fallback", "Y=alt", "Z="} <= set(env)


def test_workdir_relative_and_layers(tmp_path):
    image = build_files(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nWORKDIR /a\nWORKDIR b\nWORKDIR /a\n"}).image
    assert image.config["config"]["WorkingDir"] == "/a"
    assert len(image.layer_digests) == 3  # /a and /a/b created; the last WORKDIR exists already
    assert image.config["history"][-1] == {"created": "1970-01-01T00:00:00Z", "created_by": "WORKDIR /a",
                                           "comment": "buildkit.dockerfile.v0", "empty_layer": True}


def test_copy_globs_directories_and_destinations(tmp_path):
    files = {
        "Dockerfile": ("FROM python:3.12-slim\nWORKDIR /app\nCOPY *.py ./\nCOPY static static\n"
                       "COPY config/settings.toml /etc/app.toml\nCOPY [\"data/a b.txt\", \"/data/\"]\n"
                       "COPY --chmod=700 run.sh /usr/local/bin/run\n"),
        "app.py": "a", "util.py": "u", "README.md": "r", "static/css/site.css": "c", "static/logo.svg": "l",
        "config/settings.toml": "s", "data/a b.txt": "d", "run.sh": "#!/bin/sh\n",
    }
    image = build_files(tmp_path, files).image
    got = set(image.files())
    assert {"/app/app.py", "/app/util.py", "/app/static/css/site.css", "/app/static/logo.svg", "/etc/app.toml",
            "/data/a b.txt", "/usr/local/bin/run"} <= got
    assert "/app/README.md" not in got and "/app/static/static" not in str(got)
    fs = image.filesystem()
    assert fs["usr/local/bin/run"].mode == 0o700


def test_copy_several_sources_needs_a_directory(tmp_path):
    with pytest.raises(BuildError) as info:
        build_files(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nCOPY a b /dest\n", "a": "", "b": ""})
    assert "the destination must be a directory and end with a /" in info.value.message


def test_copy_missing_source_says_not_found(tmp_path):
    with pytest.raises(BuildError) as info:
        build_files(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n"})
    assert info.value.message == ('failed to compute cache key: failed to calculate checksum of ref: '
                                  '"/requirements.txt": not found')
    assert info.value.line == 3 and info.value.step == "[3/3] COPY requirements.txt ."
    assert info.value.hint[0] == "docker.hint.copy_missing"


def test_copy_outside_the_context_is_forbidden(tmp_path):
    with pytest.raises(BuildError, match="outside the build context"):
        build_files(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nCOPY ../secret /\n"})


def test_dockerignore(tmp_path):
    files = {
        "Dockerfile": "FROM python:3.12-slim\nCOPY . /app/\n",
        ".dockerignore": "# comment\n.venv\n**/__pycache__\n*.log\n!keep.log\nsecrets/\n/build\n",
        "app.py": "", "debug.log": "", "keep.log": "", ".venv/bin/python": "", "pkg/__pycache__/x.pyc": "",
        "pkg/mod.py": "", "secrets/key": "", "build/out": "", "sub/build/keep": "",
    }
    got = set(build_files(tmp_path, files).image.files())
    assert {"/app/app.py", "/app/keep.log", "/app/pkg/mod.py", "/app/Dockerfile", "/app/.dockerignore",
            "/app/sub/build/keep"} <= got
    for gone in ("/app/debug.log", "/app/.venv/bin/python", "/app/pkg/__pycache__/x.pyc", "/app/secrets/key",
                 "/app/build/out"):
        assert gone not in got


def test_chown_is_ignored_with_a_note(tmp_path):
    result = build_files(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nCOPY --chown=app:app a /a\n", "a": "x"})
    assert ("docker.note.chown_ignored", {"line": 2}) in result.notes
    assert result.image.filesystem()["a"].mode == 0o644


def test_add_unpacks_a_local_tar(tmp_path):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("pkg/hello.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    image = build_files(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nADD bundle.tar.gz /opt/\n",
                                   "bundle.tar.gz": raw.getvalue()}).image
    assert image.read_file("/opt/pkg/hello.txt") == b"hi"


def test_add_url_is_refused(tmp_path):
    with pytest.raises(BuildError, match="no internet"):
        build_files(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nADD https://example.com/x.tgz /x\n"})


# -- RUN ---------------------------------------------------------------------------------------------

def test_pip_install_forms_all_install(tmp_path):
    dockerfile = """\
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt base.txt ./
RUN pip install --upgrade pip && \\
    pip3 install --no-cache-dir -r requirements.txt
RUN python -m pip install "requests>=2" click -i https://pypi.org/simple
"""
    files = {"Dockerfile": dockerfile, "requirements.txt": "-r base.txt\n# web\ngunicorn==21.2.0  # server\n",
             "base.txt": "--index-url https://x\nitsdangerous\n"}
    result = build_files(tmp_path, files)
    names = result.image.files()
    for package in ("itsdangerous", "gunicorn", "requests", "urllib3", "click"):
        assert any(f.startswith(f"{SITE}/{package}/") for f in names), package
    assert not any(f.startswith(f"{SITE}/pip/") for f in names)  # the base's pip: "already satisfied"
    assert not result.warnings


def test_other_run_lines_are_recorded_in_history_with_a_warning(tmp_path):
    result = build_files(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y curl\n"})
    assert len(result.image.layer_digests) == 1
    last = result.image.config["history"][-1]
    assert last["created_by"] == "RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit"
    assert last["empty_layer"] is True
    assert any(w.startswith("RunNotExecuted") and "(line 2)" in w for w in result.warnings)
    assert ("docker.note.run_not_executed", {"line": 2}) in result.notes


def test_pip_install_with_a_missing_requirements_file_fails_like_pip(tmp_path):
    with pytest.raises(BuildError) as info:
        build_files(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nRUN pip install -r requirements.txt\n"})
    assert info.value.message == ('process "/bin/sh -c pip install -r requirements.txt" did not complete '
                                  'successfully: exit code: 1')
    assert info.value.log == ["ERROR: Could not open requirements file: [Errno 2] No such file or directory: "
                              "'requirements.txt'"]
    assert info.value.hint[0] == "docker.hint.requirements_missing"


def test_pip_without_python_fails_with_127(tmp_path):
    with pytest.raises(BuildError) as info:
        build_files(tmp_path, {"Dockerfile": "FROM node:20-slim\nRUN pip install flask\n"})
    assert info.value.message.endswith("exit code: 127")
    assert info.value.hint[0] == "docker.hint.pip_no_python"


# -- stages and errors -----------------------------------------------------------------------------

def test_multi_stage_copy_from(tmp_path):
    dockerfile = """\
FROM python:3.12-slim AS builder
WORKDIR /src
COPY app.py .
RUN pip install flask

FROM python:3.12-alpine
COPY --from=builder /src/app.py /app/app.py
CMD ["python", "/app/app.py"]
"""
    out = io.StringIO()
    image = build_files(tmp_path, {"Dockerfile": dockerfile, "app.py": "print(1)"}, out=out).image
    assert image.read_file("/app/app.py") == b"print(1)"
    assert "/src/app.py" not in image.files()
    assert "Alpine" in image.read_file("/etc/os-release").decode()
    assert "[builder 2/4] WORKDIR /src" in out.getvalue() and "[stage-1 2/2] COPY --from=builder" in out.getvalue()
    target = build_files(tmp_path, {"Dockerfile": dockerfile, "app.py": "print(1)"}, target="builder").image
    assert "/src/app.py" in target.files()


def test_parse_errors(tmp_path):
    with pytest.raises(BuildError) as info:
        build_files(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nRUNN echo\n"})
    assert info.value.message == "dockerfile parse error on line 2: unknown instruction: RUNN (did you mean RUN?)"
    with pytest.raises(BuildError, match="no build stage"):
        build_files(tmp_path, {"Dockerfile": "COPY . .\n"})


def test_missing_dockerfile_and_context(tmp_path, store):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BuildError) as info:
        build(tmp_path / "empty", ["x"], store=store)
    assert info.value.message == "failed to read dockerfile: open Dockerfile: no such file or directory"
    assert info.value.hint[0] == "docker.hint.dockerfile_missing"
    with pytest.raises(Exception, match="unable to prepare context"):
        build(tmp_path / "nowhere", ["x"], store=store)


def test_invalid_tag(lesson_app, store):
    with pytest.raises(Exception) as info:
        build(lesson_app, ["My-App"], store=store)
    assert info.value.message == 'ERROR: invalid tag "My-App": repository name (library/My-App) must be lowercase'


def test_line_continuations_and_comments(tmp_path):
    dockerfile = "FROM python:3.12-slim\nENV A=1 \\\n# a comment inside\n    B=2\nLABEL x=y\n"
    c = build_files(tmp_path, {"Dockerfile": dockerfile}).image.config["config"]
    assert {"A=1", "B=2"} <= set(c["Env"]) and c["Labels"] == {"x": "y"}


def test_legacy_key_value_format_warns(tmp_path):
    result = build_files(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nENV A 1\nLABEL maintainer me@example.com\n"})
    assert result.image.config["config"]["Labels"] == {"maintainer": "me@example.com"}
    assert result.warnings == [
        'LegacyKeyValueFormat: "ENV key=value" should be used instead of legacy "ENV key value" format (line 2)',
        'LegacyKeyValueFormat: "LABEL key=value" should be used instead of legacy "LABEL key value" format (line 3)']


def test_a_lowercase_dockerfile_is_found(tmp_path):
    assert build_files(tmp_path, {"dockerfile": "FROM python:3.12-slim\nCMD [\"x\"]\n"}).image.config["config"]["Cmd"] == ["x"]
