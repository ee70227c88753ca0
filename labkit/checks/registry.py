"""Which labs have checks: `get_lab("lab02")`. Modules are imported on first use, so a kernel
that checks lab 02 never imports the others. Tests may `register()` a lab of their own."""
from __future__ import annotations

import importlib

from labkit.checks.core import Lab

_MODULES = {
    "lab02": "labkit.checks.lab02",
    "lab03": "labkit.checks.lab03",
    "lab06": "labkit.checks.lab06",
    "lab07": "labkit.checks.lab07",
    "lab08": "labkit.checks.lab08",
    "lab09": "labkit.checks.lab09",
}
_REGISTERED: dict[str, Lab] = {}


def register(lab: Lab) -> None:
    _REGISTERED[lab.id] = lab


def lab_ids() -> list[str]:
    return sorted({*_MODULES, *_REGISTERED})


def get_lab(lab_id: str) -> Lab:
    if lab_id in _REGISTERED:
        return _REGISTERED[lab_id]
    if lab_id not in _MODULES:
        raise KeyError(f"no checks for lab {lab_id!r}; known labs: {', '.join(lab_ids())}")
    return importlib.import_module(_MODULES[lab_id]).LAB
