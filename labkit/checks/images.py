"""What the lab checks need to know about images: the student's local build, saved registry
credentials, and what a registry holds. Reads only; every URL fetched is on 127.0.0.1."""
from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
]


# -- client-side state (what `labkit docker` saved) ------------------------------------------

def saved_credentials(home: Path, registry: str) -> tuple[str, str] | None:
    """(user, password) that `docker login REGISTRY` saved in LABKIT_HOME/docker/config.json."""
    from labkit.docker.auth import get_credentials

    return get_credentials(registry, home=home)


def credentials_accepted(endpoint: str, registry: str, credentials: tuple[str, str]) -> bool:
    """Does the local cloud's registry accept these credentials (`GET /v2/`, as docker login does)?"""
    from labkit.docker.errors import DockerError
    from labkit.docker.registry_client import RegistryClient

    with RegistryClient(registry, credentials, endpoint=endpoint) as client:
        try:
            client.check_login()
            return True
        except DockerError:
            return False


@dataclass
class LocalImage:
    config: dict


def local_image(home: Path, ref: str) -> LocalImage | None:
    """The image `ref` in the student's local image store (built by `labkit docker build`)."""
    from labkit.docker.errors import DockerError
    from labkit.docker.store import ImageStore

    try:
        return LocalImage(config=ImageStore(Path(home)).get(ref).config)
    except (DockerError, OSError, ValueError):  # no store yet, unknown ref, unreadable store
        return None


# -- image config ---------------------------------------------------------------------------------

def effective_command(config: dict) -> list[str] | None:
    """What the container runs: ENTRYPOINT + CMD, as docker combines them."""
    inner = (config or {}).get("config") or {}
    entry, cmd = inner.get("Entrypoint") or [], inner.get("Cmd") or []
    combined = [*entry, *cmd]
    return combined or None


def exposed_ports(config: dict) -> set[str]:
    inner = (config or {}).get("config") or {}
    return set((inner.get("ExposedPorts") or {}).keys())


# -- what ECR holds ---------------------------------------------------------------------------

@dataclass
class PushedImage:
    manifest: dict
    config: dict
    _layers: list[bytes] = field(default_factory=list)

    def files(self) -> set[str]:
        """Every path in the image's layers (e.g. '/app/app.py')."""
        from labkit.docker.layers import layer_files

        return {path for blob in self._layers for path in layer_files(blob)}


def pushed_image(ecr, repository: str, tag: str) -> PushedImage | None:
    """Fetch a pushed image through ECR's own API (BatchGetImage + GetDownloadUrlForLayer), as
    a real client without docker would."""
    response = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}],
                                   acceptedMediaTypes=MANIFEST_TYPES)
    if not response.get("images"):
        return None
    manifest = json.loads(response["images"][0]["imageManifest"])
    if "config" not in manifest:
        return None

    def blob(digest: str) -> bytes:
        url = ecr.get_download_url_for_layer(repositoryName=repository, layerDigest=digest)["downloadUrl"]
        return fetch_local(url)

    config = json.loads(blob(manifest["config"]["digest"]))
    layers = [blob(layer["digest"]) for layer in manifest.get("layers", [])]
    return PushedImage(manifest=manifest, config=config, _layers=layers)


def fetch_local(url: str, timeout: float = 30) -> bytes:
    host = urllib.parse.urlparse(url).hostname
    if host not in LOOPBACK:  # a check never reaches past this machine
        raise ValueError(f"refusing to fetch {url}: not on 127.0.0.1")
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read()
