"""Binder's files, the course Dockerfile and docker-compose.yml parse, pin what pyproject.toml pins
and start the student setup of `make lab`. Neither Binder nor Docker can run here, so this is what
can be proven without them (tests/jupyter/test_binder.py runs binder/start with a local server)."""
from __future__ import annotations

import fnmatch
import json
import os
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def pins(requirements) -> dict[str, str]:
    out = {}
    for req in requirements:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]+\])?==([\w.]+)", req.strip())
        assert m, f"not pinned exactly: {req!r}"
        out[m.group(1).lower().replace("_", "-")] = m.group(3)
    return out


def test_every_runtime_dependency_is_pinned_exactly():
    assert pins(pyproject()["project"]["dependencies"])
    assert pins(pyproject()["project"]["optional-dependencies"]["test"])


def test_environment_yml_pins_the_same_versions_and_python_311():
    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pins(pip_section) == pins(pyproject()["project"]["dependencies"])
    assert not any("docker" in str(d).lower() and "dockerfile-parse" not in str(d) for d in deps)


def test_binder_files_are_all_in_binder():
    """repo2docker reads only binder/ once it exists: a root-level environment.yml would be ignored."""
    for name in ("environment.yml", "environment.yaml", "requirements.txt", "postBuild", "start", "apt.txt",
                 "runtime.txt", ".binder"):
        assert not (ROOT / name).exists(), f"{name} at the root is ignored by repo2docker (binder/ exists)"


def test_binder_installs_the_project_after_the_repository_is_copied():
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert post_build.startswith("#!/bin/bash\n") and "set -euo pipefail" in post_build
    assert "pip install --no-cache-dir --no-deps -e ." in post_build  # its dependencies: environment.yml
    assert os.access(ROOT / "binder" / "postBuild", os.X_OK)


def test_binder_start_applies_the_student_setup_then_runs_binders_server():
    start = (ROOT / "binder" / "start").read_text()
    assert start.startswith("#!/bin/bash\n")
    assert "python -m labkit.jupyter.binder" in start
    assert start.rstrip().splitlines()[-1] == 'exec "$@"'  # repo2docker's contract
    assert os.access(ROOT / "binder" / "start", os.X_OK)


def test_binder_badge_opens_the_landing_page():
    badge = re.search(r"\(https://mybinder\.org/v2/gh/[^)]*\)", (ROOT / "README.md").read_text()).group(0)
    assert "urlpath=lab/tree/en/00_index.ipynb" in badge  # the course index; JupyterLab's root on Binder is course/


def test_license_is_an_spdx_expression_with_a_setuptools_that_reads_it():
    assert pyproject()["project"]["license"] == "MIT"
    assert pyproject()["build-system"]["requires"] == ["setuptools>=77"]


def test_jupyter_configuration_ships_with_the_package():
    data = pyproject()["tool"]["setuptools"]["package-data"]["labkit"]
    config = ROOT / "labkit" / "jupyter" / "config"
    shipped = [p for p in config.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert shipped
    for path in shipped:
        relative = path.relative_to(ROOT / "labkit").as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in data), f"{relative} is not package data"


def test_requires_python_matches():
    assert pyproject()["project"]["requires-python"] == ">=3.11"


def test_dockerfile_uses_python_311_and_installs_from_pyproject():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert "pip install --no-cache-dir -e ." in text  # the pins come from pyproject.toml


def test_dockerfile_starts_the_student_setup_as_a_user():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER student$", text, re.M)  # never root: no --allow-root needed
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))
    assert cmd[:2] == ["labkit", "lab"] and "--instructor" not in cmd
    assert cmd[cmd.index("--port") + 1] == "8888" and "--no-browser" in cmd
    # all of the container's interfaces, so Docker can forward it (compose publishes on loopback)
    assert cmd[cmd.index("--") + 1:] == ["--ServerApp.ip=0.0.0.0"]
    assert re.search(r"JUPYTER_TOKEN=course", text)


def test_compose_builds_the_course_image_and_publishes_on_loopback_only():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["course"]
    assert service["build"]["dockerfile"] == "Dockerfile"
    assert service["image"].endswith(":" + pyproject()["project"]["version"])
    assert all(p.startswith("127.0.0.1:") for p in service["ports"])
    assert service["init"] is True
    assert "command" not in service  # the Dockerfile's student setup
    mounted = [v.split(":")[0] for v in service["volumes"]]
    assert "./course" in mounted and all(m in ("./course", "labkit-state") for m in mounted)
    assert service["environment"]["JUPYTER_TOKEN"] == "course"
