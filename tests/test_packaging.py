"""Binder's environment.yml, the course Dockerfile and docker-compose.yml parse and pin what
pyproject.toml pins. Docker cannot run here, so this is what can be proven without it."""
from __future__ import annotations

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
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict))
    assert "-e ." in pip_section
    assert pins([p for p in pip_section if p != "-e ."]) == pins(pyproject()["project"]["dependencies"])
    assert not any("docker" in str(d).lower() and "dockerfile-parse" not in str(d) for d in deps)


def test_requires_python_matches():
    assert pyproject()["project"]["requires-python"] == ">=3.11"


def test_dockerfile_uses_python_311_and_installs_from_pyproject():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert "pip install --no-cache-dir -e ." in text  # the pins come from pyproject.toml


def test_compose_builds_the_course_image_and_publishes_on_loopback_only():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["course"]
    assert service["build"]["dockerfile"] == "Dockerfile"
    assert service["image"].endswith(":" + pyproject()["project"]["version"])
    assert all(p.startswith("127.0.0.1:") for p in service["ports"])
