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
# A student who breaks these files (hand edits, a half-written copy) gets a failed condition that
# says what is broken and how to fix it: their state is their answer, never the checker's fault.

class BrokenState(Exception):
    """The student's docker client state cannot be read: `key` and `params` of the message saying why."""

    def __init__(self, key: str, **params):
        super().__init__(key)
        self.key = key
        self.params = params


def shown_path(path: Path) -> str:
    """`~/.labkit/docker/config.json` rather than the full home folder, as a student would type it."""
    try:
        return "~/" + Path(path).relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)


def _json_error(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"line {error.lineno}, column {error.colno}: {error.msg}"
    return str(error) or type(error).__name__


def _read_json(file: Path, key: str, **params):
    """The JSON in `file`, None if there is no file, BrokenState(key) if it cannot be read as JSON."""
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:  # UnicodeDecodeError is a ValueError
        detail = _json_error(error) if isinstance(error, ValueError) else (error.strerror or type(error).__name__)
        raise BrokenState(key, error=detail, **params) from None


def saved_credentials(home: Path, registry: str) -> tuple[str, str] | None:
    """(user, password) that `docker login REGISTRY` saved in LABKIT_HOME/docker/config.json;
    None if nothing is saved for it; BrokenState if the file is not docker's format."""
    from labkit.docker.auth import _key, config_path, get_credentials

    path = config_path(home)
    where = {"path": shown_path(path), "host": _key(registry)}
    data = _read_json(path, "docker_state.config.not_json", **where)
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("auths", {}), dict):
        raise BrokenState("docker_state.config.ill_formed", **where)
    entry = data.get("auths", {}).get(_key(registry))
    if entry is None:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("auth"), str):
        raise BrokenState("docker_state.config.bad_login", **where)
    credentials = get_credentials(registry, home=home)
    if credentials is None:  # an `auth` that is not base64 of user:password
        raise BrokenState("docker_state.config.bad_login", **where)
    return credentials


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


def _is_index(index) -> bool:
    """{"images": {digest: {...}}, "tags": {ref: digest}}, as labkit.docker.store writes it."""
    if not isinstance(index, dict):
        return False
    images, tags = index.get("images", {}), index.get("tags", {})
    return (isinstance(images, dict) and all(isinstance(r, dict) for r in images.values())
            and isinstance(tags, dict) and all(isinstance(d, str) for d in tags.values()))


def local_image(home: Path, ref: str, name: str | None = None) -> LocalImage | None:
    """The image `ref` in the student's local image store (built by `labkit docker build`); None
    if it is not there; BrokenState if the store is damaged. `name` is what the hint rebuilds."""
    from labkit.docker.errors import DockerError
    from labkit.docker.store import ImageNotFound, ImageStore

    store = ImageStore(Path(home))
    where = {"dir": shown_path(store.root), "name": name or ref}
    index = _read_json(store.index_path, "docker_state.store.broken", **where)
    if index is None:
        return None
    if not _is_index(index):
        raise BrokenState("docker_state.store.broken", error="images.json is not an index of images and tags", **where)
    try:
        image = store.get(ref)
    except ImageNotFound:
        return None
    except (DockerError, OSError, ValueError, KeyError, TypeError) as error:
        # a missing or mangled blob, a tag that names no image: the store's files, not our code
        detail = _json_error(error) if isinstance(error, ValueError) else str(error)
        raise BrokenState("docker_state.store.broken", error=detail or type(error).__name__, **where) from None
    if not isinstance(image.config, dict):
        raise BrokenState("docker_state.store.broken", error="the image's config is not a JSON object", **where)
    return LocalImage(config=image.config)


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
