"""The build context: the files under the build directory that `.dockerignore` lets through.

`.dockerignore` follows moby/patternmatcher: one pattern per line, `#` comments, `!` exceptions
(the last matching pattern wins), `*` and `?` within one path component, `**` across
components, a pattern matching a directory excludes everything under it. Patterns are relative
to the context root (a leading / is dropped).
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from labkit.docker.layers import clean, normalise_mode


@dataclass
class Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern

    def matches(self, path: str) -> bool:
        return bool(self.regex.match(path))


def compile_pattern(text: str) -> Pattern | None:
    text = text.strip()
    if not text or text.startswith("#"):
        return None
    exclusion = text.startswith("!")
    if exclusion:
        text = text[1:].strip()
    text = clean(text) if text not in ("", "/") else text
    if not text:
        return None
    regex = ["^"]
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "*":
            if i + 1 < n and text[i + 1] == "*":
                i += 2
                if i < n and text[i] == "/":
                    i += 1
                regex.append(".*" if i >= n else "(.*/)?")
                continue
            regex.append("[^/]*")
        elif ch == "?":
            regex.append("[^/]")
        elif ch == "[":
            end = text.find("]", i + 1)
            if end < 0:
                regex.append(re.escape(ch))
            else:
                body = text[i + 1:end]
                if body.startswith("!") or body.startswith("^"):
                    body = "^" + body[1:]
                regex.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif ch == "\\" and i + 1 < n:
            i += 1
            regex.append(re.escape(text[i]))
        else:
            regex.append(re.escape(ch))
        i += 1
    regex.append("$")
    return Pattern(text=text, exclusion=exclusion, regex=re.compile("".join(regex), re.S))


def read_ignore_file(root: Path) -> list[Pattern]:
    path = Path(root) / ".dockerignore"
    if not path.is_file():
        return []
    patterns = [compile_pattern(line) for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    return [p for p in patterns if p is not None]


def is_excluded(path: str, patterns: list[Pattern]) -> bool:
    """moby's MatchesOrParentMatches: the last pattern that matches the path or a parent wins."""
    matched = False
    parts = path.split("/")
    for pattern in patterns:
        hit = pattern.matches(path)
        if not hit and len(parts) > 1:
            hit = any(pattern.matches("/".join(parts[:i])) for i in range(1, len(parts)))
        if hit:
            matched = not pattern.exclusion
    return matched


@dataclass
class ContextEntry:
    path: str        # relative, posix: "app.py", "static/css/site.css"
    kind: str        # "file" | "dir" | "symlink"
    mode: int
    source: Path
    link: str = ""

    def read(self) -> bytes:
        return self.source.read_bytes()


class BuildContext:
    """Files of the build directory, minus what .dockerignore excludes."""

    def __init__(self, root: str | os.PathLike, patterns: list[Pattern] | None = None):
        self.root = Path(root)
        self.patterns = read_ignore_file(self.root) if patterns is None else patterns
        self.entries: dict[str, ContextEntry] = {}
        self._walk()

    def _walk(self) -> None:
        has_exceptions = any(p.exclusion for p in self.patterns)
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            rel_dir = "" if rel_dir == "." else rel_dir
            kept_dirs = []
            for name in sorted(dirnames):
                rel = f"{rel_dir}/{name}" if rel_dir else name
                full = Path(dirpath) / name
                if full.is_symlink():
                    filenames.append(name)
                    continue
                excluded = is_excluded(rel, self.patterns)
                if excluded and not has_exceptions:
                    continue
                kept_dirs.append(name)
                if not excluded:
                    self.entries[rel] = ContextEntry(rel, "dir", 0o755, full)
            dirnames[:] = kept_dirs
            for name in sorted(filenames):
                rel = f"{rel_dir}/{name}" if rel_dir else name
                if is_excluded(rel, self.patterns):
                    continue
                full = Path(dirpath) / name
                st = full.lstat()
                if stat.S_ISLNK(st.st_mode):
                    self.entries[rel] = ContextEntry(rel, "symlink", 0o777, full, link=os.readlink(full))
                elif stat.S_ISREG(st.st_mode):
                    self.entries[rel] = ContextEntry(rel, "file", normalise_mode(st.st_mode), full)
                    for i in range(1, rel.count("/") + 1):  # an exception inside an excluded folder
                        parent = "/".join(rel.split("/")[:i])
                        self.entries.setdefault(parent, ContextEntry(parent, "dir", 0o755, self.root / parent))

    def size(self) -> int:
        total = 0
        for entry in self.entries.values():
            if entry.kind == "file":
                try:
                    total += entry.source.stat().st_size
                except OSError:
                    pass
        return total

    def under(self, path: str) -> list[ContextEntry]:
        """Entries strictly below directory `path` ("" is the root), sorted."""
        prefix = path + "/" if path else ""
        return [self.entries[p] for p in sorted(self.entries) if p.startswith(prefix) and p != path]

    def glob(self, pattern: str) -> list[str]:
        """Context paths matching a COPY source with wildcards (Go's filepath.Match per path)."""
        depth = pattern.count("/")
        regex = re.compile(_fnmatch_component_regex(pattern))
        return sorted(p for p in self.entries if p.count("/") == depth and regex.match(p))


def _fnmatch_component_regex(pattern: str) -> str:
    """Go filepath.Match: * and ? never cross '/'; [...] classes ([!...] negates); \\ escapes."""
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[" and pattern.find("]", i + 1) > 0:
            end = pattern.find("]", i + 1)
            body = pattern[i + 1:end]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return "".join(out)


GLOB_CHARS = re.compile(r"[*?\[]")


def has_glob(path: str) -> bool:
    return bool(GLOB_CHARS.search(path))
