"""Layers on disk: stacked in order, OCI whiteouts honoured, nothing written outside the folder,
cached by digest."""
from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from labkit.cloud.runtime import ImageFiles
from labkit.cloud.runtime.rootfs import RootfsCache, apply_layer, inside


def tar(*entries) -> bytes:
    """entries: (name, "file", text) | (name, "dir") | (name, "link", target) | (name, "hard", target)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        for name, kind, *rest in entries:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, rest[0]
                t.addfile(info)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, rest[0]
                t.addfile(info)
            else:
                data = rest[0].encode()
                info.size, info.mode = len(data), rest[1] if len(rest) > 1 else 0o644
                t.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


def files(root: Path) -> dict[str, str]:
    out = {}
    for folder, dirs, names in os.walk(root):
        for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = Path(folder, name)
            key = str(path.relative_to(root))
            out[key] = "-> " + os.readlink(path) if path.is_symlink() else path.read_text()
    return out


def test_layers_stack_with_whiteouts(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    apply_layer(root, tar(("app/a.py", "file", "a"), ("app/b.py", "file", "b"), ("etc/conf/x", "file", "x"),
                          ("etc/conf/y", "file", "y"), ("bin/run", "file", "#!", 0o755)))
    apply_layer(root, tar(("app/.wh.a.py", "file", ""), ("etc/conf/.wh..wh..opq", "file", ""),
                          ("etc/conf/z", "file", "z"), ("app/b.py", "file", "b2"), ("app/c", "link", "b.py")))
    assert files(root) == {"app/b.py": "b2", "app/c": "-> b.py", "etc/conf/z": "z", "bin/run": "#!"}
    assert os.access(root / "bin/run", os.X_OK)
    apply_layer(root, tar(("app/.wh.c", "file", ""), ("etc/.wh.conf", "file", "")))
    assert files(root) == {"app/b.py": "b2", "bin/run": "#!"}


def test_a_layer_cannot_write_outside_through_links_or_dots(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    apply_layer(root, tar(("escape", "link", str(outside)), ("up", "link", "../../outside")))
    apply_layer(root, tar(("escape/owned", "file", "1"), ("up/owned2", "file", "2"),
                          ("../../outside/dots", "file", "3"), ("/abs", "file", "4"), ("hard", "hard", "../../outside/x")))
    assert list(outside.iterdir()) == []
    # an absolute link target means the image's root: the files land inside it
    assert (root / str(outside).lstrip("/") / "owned").read_text() == "1"
    assert (root / "outside" / "owned2").read_text() == "2" and (root / "outside" / "dots").read_text() == "3"
    assert (root / "abs").read_text() == "4" and not (root / "hard").exists()
    assert inside(root, "up/owned2") == root / "outside" / "owned2"


def test_cached_by_digest(tmp_path):
    reads = []

    def blob():
        reads.append(1)
        return tar(("app/a.py", "file", "a"))

    image = ImageFiles(digest="sha256:" + "ab" * 32, config={}, layers=[("sha256:" + "cd" * 32, blob)])
    cache = RootfsCache(tmp_path)
    first = cache.get(image, finish=lambda root: (root / "added").write_text("!"))
    assert (first / "app/a.py").read_text() == "a" and (first / "added").read_text() == "!"
    assert cache.get(image) == first and RootfsCache(tmp_path).get(image) == first
    assert len(reads) == 1
    broken = ImageFiles(digest="sha256:" + "ef" * 32, config={}, layers=[("x", lambda: b"not a tar")])
    with pytest.raises(tarfile.TarError):
        cache.get(broken)
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == [first.parent.name]  # no half-made copy


def test_a_folder_entry_replaces_a_link_and_never_changes_its_target(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    outside.chmod(0o750)
    apply_layer(root, tar(("lib", "link", str(outside))))
    apply_layer(root, tar(("lib", "dir"), ("lib/x", "file", "x")))
    assert not (root / "lib").is_symlink() and (root / "lib/x").read_text() == "x"
    assert oct(outside.stat().st_mode & 0o777) == oct(0o750) and list(outside.iterdir()) == []


def test_files_keep_the_layers_mtime(tmp_path):
    # as docker extracts: an image's timestamp-based .pyc are checked against these mtimes
    root = tmp_path / "root"
    root.mkdir()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        info = tarfile.TarInfo("app/mod.py")
        info.size, info.mtime = 6, 1700000000
        t.addfile(info, io.BytesIO(b"x = 1\n"))
    apply_layer(root, raw.getvalue())
    assert os.stat(root / "app" / "mod.py").st_mtime == 1700000000
