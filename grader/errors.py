"""Errors the CLI shows: what went wrong, then the next command to run."""
from __future__ import annotations


class GraderError(Exception):
    """A problem the instructor can fix; the message ends with the command to run next."""
