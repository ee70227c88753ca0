"""`RUN pip install` installs for real into the image's layer, offline: each requirement and its
dependencies come from the course's environment (labkit/docker/pip_offline.py)."""
from __future__ import annotations

import base64
import hashlib
import importlib.util
import marshal
import struct
import sys
import types
from importlib import metadata

import pytest

from labkit.docker.build import BuildError, build
from labkit.docker.layers import layer_files
from labkit.docker.store import ImageStore

from .conftest import write_files

SITE = "/usr/local/lib/python3.12/site-packages"
FLASK_AND_DEPENDENCIES = ("flask", "werkzeug", "jinja2", "markupsafe", "itsdangerous", "click", "blinker")
MISSING = "labkit-no-such-package"


def build_files(tmp_path, files: dict, home: str = "home", out=None):
    context = write_files(tmp_path / "ctx", files)
    return build(context, ["t:latest"], store=ImageStore(tmp_path / home), out=out)


def flask_app(requirements: str = "flask\n", base: str = "python:3.12-slim") -> dict:
    return {"Dockerfile": f"FROM {base}\nWORKDIR /app\nCOPY requirements.txt .\n"
                          "RUN pip install --no-cache-dir -r requirements.txt\nCOPY app.py .\n",
            "requirements.txt": requirements, "app.py": "import flask\n"}


def dist_info(name: str) -> str:
    dist = metadata.distribution(name)
    return f"{SITE}/{dist.metadata['Name'].lower().replace('-', '_')}-{dist.version}.dist-info"


def test_flask_and_its_dependencies_are_installed_into_the_layer(tmp_path):
    image = build_files(tmp_path, flask_app()).image
    pip_layer = set(layer_files(image.layer(image.layer_digests[-2])))
    for name in FLASK_AND_DEPENDENCIES:
        dist = metadata.distribution(name)
        info = dist_info(name)
        assert f"{info}/METADATA" in pip_layer, name
        # the real METADATA, byte for byte
        assert image.read_file(f"{info}/METADATA").decode() == dist.read_text("METADATA")
        # every module of the package is there, with the course's bytes
        module = next(f for f in dist.files if str(f).endswith("__init__.py") and "/" in str(f))
        assert image.read_file(f"{SITE}/{module}") == module.locate().read_bytes(), name
        assert image.read_file(f"{info}/INSTALLER") == b"labkit\n"
    assert image.read_file(f"{dist_info('flask')}/REQUESTED") == b""           # asked for
    assert image.read_file(f"{dist_info('werkzeug')}/REQUESTED") is None       # a dependency
    assert b"from flask.cli import main" in image.read_file("/usr/local/bin/flask")


def test_each_module_has_byte_code_for_the_containers_python_valid_for_the_layers_mtime(tmp_path, monkeypatch):
    # pip compiles at install; a container runs the course's Python, so the .pyc is that Python's,
    # timestamp-based against the layer's fixed mtime (what the runtime's extraction keeps)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    image = build_files(tmp_path, flask_app()).image
    pip_layer = set(layer_files(image.layer(image.layer_digests[-2])))
    modules = [f for f in pip_layer if f.endswith(".py") and f.startswith(f"{SITE}/flask/")]
    assert f"{SITE}/flask/app.py" in modules
    for module in modules:
        folder, name = module.rsplit("/", 1)
        pyc = image.read_file(f"{folder}/__pycache__/{name[:-3]}.{sys.implementation.cache_tag}.pyc")
        assert pyc is not None, module
        source = image.read_file(module)
        assert pyc[:4] == importlib.util.MAGIC_NUMBER
        assert struct.unpack("<III", pyc[4:16]) == (0, 1700000000, len(source)), module
        assert isinstance(marshal.loads(pyc[16:]), types.CodeType)
    record = image.read_file(f"{dist_info('flask')}/RECORD").decode().splitlines()
    assert f"flask/__pycache__/app.{sys.implementation.cache_tag}.pyc,," in record


def test_byte_code_is_compiled_when_the_course_has_none_valid(tmp_path):
    from labkit.docker import bytecode

    source = tmp_path / "mod.py"
    source.write_text("VALUE = 42\n")
    data = source.read_bytes()
    pyc = bytecode.for_layer(source, data, "/usr/local/lib/python3.12/site-packages/mod.py", 0)
    assert struct.unpack("<III", pyc[4:16]) == (0, 0, len(data))
    namespace = {}
    exec(marshal.loads(pyc[16:]), namespace)
    assert namespace["VALUE"] == 42
    # a stale .pyc of the course (other bytes) is not reused
    (tmp_path / "__pycache__").mkdir()
    stale = bytecode.header(int(source.stat().st_mtime), len(data)) + marshal.dumps(compile("VALUE = 1", "x", "exec"))
    (tmp_path / bytecode.cache_name("mod.py")).write_bytes(stale)
    fresh = bytecode.for_layer(source, b"VALUE = 7\n", "/x/mod.py", 5)
    namespace = {}
    exec(marshal.loads(fresh[16:]), namespace)
    assert namespace["VALUE"] == 7
    assert bytecode.for_layer(source, b"def (:\n", "/x/mod.py", 0) is None


def test_record_lists_every_installed_file_with_its_hash(tmp_path):
    image = build_files(tmp_path, flask_app()).image
    info = dist_info("flask")
    rows = [line.split(",") for line in image.read_file(f"{info}/RECORD").decode().splitlines()]
    assert [f"{info[len(SITE) + 1:]}/RECORD", "", ""] in rows
    checked = 0
    for path, digest, size in rows:
        if not digest:
            continue
        data = image.read_file(f"/usr/local/bin/{path.rsplit('/', 1)[1]}" if path.startswith("..")
                               else f"{SITE}/{path}")
        assert data is not None, path
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert digest == f"sha256={expected}" and int(size) == len(data), path
        checked += 1
    assert checked > 10


def test_dependency_markers_are_evaluated_for_the_images_python(tmp_path):
    # Flask asks for importlib-metadata only on Python < 3.10, and for asgiref only with [async]
    image = build_files(tmp_path, flask_app()).image
    files = image.files()
    assert not any(f.startswith(f"{SITE}/importlib_metadata") for f in files)
    assert not any(f.startswith(f"{SITE}/asgiref") for f in files)


def test_a_requirement_whose_marker_does_not_match_is_ignored_like_pip(tmp_path):
    lines = []

    class Out:
        def write(self, text):
            lines.append(text)

        def flush(self):
            pass

    result = build_files(tmp_path, flask_app("click; python_version < '3.12'\n"), out=Out())
    assert "Ignoring click: markers 'python_version < \"3.12\"' don't match your environment" in "".join(lines)
    assert not any(f.startswith(f"{SITE}/click/") for f in result.image.files())
    older = build_files(tmp_path, flask_app("click; python_version < '3.12'\n", base="python:3.11-slim"), home="h2")
    assert any(f.startswith("/usr/local/lib/python3.11/site-packages/click/") for f in older.image.files())


def test_the_build_prints_what_pip_prints_and_says_where_packages_came_from(docker, tmp_path):
    context = write_files(tmp_path / "ctx", flask_app())
    r = docker("build", "-t", "my-app", str(context))
    assert r.code == 0, r.err
    flask = metadata.distribution("flask")
    assert "Collecting flask\n" in r.err
    assert f"Using Flask-{flask.version} from the course's environment (no network)" in r.err
    assert "Collecting werkzeug>=" in r.err and "(from flask)" in r.err
    assert "Installing collected packages: " in r.err
    installed = r.err.split("Successfully installed ", 1)[1].split("\n", 1)[0].split()
    assert f"Flask-{flask.version}" in installed and len(installed) == len(FLASK_AND_DEPENDENCIES)
    assert "labkit: no network: installed from the course's environment (" in r.err
    assert "Note: RUN pip install ran without a network: 7 package(s)" in r.err


class Lines:
    def __init__(self):
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def flush(self) -> None:
        pass

    def __str__(self) -> str:
        return "".join(self.parts)


def test_a_requirement_already_in_the_image_is_not_installed_again(tmp_path):
    files = flask_app()
    files["Dockerfile"] += "RUN pip install flask werkzeug\n"
    out = Lines()
    result = build_files(tmp_path, files, out=out)
    version = metadata.version("flask")
    assert f"Requirement already satisfied: flask in {SITE} ({version})" in str(out)
    assert result.image.config["history"][-1]["empty_layer"] is True  # nothing new to install
    assert len(result.image.layer_digests) == len(build_files(tmp_path, flask_app(), home="h2").image.layer_digests)


def test_a_requirement_the_course_lacks_fails_as_pip_fails_without_network(tmp_path):
    out = Lines()
    with pytest.raises(BuildError) as info:
        build_files(tmp_path, flask_app(f"flask\n{MISSING}==1.0\n"), out=out)
    assert info.value.message == ('process "/bin/sh -c pip install --no-cache-dir -r requirements.txt" did not '
                                  'complete successfully: exit code: 1')
    assert info.value.log == [
        f"ERROR: Could not find a version that satisfies the requirement {MISSING}==1.0 (from versions: none)",
        f"ERROR: No matching distribution found for {MISSING}==1.0"]
    assert info.value.hint == ("docker.hint.pip_not_in_course", {"name": MISSING})
    assert f"Collecting {MISSING}==1.0" in str(out)


@pytest.mark.parametrize("lang, hint", [("en", "Hint: With no network, labkit installs packages only from the course's"),
                                        ("ko", "힌트: 네트워크가 없으면 labkit은 코스 환경에 있는 패키지만")])
def test_the_cli_shows_pips_errors_and_a_hint_in_the_students_language(docker, tmp_path, monkeypatch, lang, hint):
    monkeypatch.setenv("LABKIT_LANG", lang)
    context = write_files(tmp_path / "ctx", flask_app(f"{MISSING}\n"))
    r = docker("build", "-t", "my-app", str(context))
    assert r.code == 1
    assert f"ERROR: No matching distribution found for {MISSING}" in r.err
    last = r.err.rstrip("\n").rsplit("\n", 1)[-1]
    assert last.startswith(hint) and MISSING in last


def test_a_version_the_course_lacks_installs_the_courses_with_a_note(tmp_path):
    version = metadata.version("flask")
    result = build_files(tmp_path, flask_app("flask==0.1\n"))
    assert f"{dist_info('flask')}/METADATA" in result.image.files()
    assert ("docker.note.pip_version_substituted",
            {"name": "flask==0.1", "found": f"Flask {version}"}) in result.notes


def test_digests_are_the_same_for_the_same_inputs(tmp_path):
    first = build_files(tmp_path, flask_app(), home="a")
    second = build_files(tmp_path, flask_app(), home="b")
    assert first.digest == second.digest and first.image.layer_digests == second.image.layer_digests


def test_the_course_index_read_from_folder_names_is_the_one_metadata_gives(tmp_path):
    # the index names distributions by their dist-info folders (no METADATA parsed): the same
    # distribution per name as reading every METADATA, first on sys.path with a RECORD
    import sys as _sys

    from packaging.utils import canonicalize_name

    from labkit.docker import pip_offline

    expected = {}
    for dist in metadata.distributions(path=_sys.path):
        name = dist.metadata.get("Name") if dist.metadata else None
        if name and canonicalize_name(name) not in expected and dist.read_text("RECORD") is not None:
            expected[canonicalize_name(name)] = str(dist._path)
    found = pip_offline._course_index(tuple(_sys.path))
    assert {key: str(dist._path) for key, dist in found.items()} == expected
    assert "flask" in found
