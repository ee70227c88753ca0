"""A container imports its packages from the image's own files: `labkit docker build` installed
Flask and its dependencies into the image's site-packages, so the course's environment is not on
the container's path; only an image built before that (a recorded labkit-requirements.txt, no
installed files) still gets the course's site-packages."""
from __future__ import annotations

import json
import os
import sys
from importlib import metadata

from labkit.cloud.runtime import Runtime
from labkit.cloud.runtime.standin import MARKER, stand_in

from .test_lesson_app import Recorder, lesson_spec, wait_for

SITE = "/usr/local/lib/python3.12/site-packages"
PROBE = ("import flask, werkzeug, jinja2, os; "
         "print(flask.__file__); print(werkzeug.__file__); print(jinja2.__file__); print(os.environ['PYTHONPATH'])")


def course_site() -> str:
    return os.path.realpath(str(metadata.distribution("flask").locate_file("")))


def test_a_container_imports_flask_from_the_images_files(lesson_cloud, isolation, tmp_path):
    runtime = Runtime(tmp_path / "runtime")
    recorder = Recorder()
    container = runtime.start(lesson_spec(lesson_cloud, "probe", recorder, entrypoint=["python", "-c"],
                                          command=[PROBE]))
    try:
        assert wait_for(lambda: recorder.exits)
        assert recorder.exits == [("probe", 0, "exited")], recorder.logs
    finally:
        runtime.stop_all(timeout=1)
    flask_file, werkzeug_file, jinja_file, python_path = [line for *_, line in recorder.logs]
    for found, package in ((flask_file, "flask"), (werkzeug_file, "werkzeug"), (jinja_file, "jinja2")):
        expected = f"{SITE}/{package}/__init__.py"
        # bubblewrap: the image's path itself; plain processes: that path in the container's copy
        assert found == expected if isolation.bwrap else found.endswith("/rootfs" + expected), found
    assert course_site() not in python_path.split(":")
    assert container.exit_code == 0


def stand_in_root(tmp_path, files: dict[str, str]):
    root = tmp_path / "rootfs"
    marker = root / MARKER
    marker.parent.mkdir(parents=True)
    marker.write_text(json.dumps({"stand_in": True, "image": "python:3.12-slim",
                                  "python": {"version": "3.12.12", "site_packages": SITE}}))
    for path, text in files.items():
        target = root / (SITE.lstrip("/") + "/" + path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def test_an_image_built_before_installs_still_gets_the_courses_packages(tmp_path):
    old = stand_in(stand_in_root(tmp_path / "old", {
        "labkit-requirements.txt": "flask==3.0.0\n",
        "flask-3.0.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: flask\nVersion: 3.0.0\n",
        "flask-3.0.0.dist-info/INSTALLER": "labkit (recorded, not installed)\n"}))
    assert old.course_paths == [course_site()]


def test_an_image_with_its_own_packages_never_gets_the_courses(tmp_path):
    own = stand_in(stand_in_root(tmp_path / "own", {
        "labkit-requirements.txt": "flask\n",  # even next to an old record
        "flask-3.1.3.dist-info/METADATA": "Metadata-Version: 2.1\nName: Flask\nVersion: 3.1.3\n",
        "flask-3.1.3.dist-info/RECORD": "flask/__init__.py,,\n",
        "flask/__init__.py": ""}))
    assert own.site_packages == SITE and own.course_paths == [] and own.missing == []
    fresh = stand_in(stand_in_root(tmp_path / "fresh", {}))
    assert fresh.course_paths == []


COUNT_COMPILES = """
import importlib._bootstrap_external as external
compiled = []
source_to_code = external.SourceLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    compiled.append(path)
    return source_to_code(self, data, path, *args, **kwargs)
external.SourceLoader.source_to_code = counting
import flask, flask.cli, werkzeug.serving, jinja2, click
print(flask.__cached__)
print(' '.join(p for p in compiled if 'site-packages' in p) or 'none compiled')
"""


def test_a_container_start_imports_flask_from_the_images_byte_code(lesson_cloud, isolation, tmp_path):
    # the image's .pyc (labkit/docker/bytecode.py) are valid where the runtime extracted them: no
    # module of the image's site-packages is compiled from source at a container's start
    runtime = Runtime(tmp_path / "runtime")
    recorder = Recorder()
    runtime.start(lesson_spec(lesson_cloud, "compiles", recorder, entrypoint=["python", "-c"],
                              command=[COUNT_COMPILES]))
    try:
        assert wait_for(lambda: recorder.exits)
        assert recorder.exits == [("compiles", 0, "exited")], recorder.logs
    finally:
        runtime.stop_all(timeout=1)
    cached, compiled = [line for *_, line in recorder.logs]
    assert cached.endswith(f"{SITE}/flask/__pycache__/__init__.{sys.implementation.cache_tag}.pyc"), cached
    assert compiled == "none compiled"
