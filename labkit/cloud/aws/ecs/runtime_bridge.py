"""The runtime interface ECS uses (issue 8, /work/notes/issue8.md), imported in one place.

Until labkit/cloud/runtime lands, the same shapes are defined here so ECS and its tests work;
once it exists, its classes are used and these are never defined.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

try:
    from labkit.cloud.runtime import ContainerSpec, ImageFiles, RuntimeLimit  # noqa: F401
except ImportError:  # the runtime is being written at the same time (issue 8)
    @dataclass(frozen=True)
    class ImageFiles:  # type: ignore[no-redef]
        digest: str
        config: dict
        layers: list

    @dataclass
    class ContainerSpec:  # type: ignore[no-redef]
        name: str
        image: ImageFiles
        command: list | None = None
        entrypoint: list | None = None
        environment: dict = field(default_factory=dict)
        working_dir: str | None = None
        user: str | None = None
        ports: list = field(default_factory=list)
        on_log: Callable | None = None
        on_exit: Callable | None = None
        labels: dict = field(default_factory=dict)

    class RuntimeLimit(Exception):  # type: ignore[no-redef]
        """The runtime runs as many containers as it may."""


def runtime_of(state):
    """The cloud's one runtime (`state.runtime`), or None where this cloud has none."""
    try:
        return state.runtime
    except AttributeError:
        return None
