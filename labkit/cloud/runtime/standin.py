"""What the runtime adds to an image built on one of labkit's stand-in bases (labkit/bases/*.json).

A stand-in has the real image's config but no OS files (labkit/docker/bases.py). `labkit docker
build` installs `RUN pip install` into the image's own site-packages (labkit/docker/pip_offline.py),
so the image carries its packages. So:
- `python`, `python3` and `pythonX.Y` in /usr/local/bin are links to the local Python (the
  installation of sys.executable, bound read-only where the container runs);
- the image's site-packages is on PYTHONPATH; the course environment's site-packages is added
  only for an image built before builds installed packages: one that carries the old record
  (labkit-requirements.txt) and no installed distribution of its own (a dist-info with a RECORD);
- the OS's programs (/bin/sh, cat, ls, ...) are the host's, read-only (see launch.py).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from labkit.cloud.runtime.rootfs import inside

MARKER = "usr/share/labkit/base-image.json"
REQUIREMENTS = "labkit-requirements.txt"
LINK_FOLDER = "usr/local/bin"
NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass
class StandIn:
    image: str                                # "python:3.12-slim"
    site_packages: str | None = None          # in the image: "/usr/local/lib/python3.12/site-packages"
    course_paths: list[str] = field(default_factory=list)   # host site-packages to add (read-only)
    missing: list[str] = field(default_factory=list)        # recorded requirements the course lacks


def local_python() -> Path:
    """The local Python's real executable: the installation's, not a venv's (a venv made with
    --copies has its own, which needs the venv around it)."""
    return Path(os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable))


def python_home() -> Path:
    return Path(os.path.realpath(sys.base_prefix))


def flavour() -> str:
    """What a stand-in's cached rootfs depends on besides its digest: the local Python's path."""
    return hashlib.sha256(str(local_python()).encode()).hexdigest()[:8]


def read_marker(root: Path) -> dict | None:
    path = root / MARKER
    if not path.is_file() or path.is_symlink():
        return None
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and marker.get("stand_in") else None


def add_python(root: Path) -> None:
    """Link python/python3/pythonX.Y in the image's /usr/local/bin to the local Python (called on
    a fresh extraction of a Python stand-in; links the image made itself are kept)."""
    marker = read_marker(root)
    if not marker or "python" not in marker:
        return
    version = str(marker["python"].get("version", "")).split(".")
    names = ["python", "python3"] + ([f"python{version[0]}.{version[1]}"] if len(version) >= 2 else [])
    folder = inside(root, LINK_FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        link = folder / name
        if not os.path.lexists(link):
            os.symlink(local_python(), link)


@functools.lru_cache(maxsize=256)
def _course_location(name: str) -> str | None:
    """The site-packages folder of the course environment holding distribution `name`, or None."""
    from importlib import metadata

    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    return os.path.realpath(str(dist.locate_file("")))


def requirement_names(text: str) -> list[str]:
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        found = NAME.match(line)
        if found:
            names.append(found.group(1))
    return names


def has_own_packages(site: Path) -> bool:
    """Whether the image's site-packages holds an installed distribution (a dist-info with a
    RECORD, as pip and `labkit docker build` write), not only the stubs old builds recorded."""
    try:
        return any(entry.name.endswith(".dist-info") and (entry / "RECORD").is_file() for entry in site.iterdir())
    except OSError:
        return False


def stand_in(root: Path) -> StandIn | None:
    """What the runtime adds for the image at `root`, or None if it is not built on a stand-in."""
    marker = read_marker(root)
    if marker is None:
        return None
    found = StandIn(image=str(marker.get("image", "")))
    python = marker.get("python")
    if isinstance(python, dict) and python.get("site_packages"):
        found.site_packages = str(python["site_packages"])
        site = inside(root, found.site_packages.lstrip("/"), follow_last=True)
        recorded = inside(root, found.site_packages.lstrip("/") + "/" + REQUIREMENTS, follow_last=True)
        if recorded.is_file() and not has_own_packages(site):
            for name in requirement_names(recorded.read_text(encoding="utf-8", errors="replace")):
                location = _course_location(name)
                if location is None:
                    found.missing.append(name)
                elif location not in found.course_paths:
                    found.course_paths.append(location)
    return found
