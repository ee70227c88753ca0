"""The local cloud's container runtime: runs an image's own files as a container, for ECS now
and App Runner, Cloud Run and pods later, through one small interface (see
docs/architecture.md, Runtime). Modules: spec (what services pass), images (a pushed image as
ImageFiles), rootfs (layers on disk), standin (what a stand-in base gets), plan (docker's rules
for the first process), launch (bubblewrap or a plain process), network (addresses and the
relay), agent (inside the container), container (the view services get), supervisor (Runtime).
"""
from labkit.cloud.runtime.container import Container
from labkit.cloud.runtime.spec import ContainerSpec, ImageFiles, RuntimeLimit
from labkit.cloud.runtime.supervisor import Runtime

__all__ = ["Runtime", "ContainerSpec", "ImageFiles", "Container", "RuntimeLimit"]
