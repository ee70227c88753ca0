"""`--stamp FILE:LINE`: record that one Korean block now translates the current English text.

Deliberately one block at a time, named by file and line (the line `--check` printed, or any
line inside that `::: ko` block): a maintainer stamps what they re-translated, and nothing else
stops being reported as stale by accident.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from coursebuild.errors import SourceError, StampError
from coursebuild.source import Markdown, parse


@dataclass
class Stamped:
    path: str
    line: int
    old: str | None
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def __str__(self) -> str:
        if not self.changed:
            return f"{self.path}:{self.line}: already current (sha={self.new}); nothing to stamp"
        return f"{self.path}:{self.line}: stamped sha={self.old or '(none)'} -> sha={self.new}"


def parse_target(target: str) -> tuple[str, int]:
    file, sep, line = target.rpartition(":")
    if not sep or not file or not line.isdigit():
        raise StampError(f"--stamp takes FILE:LINE (the line of a '::: ko' block), not {target!r}")
    return file, int(line)


def stamp(target: str, cwd: Path | None = None) -> Stamped:
    """Rewrite `sha=` on the `::: ko` fence of the block containing FILE:LINE."""
    file, line = parse_target(target)
    path = (cwd or Path.cwd()) / file
    if not path.is_file():
        raise StampError(f"{file}: no such source file")
    raw = path.read_bytes().decode("utf-8")
    try:
        source = parse(raw, file)
    except SourceError as e:
        raise StampError(f"cannot stamp a source that does not build: {e}") from None
    for cell in source.cells:
        if isinstance(cell, Markdown) and cell.ko_line <= line <= cell.ko_end:
            break
    else:
        raise StampError(f"{file}:{line}: not inside a '::: ko' block; give the line of the "
                         "Korean block you re-translated")
    result = Stamped(file, cell.ko_line, cell.recorded_sha, cell.current_sha)
    if result.changed:
        lines = raw.splitlines(keepends=True)
        fence = lines[cell.ko_line - 1]
        ending = fence[len(fence.rstrip("\r\n")):]
        indent = fence[: len(fence) - len(fence.lstrip())]
        lines[cell.ko_line - 1] = f"{indent}::: ko sha={cell.current_sha}{ending}"
        path.write_bytes("".join(lines).encode("utf-8"))
    return result
