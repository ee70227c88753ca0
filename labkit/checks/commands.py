"""Understand a sequence of shell commands a student wrote (Exercise 3 of the lesson).

Commands are tokenised with shlex, never run. `docker ...` and `labkit docker ...` are the same
command here, and so are `docker image build|tag|push` and `docker build|tag|push`; `!` (a notebook
shell escape), `$ ` prompts, comments, line continuations and `&&` / `;` between commands are
handled as a shell would.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field


@dataclass
class Command:
    line: int                 # 1-based logical line of the answer (what a message can point at)
    argv: list[str]
    pipe_to: "Command | None" = None
    text: str = ""
    position: int = 0         # 1-based order among all commands: `a && b` on one line is a, then b

    @property
    def program(self) -> str:
        return self.argv[0] if self.argv else ""


@dataclass
class Parsed:
    commands: list[Command] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def parse(text: str) -> Parsed:
    parsed = Parsed()
    for number, logical in enumerate(_logical_lines(text), start=1):
        for statement in _split_statements(logical):
            parts = statement.split("|")
            try:
                chain = [_normalise(shlex.split(p, comments=True)) for p in parts]
            except ValueError as exc:  # unbalanced quotes
                parsed.errors.append(f"{statement!r}: {exc}")
                continue
            chain = [argv for argv in chain if argv]
            if not chain:
                continue
            head = Command(line=number, argv=chain[0], text=statement.strip(),
                           position=len(parsed.commands) + 1)
            node = head
            for argv in chain[1:]:
                node.pipe_to = Command(line=number, argv=argv, text=statement.strip())
                node = node.pipe_to
            parsed.commands.append(head)
    return parsed


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if current.strip():
            lines.append(current.strip())
        current = ""
    if current.strip():
        lines.append(current.strip())
    return lines


def _split_statements(line: str) -> list[str]:
    if line.startswith("#"):
        return []
    out = []
    for piece in line.replace("&&", ";").split(";"):
        piece = piece.strip()
        if piece.startswith("!"):
            piece = piece[1:].strip()
        if piece.startswith("$ "):
            piece = piece[2:]
        if piece:
            out.append(piece)
    return out


def _normalise(argv: list[str]) -> list[str]:
    if argv[:2] == ["labkit", "docker"]:
        return argv[1:]
    if argv[:1] == ["sudo"]:
        return _normalise(argv[1:])
    if argv[:2] == ["docker", "image"] and argv[2:3] in (["build"], ["tag"], ["push"]):
        return ["docker", *argv[2:]]  # `docker image push` is `docker push`
    return argv


def option(argv: list[str], *names: str) -> str | None:
    """The value of an option given as `--name value`, `--name=value` or `-t value`."""
    for i, token in enumerate(argv):
        for name in names:
            if token == name and i + 1 < len(argv):
                return argv[i + 1]
            if token.startswith(name + "=") and name.startswith("--"):
                return token.split("=", 1)[1]
    return None


def positional(argv: list[str], skip: int, options_with_values: tuple[str, ...] = ()) -> list[str]:
    """Positional arguments after the first `skip` tokens, dropping options and their values."""
    out, i = [], skip
    while i < len(argv):
        token = argv[i]
        if token in options_with_values:
            i += 2
            continue
        if token.startswith("-"):
            i += 1
            continue
        out.append(token)
        i += 1
    return out
