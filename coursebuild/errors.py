"""Errors a source can have, each with the file and line a maintainer has to look at."""
from __future__ import annotations


class SourceError(Exception):
    """A source that cannot be built. `str()` reads `path:line: message`, like a compiler."""

    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


class StampError(Exception):
    """`--stamp FILE:LINE` that does not point into a `::: ko` block."""
