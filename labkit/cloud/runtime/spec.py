"""What a service hands the runtime: an image's files and config, and how to run one container of it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class ImageFiles:
    """What the runtime needs of an image; it knows nothing of registries or services."""

    digest: str                                      # the manifest digest, "sha256:..." (cache key)
    config: dict                                     # the image config JSON (its "config": Env, Cmd, ...)
    layers: list[tuple[str, Callable[[], bytes]]]    # (layer digest, read the gzip'd tar blob), base first


@dataclass
class ContainerSpec:
    name: str                                        # unique in this runtime, e.g. "ecs/CLUSTER/TASK/CONTAINER"
    image: ImageFiles
    command: list[str] | None = None                 # overrides the image's Cmd
    entrypoint: list[str] | None = None              # overrides the image's Entrypoint (and drops its Cmd)
    environment: dict[str, str] = field(default_factory=dict)   # added over the image's Env
    working_dir: str | None = None
    user: str | None = None
    ports: list[int] = field(default_factory=list)   # container ports to publish
    on_log: Callable | None = None                   # (container, "stdout"|"stderr", epoch ms, line)
    on_exit: Callable | None = None                  # (container, exit code or None, reason text)
    labels: dict[str, str] = field(default_factory=dict)


class RuntimeLimit(RuntimeError):
    """The runtime already runs as many containers as it may."""


class CannotStart(RuntimeError):
    """The container cannot start (no command, executable not found, unknown user...); the text says
    why, in the words docker uses."""
