"""The local image store: what `docker images` would list, kept under LABKIT_HOME/docker/.

    LABKIT_HOME/docker/blobs/sha256/<hex>   content-addressed blobs (manifests, configs, layers)
    LABKIT_HOME/docker/images.json          {"images": {manifest digest: record}, "tags": {name:tag: manifest digest}}

An image is identified by its manifest digest; its IMAGE ID (as docker shows it) is the digest of
its config. Tags are full names (`docker.io/library/my-app:latest`). Writes of the index take a
file lock and replace the file atomically, so several processes (a notebook's `!labkit docker`
cells, the grader's checks) can share one store.

    store = ImageStore(home)              # home = LABKIT_HOME (default: settings().home)
    image = store.get("my-app")           # -> Image, or raises ImageNotFound
    image.config["config"]["Cmd"]         # ["python", "app.py"]
    "/app/app.py" in image.files()        # True
"""
from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import struct
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from labkit.docker import reference as references
from labkit.docker.errors import DockerError
from labkit.docker.layers import Node, apply_layer, clean, read_layer, sha256

try:  # POSIX; on Windows the store works without cross-process locking
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

_HEX_RE = re.compile(r"^(?:sha256:)?([0-9a-f]{1,64})$")

MANIFEST_LIST_TYPES = (
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)


class ImageNotFound(DockerError):
    """docker: `No such image: my-app:latest`."""

    def __init__(self, ref: str):
        super().__init__(f"No such image: {ref}", hint=("docker.hint.no_such_image", {"ref": ref}))
        self.ref = ref


class ImageConflict(DockerError):
    """docker rmi of an image several repositories use, or that another tag keeps."""


@dataclass
class Image:
    """One image of the store. `manifest`/`config` are the parsed JSON; `*_bytes` the exact blobs."""

    store: "ImageStore" = field(repr=False)
    digest: str                  # manifest digest (what a registry reports on push)
    manifest_bytes: bytes = field(repr=False)
    manifest: dict = field(repr=False)
    config_bytes: bytes = field(repr=False)
    config: dict = field(repr=False)
    repo_tags: list[str] = field(default_factory=list)     # familiar names: ["my-app:latest"]
    repo_digests: list[str] = field(default_factory=list)  # ["123....amazonaws.com/my-app@sha256:..."]
    created_local: float = 0.0   # when this store got it (build or pull), seconds since the epoch
    size: int = 0                # uncompressed size of all layers, what `docker images` shows
    _fs: dict | None = field(default=None, repr=False, compare=False)

    @property
    def id(self) -> str:
        """IMAGE ID: the config digest, `sha256:...` (docker shows its first 12 hex digits)."""
        return self.manifest["config"]["digest"]

    @property
    def short_id(self) -> str:
        return self.id.split(":", 1)[1][:12]

    @property
    def media_type(self) -> str:
        return self.manifest.get("mediaType", "")

    @property
    def layer_digests(self) -> list[str]:
        return [layer["digest"] for layer in self.manifest.get("layers", [])]

    def layer(self, digest: str) -> bytes:
        return self.store.blob(digest)

    def layers(self) -> list[bytes]:
        return [self.layer(d) for d in self.layer_digests]

    def filesystem(self) -> dict[str, Node]:
        """The image's files with all layers stacked: {"app/app.py": Node, ...} (no leading slash)."""
        if self._fs is None:
            fs: dict[str, Node] = {}
            for data in self.layers():
                apply_layer(fs, read_layer(data))
            self._fs = fs
        return dict(self._fs)

    def files(self, include_dirs: bool = False) -> list[str]:
        """Absolute paths in the final filesystem: ["/app/app.py", "/etc/os-release", ...]."""
        return sorted("/" + p for p, n in self.filesystem().items() if include_dirs or n.kind != "dir")

    def read_file(self, path: str) -> bytes | None:
        node = self.filesystem().get(clean(path))
        return node.data if node is not None and node.kind == "file" else None


class ImageStore:
    def __init__(self, home: str | os.PathLike | None = None):
        """`home` is LABKIT_HOME (default: `labkit.config.settings().home`); the store lives in home/docker."""
        if home is None:
            from labkit.config import settings

            home = settings().home
        self.home = Path(home)
        self.root = self.home / "docker"
        self.blobs_dir = self.root / "blobs" / "sha256"
        self.index_path = self.root / "images.json"

    # -- blobs -------------------------------------------------------------------------
    def blob_path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        if algorithm != "sha256" or not re.fullmatch(r"[0-9a-f]{64}", hexdigest):
            raise DockerError(f"invalid digest {digest!r}")
        return self.blobs_dir / hexdigest

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def blob(self, digest: str) -> bytes:
        try:
            return self.blob_path(digest).read_bytes()
        except FileNotFoundError:
            raise DockerError(f"blob {digest} is missing from the local image store") from None

    def put_blob(self, data: bytes, digest: str | None = None) -> str:
        actual = sha256(data)
        if digest and digest != actual:
            raise DockerError(f"digest mismatch: expected {digest}, got {actual}")
        path = self.blob_path(actual)
        if not path.exists():
            _atomic_write(path, data)
        return actual

    # -- index ------------------------------------------------------------------------
    def _read_index(self) -> dict:
        try:
            index = json.loads(self.index_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            index = {}
        index.setdefault("images", {})
        index.setdefault("tags", {})
        return index

    @contextlib.contextmanager
    def _locked_index(self):
        """Read-modify-write of the index under an exclusive file lock."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as lock:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                index = self._read_index()
                yield index
                _atomic_write(self.index_path, (json.dumps(index, indent=1, sort_keys=True) + "\n").encode())
            finally:
                if fcntl is not None:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    # -- images -----------------------------------------------------------------------
    def add_image(self, manifest_bytes: bytes, tags: list[str] | tuple = (), repo_digest: str | None = None,
                  created: float | None = None) -> "Image":
        """Record an image whose config and layer blobs are already stored; tag it with `tags`
        (reference strings). Returns the Image."""
        manifest = json.loads(manifest_bytes)
        if manifest.get("mediaType") in MANIFEST_LIST_TYPES or "manifests" in manifest:
            raise DockerError("a manifest list cannot be stored as an image; pick one platform's manifest")
        for descriptor in [manifest["config"], *manifest.get("layers", [])]:
            if not self.has_blob(descriptor["digest"]):
                raise DockerError(f"blob {descriptor['digest']} is missing from the local image store")
        digest = self.put_blob(manifest_bytes)
        size = sum(self._uncompressed_size(layer["digest"]) for layer in manifest.get("layers", []))
        refs = [references.parse(t) for t in tags]
        with self._locked_index() as index:
            record = index["images"].setdefault(digest, {"repo_digests": []})
            record.update(config=manifest["config"]["digest"], size=size,
                          created=created if created is not None else time.time())
            if repo_digest and repo_digest not in record["repo_digests"]:
                record["repo_digests"].append(repo_digest)
            for ref in refs:
                index["tags"][ref.tagged] = digest
        return self.get(digest)

    def add_repo_digest(self, ref: str, repo_digest: str) -> None:
        """Remember that the image `ref` is in a registry as `name@sha256:...` (docker's RepoDigests)."""
        digest = self.resolve(ref)
        with self._locked_index() as index:
            record = index["images"][digest]
            name = repo_digest.split("@", 1)[0]
            record["repo_digests"] = [d for d in record.get("repo_digests", []) if d.split("@", 1)[0] != name]
            record["repo_digests"].append(repo_digest)

    def _uncompressed_size(self, digest: str) -> int:
        path = self.blob_path(digest)
        with open(path, "rb") as f:
            head = f.read(2)
            if head != b"\x1f\x8b":
                return path.stat().st_size
            f.seek(-4, os.SEEK_END)
            isize = struct.unpack("<I", f.read(4))[0]  # gzip trailer: size mod 2**32
        if path.stat().st_size < 2**31:
            return isize
        return len(gzip.decompress(path.read_bytes()))  # pragma: no cover

    def resolve(self, ref: str) -> str:
        """The manifest digest `ref` names: a tag (my-app, my-app:v1), name@digest, a manifest
        digest, or an IMAGE ID (full or a prefix of at least 1 hex digit, as docker allows)."""
        index = self._read_index()
        return self._resolve(index, ref)

    def _resolve(self, index: dict, ref: str) -> str:
        text = ref.strip()
        hex_match = _HEX_RE.match(text)
        if hex_match and len(hex_match.group(1)) == 64:
            full = "sha256:" + hex_match.group(1)
            if full in index["images"]:
                return full
            for digest, record in index["images"].items():
                if record.get("config") == full:
                    return digest
            raise ImageNotFound(text)
        try:
            parsed = references.parse(text)
        except references.InvalidReference:
            parsed = None
        if parsed is not None:
            if parsed.digest:
                if parsed.digest in index["images"]:
                    record = index["images"][parsed.digest]
                    names = {d.split("@", 1)[0] for d in record.get("repo_digests", [])}
                    tagged = {t.rsplit(":", 1)[0] for t, d in index["tags"].items() if d == parsed.digest}
                    if parsed.name in names | tagged or parsed.familiar_name in names:
                        return parsed.digest
                raise ImageNotFound(parsed.familiar)
            digest = index["tags"].get(parsed.tagged)
            if digest and digest in index["images"]:
                return digest
        if hex_match:
            prefix = "sha256:" + hex_match.group(1)
            found = {d for d, r in index["images"].items() if r.get("config", "").startswith(prefix)}
            if len(found) == 1:
                return found.pop()
            if len(found) > 1:
                raise DockerError(f"Error response from daemon: ambiguous image ID {text}")
        if parsed is None:
            raise references.InvalidReference("invalid reference format")
        raise ImageNotFound(parsed.familiar)

    def get(self, ref: str) -> Image:
        """The image `ref` names (see `resolve`). Raises ImageNotFound."""
        index = self._read_index()
        return self._image(index, self._resolve(index, ref))

    def _image(self, index: dict, digest: str) -> Image:
        record = index["images"][digest]
        manifest_bytes = self.blob(digest)
        manifest = json.loads(manifest_bytes)
        config_bytes = self.blob(manifest["config"]["digest"])
        tags = sorted(references.parse(t).familiar for t, d in index["tags"].items() if d == digest)
        return Image(store=self, digest=digest, manifest_bytes=manifest_bytes, manifest=manifest,
                     config_bytes=config_bytes, config=json.loads(config_bytes), repo_tags=tags,
                     repo_digests=list(record.get("repo_digests", [])), created_local=record.get("created", 0.0),
                     size=record.get("size", 0))

    def list(self) -> list[Image]:
        """Every image, newest first (as `docker images` sorts them)."""
        index = self._read_index()
        images = [self._image(index, d) for d in index["images"]]
        return sorted(images, key=lambda i: i.created_local, reverse=True)

    def tag(self, source: str, target: str) -> Image:
        """docker tag SOURCE TARGET."""
        target_ref = references.parse(target)
        if target_ref.digest:
            raise references.InvalidReference("refusing to create a tag with a digest reference")
        with self._locked_index() as index:
            digest = self._resolve(index, source)
            index["tags"][target_ref.tagged] = digest
        return self.get(digest)

    def remove(self, ref: str, force: bool = False) -> list[str]:
        """docker rmi: untag `ref`; delete the image when no tag is left. Returns docker's lines
        ("Untagged: my-app:latest", "Deleted: sha256:...")."""
        lines: list[str] = []
        with self._locked_index() as index:
            digest = self._resolve(index, ref)
            record = index["images"][digest]
            tags = sorted(t for t, d in index["tags"].items() if d == digest)
            by_tag = False
            try:
                parsed = references.parse(ref)
                by_tag = not parsed.digest and parsed.tagged in tags
            except references.InvalidReference:
                pass
            if by_tag:
                del index["tags"][parsed.tagged]
                lines.append(f"Untagged: {parsed.familiar}")
                tags.remove(parsed.tagged)
                if tags:
                    return lines
            else:
                repos = {t.rsplit(":", 1)[0] for t in tags}
                if len(repos) > 1 and not force:
                    raise ImageConflict(
                        f"Error response from daemon: conflict: unable to delete {record['config'].split(':')[1][:12]} "
                        "(must be forced) - image is referenced in multiple repositories",
                        hint=("docker.hint.rmi_conflict", {"ref": ref}))
                for t in tags:
                    del index["tags"][t]
                    lines.append(f"Untagged: {references.parse(t).familiar}")
            for repo_digest in record.get("repo_digests", []):
                lines.append(f"Untagged: {repo_digest}")
            del index["images"][digest]
            lines.append(f"Deleted: {record['config']}")
        return lines

    def prune(self) -> list[str]:
        """Delete images without tags (docker image prune). Returns the deleted IMAGE IDs."""
        deleted = []
        with self._locked_index() as index:
            tagged = set(index["tags"].values())
            for digest in [d for d in index["images"] if d not in tagged]:
                deleted.append(index["images"].pop(digest)["config"])
        return deleted


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
