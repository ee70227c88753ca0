"""The grader's own code must be the same after a notebook ran as before.

Student code runs with the instructor's permissions (as in plain nbgrader), so a notebook could
edit labkit's checks or the grader on disk instead of redefining them in its kernel, or drop a
`.pth` / `sitecustomize.py` into site-packages that runs in every later kernel. A worker imports
every module it will use before grading anything (later edits cannot change code already
loaded), and fingerprints those files before and after each notebook: a change marks that
submission "not graded" and the run ends with a warning to reinstall before grading again.
Not covered: the grader's sample submissions (never run by the grader), botocore's data files (too many to hash per submission) and anything outside the
Python installation.
"""
from __future__ import annotations

import hashlib
import importlib
import pkgutil
from pathlib import Path

PACKAGES = ("labkit", "grader", "nbgrader", "nbclient", "nbconvert", "jupyter_client", "ipykernel")
SKIP_IMPORT = ("labkit.cloud.server", "labkit.fastcli", "grader.bench", "grader.samples",
               "grader.distributed")  # Dask: the main process and Dask workers, never a grading process


def import_everything(packages=("labkit", "grader")) -> list[str]:
    """Import every submodule now, while no student code has run. Returns what failed to import."""
    failed = []
    for name in packages:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if info.name.startswith(SKIP_IMPORT) or ".tests" in info.name or info.name.endswith("__main__"):
                continue
            try:
                importlib.import_module(info.name)
            except Exception:  # optional parts (a missing extra) are not ours to judge here
                failed.append(info.name)
    return failed


def roots(extra: list[str] | None = None) -> list[Path]:
    found = []
    for name in PACKAGES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        found.extend(Path(p) for p in getattr(module, "__path__", []))
    found.extend(Path(p) for p in extra or [])
    return found


def site_files() -> list[Path]:
    """Top-level .pth and .py files of every site-packages (what Python runs at start-up)."""
    import site
    import sys

    dirs = {p for p in [*site.getsitepackages(), site.getusersitepackages(), *sys.path] if "site-packages" in p}
    files = []
    for d in sorted(dirs):
        folder = Path(d)
        if folder.is_dir():
            files.extend(sorted(folder.glob("*.pth")) + sorted(folder.glob("*.py")))
            files.append(folder)  # the listing itself: a new file counts
    return files


def snapshot(paths: list[Path]) -> dict[str, str]:
    """path -> sha256 of every .py and .json file under `paths` (files or folders)."""
    prints: dict[str, str] = {}
    for root in paths:
        if root.name == "site-packages" and root.is_dir():
            names = sorted(p.name for p in root.iterdir() if p.suffix in (".pth", ".py"))
            prints[str(root)] = hashlib.sha256("\n".join(names).encode()).hexdigest()
            continue
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.suffix in (".py", ".json")
                                               and "samples" not in p.relative_to(root).parts]
        for path in files:
            try:
                prints[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                prints[str(path)] = "unreadable"
    return prints


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
