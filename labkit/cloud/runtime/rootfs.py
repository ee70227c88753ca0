"""An image's root filesystem on disk: its layers extracted in order (OCI whiteouts honoured),
cached by manifest digest, and a writable copy per container.

Extraction never writes outside the folder: paths are cleaned, and a path through a symlink the
image holds is resolved as the container would see it (an absolute link target means the image's
own root), so a layer cannot reach the host's files. Owners are not kept (every file belongs to
the cloud's user); setuid/setgid bits are dropped; device files and fifos are skipped; a file's
mtime is the layer's (what a module's timestamp-based .pyc is checked against).
"""
from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
import threading
import uuid
from pathlib import Path

from labkit.docker.layers import clean

OPAQUE = ".wh..wh..opq"
WHITEOUT = ".wh."
MAX_LINKS = 40  # symlinks followed while resolving one path, as the kernel's limit


def digest_key(digest: str) -> str:
    """"sha256:ab12..." -> "sha256-ab12..." (a folder name)."""
    return digest.replace(":", "-").replace("/", "-")


def inside(root: Path, path: str, follow_last: bool = False) -> Path:
    """The host path of `path` (relative to the image root) with every symlink on the way resolved
    inside `root`, the way the container sees it. The last component is followed only if asked."""
    todo = [p for p in clean(path).split("/") if p]
    done: list[str] = []
    hops = 0
    while todo:
        part = todo.pop(0)
        candidate = root.joinpath(*done, part)
        if (todo or follow_last) and candidate.is_symlink():
            hops += 1
            if hops > MAX_LINKS:
                raise OSError(f"too many levels of symbolic links: /{path}")
            target = os.readlink(candidate)
            base = [] if target.startswith("/") else done
            # clean() drops a '..' above the root: a link can never lead out of the image
            todo = [p for p in clean("/".join([*base, target])).split("/") if p] + todo
            done = []
            continue
        done.append(part)
    return root.joinpath(*done)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path, onerror=_force)
    elif os.path.lexists(path):
        path.unlink()


def _force(func, path, _exc) -> None:
    """rmtree of a folder the image made read-only: make it writable, then retry once."""
    try:
        os.chmod(os.path.dirname(path), 0o700)
        if not os.path.islink(path):  # chmod follows links: never onto what a container linked to
            os.chmod(path, 0o700)
    except OSError:
        pass
    func(path)


def _open(blob: bytes) -> tarfile.TarFile:
    data = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:")


def apply_layer(root: Path, blob: bytes) -> None:
    """Stack one layer (gzip'd or plain tar) onto the folder `root`."""
    with _open(blob) as tar:
        members = tar.getmembers()
        # whiteouts hide what the layers below have; they never hide this layer's own entries
        for member in members:
            path = clean(member.name)
            name = path.rsplit("/", 1)[-1]
            folder = path[: -len(name) - 1] if "/" in path else ""
            if name == OPAQUE:
                target = inside(root, folder, follow_last=True) if folder else root
                if target.is_dir() and not target.is_symlink():
                    for child in target.iterdir():
                        _remove(child)
            elif name.startswith(WHITEOUT):
                _remove(inside(root, (folder + "/" if folder else "") + name[len(WHITEOUT):]))
        for member in members:
            path = clean(member.name)
            name = path.rsplit("/", 1)[-1]
            if not path or name.startswith(WHITEOUT):
                continue
            _extract(root, tar, member, path)


def _extract(root: Path, tar: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> None:
    target = inside(root, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = member.mode & 0o777
    if member.isdir():
        # as containerd: an existing folder is kept, anything else (a link too) is replaced
        if os.path.lexists(target) and (target.is_symlink() or not target.is_dir()):
            _remove(target)
        target.mkdir(exist_ok=True)
        os.chmod(target, mode | 0o700)  # a real folder (never a link); the owner can always clean it up
        return
    if os.path.lexists(target):
        _remove(target)
    if member.issym():
        os.symlink(member.linkname, target)
    elif member.islnk():
        source = inside(root, member.linkname)
        if source.is_file() and not source.is_symlink():
            os.link(source, target)
    elif member.isfile():
        f = tar.extractfile(member)
        with open(target, "wb") as out:
            shutil.copyfileobj(f, out)
        os.chmod(target, mode | 0o600)
        # as docker keeps a layer's mtimes: an image's .pyc are checked against them
        os.utime(target, (member.mtime, member.mtime))


class RootfsCache:
    """Extracted images under HOME/images/<digest>/rootfs, made once per digest (and `flavour`:
    what the runtime adds to a stand-in, e.g. the local Python, so a new Python gets a new copy)."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self._lock = threading.Lock()

    def get(self, image, flavour: str = "", finish=None) -> Path:
        """The cached rootfs of `image` (ImageFiles), extracting it first if needed. `finish(root)`
        may add files to a fresh extraction before it is published."""
        key = digest_key(image.digest) + (f"-{flavour}" if flavour else "")
        final = self.home / "images" / key / "rootfs"
        with self._lock:
            if final.is_dir():
                return final
            work = self.home / "images" / f".{key}.{uuid.uuid4().hex[:8]}"
            root = work / "rootfs"
            root.mkdir(parents=True)
            try:
                for _digest, read in image.layers:
                    apply_layer(root, read())
                if finish is not None:
                    finish(root)
                final.parent.parent.mkdir(parents=True, exist_ok=True)
                os.replace(work, final.parent)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True, onerror=None)
                raise
            return final


def copy_rootfs(source: Path, target: Path) -> Path:
    """A container's own writable copy of an image's rootfs (symlinks kept as links)."""
    shutil.copytree(source, target, symlinks=True, copy_function=shutil.copy2)
    return target


def remove_tree(path: Path) -> None:
    if os.path.lexists(path):
        shutil.rmtree(path, onerror=_force)
