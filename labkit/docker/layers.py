"""Layers: deterministic tar.gz files, and reading them back.

Determinism (same files -> same digests, on any machine): entries sorted by path, parents
before children; mtime fixed (SOURCE_DATE_EPOCH, else 0); uid/gid 0 with empty user/group
names; file modes normalised to 0644 / 0755 (executable if any x bit) unless set explicitly
(COPY --chmod); PAX tar; gzip with mtime 0 and no file name, level 6.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass, field

GZIP_LEVEL = 6


def fixed_mtime() -> int:
    try:
        return int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    except ValueError:
        return 0


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def normalise_mode(mode: int) -> int:
    return 0o755 if mode & 0o111 else 0o644


@dataclass
class Node:
    """One entry of an image filesystem (and of a layer)."""

    kind: str                 # "file" | "dir" | "symlink"
    mode: int = 0o644
    data: bytes = b""
    link: str = ""


@dataclass
class Layer:
    tar: bytes                # uncompressed
    blob: bytes               # gzip-compressed, what the registry stores
    diff_id: str              # sha256 of `tar`
    digest: str               # sha256 of `blob`

    @property
    def size(self) -> int:
        return len(self.tar)


def clean(path: str) -> str:
    """'/app/./x/' -> 'app/x' (relative to the image root, no leading slash); '' is the root."""
    parts: list[str] = []
    for part in path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def parents(path: str) -> list[str]:
    """'a/b/c' -> ['a', 'a/b']."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


@dataclass
class LayerWriter:
    """Collects entries (path relative to the image root) and writes a deterministic layer."""

    entries: dict[str, Node] = field(default_factory=dict)

    def add(self, path: str, node: Node) -> None:
        path = clean(path)
        if not path:
            return
        for parent in parents(path):
            if parent not in self.entries or self.entries[parent].kind != "dir":
                self.entries[parent] = Node("dir", 0o755)
        if node.kind == "dir" and path in self.entries and self.entries[path].kind == "dir":
            return
        self.entries[path] = node

    def add_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self.add(path, Node("file", mode, data))

    def add_dir(self, path: str, mode: int = 0o755) -> None:
        self.add(path, Node("dir", mode))

    def __len__(self) -> int:
        return len(self.entries)

    def build(self, mtime: int | None = None) -> Layer:
        mtime = fixed_mtime() if mtime is None else mtime
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(self.entries):
                node = self.entries[path]
                info = tarfile.TarInfo(path + "/" if node.kind == "dir" else path)
                info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "", ""
                info.mode = node.mode
                if node.kind == "dir":
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif node.kind == "symlink":
                    info.type, info.linkname = tarfile.SYMTYPE, node.link
                    tar.addfile(info)
                else:
                    info.size = len(node.data)
                    tar.addfile(info, io.BytesIO(node.data))
            end = tar.offset
        # like Go's archive/tar: the two zero blocks that end the archive, no padding to 10 kB records
        tar_bytes = raw.getvalue()[:end + 2 * tarfile.BLOCKSIZE]
        blob = gzip.compress(tar_bytes, compresslevel=GZIP_LEVEL, mtime=0)
        return Layer(tar=tar_bytes, blob=blob, diff_id=sha256(tar_bytes), digest=sha256(blob))


def _open(layer: bytes) -> tarfile.TarFile:
    data = gzip.decompress(layer) if layer[:2] == b"\x1f\x8b" else layer
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:")


def layer_files(layer: bytes, include_dirs: bool = False) -> list[str]:
    """Paths inside a layer (tar.gz or plain tar bytes), as absolute paths: ['/app/app.py', ...].

    Regular files, symlinks and hard links; directories too with `include_dirs` (no trailing
    slash). Whiteouts (`.wh.*`) are listed as they are."""
    out = []
    with _open(layer) as tar:
        for member in tar:
            if member.isdir() and not include_dirs:
                continue
            path = clean(member.name)
            if path:
                out.append("/" + path)
    return out


def read_layer(layer: bytes) -> dict[str, Node]:
    """Every entry of a layer as {path (relative, no leading slash): Node}."""
    out: dict[str, Node] = {}
    with _open(layer) as tar:
        for member in tar:
            path = clean(member.name)
            if not path:
                continue
            if member.isdir():
                out[path] = Node("dir", member.mode & 0o7777)
            elif member.issym():
                out[path] = Node("symlink", member.mode & 0o7777, link=member.linkname)
            elif member.islnk():
                target = out.get(clean(member.linkname))
                out[path] = Node("file", member.mode & 0o7777, target.data if target else b"")
            elif member.isfile():
                f = tar.extractfile(member)
                out[path] = Node("file", member.mode & 0o7777, f.read() if f else b"")
    return out


def apply_layer(fs: dict[str, Node], entries: dict[str, Node]) -> None:
    """Stack a layer's entries onto a filesystem (handles OCI whiteouts)."""
    for path, node in entries.items():
        name = path.rsplit("/", 1)[-1]
        directory = path[: -len(name) - 1] if "/" in path else ""
        if name == ".wh..wh..opq":
            prefix = directory + "/" if directory else ""
            for existing in [p for p in fs if p.startswith(prefix) and p != directory]:
                del fs[existing]
            continue
        if name.startswith(".wh."):
            target = (directory + "/" if directory else "") + name[4:]
            for existing in [p for p in fs if p == target or p.startswith(target + "/")]:
                del fs[existing]
            continue
        if node.kind != "dir":
            for existing in [p for p in fs if p.startswith(path + "/")]:
                del fs[existing]
        fs[path] = node
