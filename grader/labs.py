"""Which checks grade a lab: labkit's registry (`labkit.checks.registry.get_lab`) by default, or
a module the instructor names with `--checks` (a dotted module or a .py file) that defines
`get_lab(lab_id)`, `LAB`, or registers its labs in labkit's registry when imported.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from grader.errors import GraderError


def load_checks_module(spec: str):
    if spec.endswith(".py") or "/" in spec or "\\" in spec:
        path = Path(spec).expanduser().resolve()
        if not path.exists():
            raise GraderError(f"--checks {spec}: no such file")
        name = f"grader_checks_{path.stem}"
        if name in sys.modules:
            return sys.modules[name]
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(spec)
    except ImportError as exc:
        raise GraderError(f"--checks {spec}: cannot import it ({exc})") from None


def get_lab(lab_id: str, checks: str | None = None):
    """The labkit `Lab` that grades `lab_id`."""
    if checks:
        module = load_checks_module(checks)
        if hasattr(module, "get_lab"):
            return module.get_lab(lab_id)
        lab = getattr(module, "LAB", None)
        if lab is not None and getattr(lab, "id", None) == lab_id:
            return lab
        labs = getattr(module, "LABS", None)
        if isinstance(labs, dict) and lab_id in labs:
            return labs[lab_id]
    try:
        from labkit.checks.registry import get_lab as registry_get_lab
    except ImportError as exc:
        raise GraderError(f"labkit's check registry is missing ({exc})") from None
    try:
        return registry_get_lab(lab_id)
    except KeyError as exc:
        raise GraderError(f"{exc.args[0] if exc.args else exc}; pass --checks MODULE for a lab of your own") from None


def steps_of(lab) -> list[dict]:
    return [{"id": s.id, "title_key": s.title_key, "max_points": s.max_points(include_hidden=True),
             "visible_points": s.max_points(include_hidden=False)} for s in lab.steps]
