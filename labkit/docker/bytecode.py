"""Byte-code for the files `RUN pip install` puts in a layer, as pip compiles them at install.

A container built on a stand-in base runs the course's Python (labkit/cloud/runtime/standin.py),
so the byte-code is that Python's (`__pycache__/NAME.cpython-311.pyc` beside each module). Without
it every container start compiled Flask, werkzeug, jinja2 and click from source again (~0.55 CPU-s
of a ~1 CPU-s start), since a container's writes die with it.

The .pyc files are timestamp-based, as pip writes them: the header holds the source's mtime and
size, and the layer gives every file the same fixed mtime (labkit/docker/layers.py), which the
runtime keeps when it extracts the layer (labkit/cloud/runtime/rootfs.py). The course's own .pyc of
the same source is reused (only its mtime field rewritten) when it is valid for those bytes;
otherwise the source is compiled here.
"""
from __future__ import annotations

import importlib.util
import marshal
import struct
import sys
from pathlib import Path

MAGIC = importlib.util.MAGIC_NUMBER
TAG = sys.implementation.cache_tag       # "cpython-311": the Python that runs a stand-in's containers
HASH_BASED = 0b01


def cache_name(module_file: str) -> str | None:
    """'flask/app.py' -> 'flask/__pycache__/app.cpython-311.pyc' (None for a Python without a cache tag)."""
    if TAG is None or not module_file.endswith(".py"):
        return None
    folder, _, name = module_file.rpartition("/")
    return (folder + "/" if folder else "") + f"__pycache__/{name[:-3]}.{TAG}.pyc"


def header(mtime: int, size: int) -> bytes:
    return MAGIC + struct.pack("<III", 0, mtime & 0xFFFFFFFF, size & 0xFFFFFFFF)


def _reusable(pyc: bytes, source: Path, data: bytes) -> bool:
    """Whether the course's .pyc was compiled from exactly `data` (the bytes going into the layer)."""
    if len(pyc) < 16 or pyc[:4] != MAGIC:
        return False
    flags, first, second = struct.unpack("<III", pyc[4:16])
    if flags & HASH_BASED:
        return pyc[8:16] == importlib.util.source_hash(data)
    try:
        stat = source.stat()
    except OSError:
        return False
    return (flags == 0 and first == int(stat.st_mtime) & 0xFFFFFFFF and second == stat.st_size & 0xFFFFFFFF
            and stat.st_size == len(data))


def for_layer(source: Path, data: bytes, image_path: str, mtime: int) -> bytes | None:
    """The .pyc to store beside `image_path` for the module whose bytes are `data` (read from the
    course's `source`), valid for a file of mtime `mtime`; None if it does not compile."""
    cached = cache_name(source.name)
    if cached is not None:
        try:
            pyc = (source.parent / cached).read_bytes()
        except OSError:
            pyc = b""
        if _reusable(pyc, source, data):
            if struct.unpack("<I", pyc[4:8])[0] & HASH_BASED:
                return pyc  # valid whatever the mtime
            return header(mtime, len(data)) + pyc[16:]
    try:
        code = compile(data, image_path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None  # pip skips what does not compile, too
    return header(mtime, len(data)) + marshal.dumps(code)
