"""Known base images: stand-ins built from the data in `labkit/bases/*.json`.

We cannot download real base images, so `FROM python:3.12-slim` uses a stand-in with the real
image's config (Env, Cmd, Entrypoint, ExposedPorts, ...) and one small deterministic layer:
/etc/os-release, a few directories, and the marker /usr/share/labkit/base-image.json, which says
it is a stand-in and where Python's site-packages is. Fidelity gap: no real OS files, so an image
built on it cannot run under a real container engine; the local runtime reads its files instead.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from labkit.docker.layers import Layer, LayerWriter, sha256
from labkit.docker.reference import Reference, parse

BASES_DIR = Path(__file__).resolve().parent.parent / "bases"
MARKER_PATH = "/usr/share/labkit/base-image.json"

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_V1 = "application/vnd.docker.container.image.v1+json"
LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@dataclass(frozen=True)
class BaseImage:
    """A stand-in base image, ready to store: its layer, config and manifest."""

    name: str                 # "python:3.12-slim"
    spec: dict
    layer: Layer
    config: dict
    config_bytes: bytes
    manifest_bytes: bytes

    @property
    def digest(self) -> str:  # manifest digest
        return sha256(self.manifest_bytes)

    @property
    def config_digest(self) -> str:
        return sha256(self.config_bytes)

    @property
    def reference(self) -> Reference:
        return parse(self.name)


def dumps(obj) -> bytes:
    """JSON as Go's encoding/json writes it (compact), so digests are stable."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@lru_cache(maxsize=None)
def _specs() -> dict[str, dict]:
    specs = {}
    for path in sorted(BASES_DIR.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        specs[spec["name"]] = spec
    return specs


def known_names() -> list[str]:
    """The base images `FROM` may name: ['nginx:alpine', 'node:20-slim', 'python:3.11-slim', ...]."""
    return sorted(_specs())


def find_spec(ref: Reference) -> dict | None:
    """The spec of a known base matching a reference (docker.io only; aliases count)."""
    if ref.domain != "docker.io":
        return None
    for spec in _specs().values():
        for name in (spec["name"], *spec.get("aliases", [])):
            known = parse(name)
            if known.path == ref.path and (ref.tag is None or known.tag == ref.tag):
                return spec
    return None


def find(ref: Reference) -> BaseImage | None:
    spec = find_spec(ref)
    if spec is None:
        return None
    base = base_image(spec["name"])
    if ref.digest and ref.digest != base.digest:
        return None
    return base


@lru_cache(maxsize=None)
def base_image(name: str) -> BaseImage:
    spec = _specs()[name]
    marker = {
        "image": spec["name"],
        "stand_in": True,
        "description": spec.get("description", ""),
        "note": "labkit stand-in: the real image's config, /etc/os-release and this file; no real OS files",
    }
    for key in ("python", "node"):
        if key in spec:
            marker[key] = spec[key]
    writer = LayerWriter()
    for directory in spec.get("dirs", []):
        writer.add_dir(directory, 0o1777 if directory == "/tmp" else 0o700 if directory == "/root" else 0o755)
    writer.add_file("/etc/os-release", spec["os_release"].encode())
    for path, content in spec.get("files", {}).items():
        writer.add_file(path, content.encode())
    writer.add_file(MARKER_PATH, (json.dumps(marker, indent=2) + "\n").encode())
    layer = writer.build(mtime=0)  # bases never depend on SOURCE_DATE_EPOCH

    created = spec["created"]
    history = []
    for entry in spec.get("history", []):
        item = {"created": created, "created_by": entry["created_by"]}
        if not entry.get("layer"):
            item["empty_layer"] = True
        else:
            item["comment"] = "labkit stand-in layer"
        history.append(item)
    config = {
        "architecture": spec.get("architecture", "amd64"),
        "config": spec["config"],
        "created": created,
        "history": history,
        "os": spec.get("os", "linux"),
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
    }
    config_bytes = dumps(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_V2,
        "config": {"mediaType": CONFIG_V1, "size": len(config_bytes), "digest": sha256(config_bytes)},
        "layers": [{"mediaType": LAYER_GZIP, "size": len(layer.blob), "digest": layer.digest}],
    }
    return BaseImage(name=spec["name"], spec=spec, layer=layer, config=config,
                     config_bytes=config_bytes, manifest_bytes=dumps(manifest))
