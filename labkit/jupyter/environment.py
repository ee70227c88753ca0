"""Where the course is, and the environment a student's or an instructor's Jupyter server runs in.

One place for both `labkit lab` (launch.py) and Binder's start script (binder.py), so every way
of opening the course gets the same setup.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

CONFIG = Path(__file__).resolve().parent / "config"
MODES = ("student", "instructor")
REPO = Path(__file__).resolve().parents[2]  # the course repository (the project installs with `pip install -e .`)
INSTRUCTOR_COURSE = ".labkit-instructor"     # the instructor's nbgrader course, under the repository by default


def course_dir() -> Path:
    """The students' folder: `course/` of this repository (LABKIT_COURSE_DIR overrides, for a copy elsewhere)."""
    return Path(os.environ.get("LABKIT_COURSE_DIR") or REPO / "course").expanduser().resolve()


def config_path(mode: str) -> list[Path]:
    """JUPYTER_CONFIG_PATH's entries for `mode`, highest priority first."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    return [CONFIG / mode, CONFIG / "common"]


def server_environment(mode: str, root: Path, base: dict | None = None) -> dict[str, str]:
    """`base` (default os.environ) with the Jupyter configuration of `mode` and JupyterLab rooted at
    `root`. This Python's bin folder comes first on PATH, so `!aws` and `!labkit` in a notebook are
    the course's own."""
    env = dict(os.environ if base is None else base)
    ours = [str(p) for p in config_path(mode)]
    theirs = [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p and p not in ours]
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(ours + theirs)
    env["LABKIT_JUPYTER_ROOT"] = str(root)
    bin_dir = str(Path(sys.executable).parent)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != bin_dir]
    env["PATH"] = os.pathsep.join([bin_dir, *path])
    return env
