"""Reading a Dockerfile: lines into instructions, flags, JSON (exec) form, and docker's word
processing (quotes, escapes, $VAR / ${VAR} / ${VAR:-default} / ${VAR:+alt} substitution).

Follows moby/buildkit's frontend/dockerfile parser and shell lexer for what the course uses.
Known gaps: heredocs (`RUN <<EOF`), `# escape=` other than \\ and `, ONBUILD triggers.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from labkit.docker.errors import DockerError

INSTRUCTIONS = (
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
)
_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_NAME_RE = re.compile(r"[A-Za-z0-9_]")


class DockerfileError(DockerError):
    """A parse error; docker prints `dockerfile parse error on line N: ...`."""

    def __init__(self, line: int, message: str, hint: tuple[str, dict] | None = None):
        super().__init__(f"dockerfile parse error on line {line}: {message}", hint=hint)
        self.line = line


@dataclass
class Instruction:
    cmd: str                 # upper case: "COPY"
    rest: str                # everything after the keyword, continuations joined
    line: int                # 1-based line where it starts
    end_line: int
    original: str            # "COPY requirements.txt ." as BuildKit shows it
    flags: dict[str, list[str]] = field(default_factory=dict)  # --from=x -> {"from": ["x"]}

    def flag(self, name: str) -> str | None:
        values = self.flags.get(name)
        return values[-1] if values else None


@dataclass
class Dockerfile:
    instructions: list[Instruction]
    directives: dict[str, str]
    escape: str = "\\"


def parse_dockerfile(text: str) -> Dockerfile:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    directives: dict[str, str] = {}
    i = 0
    while i < len(lines):  # parser directives: only at the very top
        m = _DIRECTIVE_RE.match(lines[i].strip())
        if not m or m.group(1).lower() in directives:
            break
        directives[m.group(1).lower()] = m.group(2)
        i += 1
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise DockerfileError(i or 1, f"invalid escape token '{escape}' does not match ` or \\")

    instructions: list[Instruction] = []
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts = []
        current = raw.rstrip()
        while True:
            if current.endswith(escape):
                parts.append(current[:-1])
                i += 1
                # comment lines and empty lines inside a continuation are dropped
                while i < len(lines) and (not lines[i].strip() or lines[i].strip().startswith("#")):
                    i += 1
                if i >= len(lines):
                    break
                current = lines[i].rstrip()
                continue
            parts.append(current)
            break
        i += 1
        joined = "".join(parts).strip()
        keyword, _, rest = joined.partition(" ") if " " in joined else (joined, "", "")
        if "\t" in keyword:
            keyword, _, more = keyword.partition("\t")
            rest = more + (" " + rest if rest else "")
        cmd = keyword.upper()
        if cmd not in INSTRUCTIONS:
            import difflib

            close = difflib.get_close_matches(cmd, INSTRUCTIONS, n=1, cutoff=0.75)
            suggestion = f" (did you mean {close[0].lower() if keyword.islower() else close[0]}?)" if close else ""
            raise DockerfileError(start + 1, f"unknown instruction: {keyword}{suggestion}")
        rest = rest.strip()
        flags, rest = split_flags(rest) if cmd in ("ADD", "COPY", "RUN", "FROM", "HEALTHCHECK") else ({}, rest)
        if rest.lstrip().startswith("<<") and cmd in ("RUN", "COPY", "ADD"):
            raise DockerfileError(start + 1, "heredocs (<<EOF) are not supported by labkit docker",
                                  hint=("docker.hint.heredoc", {}))
        instructions.append(Instruction(cmd=cmd, rest=rest, line=start + 1, end_line=i,
                                        original=f"{cmd} {' '.join(joined.split(None, 1)[1:])}".strip(), flags=flags))
    return Dockerfile(instructions=instructions, directives=directives, escape=escape)


def split_flags(rest: str) -> tuple[dict[str, list[str]], str]:
    """Leading `--name=value` / `--name` flags of ADD/COPY/RUN/FROM: ({'from': ['builder']}, rest)."""
    flags: dict[str, list[str]] = {}
    while rest.startswith("--"):
        word, _, remainder = rest.partition(" ")
        name, eq, value = word[2:].partition("=")
        flags.setdefault(name.lower(), []).append(_unquote(value) if eq else "true")
        rest = remainder.lstrip()
    return flags, rest


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_json_array(rest: str) -> list[str] | None:
    """`["python", "app.py"]` -> ['python', 'app.py']; None if not a JSON array of strings
    (docker then treats the text as shell form)."""
    text = rest.strip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


# -- word processing (moby shell lexer) ------------------------------------------------------

class Lexer:
    """Quotes, escapes and variable substitution the way docker processes ADD, COPY, ENV, EXPOSE,
    FROM, LABEL, STOPSIGNAL, USER, VOLUME and WORKDIR arguments."""

    def __init__(self, escape: str = "\\"):
        self.escape = escape

    def process_word(self, word: str, env: dict[str, str]) -> str:
        return "".join(self._process(word, env, split=False)[0])

    def process_words(self, text: str, env: dict[str, str]) -> list[str]:
        return self._process(text, env, split=True)

    def _process(self, text: str, env: dict[str, str], split: bool) -> list[str]:
        words: list[str] = []
        current: list[str] = []
        in_word = False
        i, n = 0, len(text)
        esc = self.escape
        while i < n:
            ch = text[i]
            if split and ch.isspace():
                if in_word:
                    words.append("".join(current))
                    current, in_word = [], False
                i += 1
                continue
            in_word = True
            if ch == "'":
                end = text.find("'", i + 1)
                if end < 0:
                    raise DockerError("unexpected end of statement while looking for matching single-quote")
                current.append(text[i + 1:end])
                i = end + 1
            elif ch == '"':
                i += 1
                while True:
                    if i >= n:
                        raise DockerError("unexpected end of statement while looking for matching double-quote")
                    c = text[i]
                    if c == '"':
                        i += 1
                        break
                    if c == "$":
                        value, i = self._dollar(text, i, env)
                        current.append(value)
                        continue
                    if c == esc and i + 1 < n and text[i + 1] in ('"', "$", esc):
                        current.append(text[i + 1])
                        i += 2
                        continue
                    current.append(c)
                    i += 1
            elif ch == "$":
                value, i = self._dollar(text, i, env)
                current.append(value)
            elif ch == esc:
                if i + 1 < n:
                    current.append(text[i + 1])
                    i += 2
                else:
                    current.append(ch)
                    i += 1
            else:
                current.append(ch)
                i += 1
        if in_word:
            words.append("".join(current))
        return words

    def _dollar(self, text: str, i: int, env: dict[str, str]) -> tuple[str, int]:
        """Substitute the variable at text[i] == '$'; return (value, index after it)."""
        n = len(text)
        if i + 1 >= n:
            return "$", i + 1
        if text[i + 1] == "{":
            end = _matching_brace(text, i + 1)
            if end < 0:
                raise DockerError("missing '}' in variable substitution")
            body = text[i + 2:end]
            m = re.match(r"^([A-Za-z0-9_]+)(.*)$", body, re.S)
            if not m:
                raise DockerError(f"bad substitution: ${{{body}}}")
            name, modifier = m.group(1), m.group(2)
            value = env.get(name)
            if not modifier:
                return value or "", end + 1
            for op in (":-", ":+", ":?", "-", "+", "?"):
                if modifier.startswith(op):
                    word = self.process_word(modifier[len(op):], env)
                    empty = value is None or (op.startswith(":") and value == "")
                    if op.endswith("-"):
                        return (word if empty else value), end + 1
                    if op.endswith("+"):
                        return ("" if empty else word), end + 1
                    if empty:
                        raise DockerError(f"{name}: {word or 'is not allowed to be unset'}")
                    return value, end + 1
            raise DockerError(f"unsupported modifier ({modifier[:1]}) in substitution")
        j = i + 1
        if j < n and text[j].isdigit():  # $1, $12: digits only, as the shell reads positional names
            while j < n and text[j].isdigit():
                j += 1
        while j < n and _NAME_RE.match(text[j]) and not text[i + 1].isdigit():
            j += 1
        if j == i + 1:
            return "$", i + 1
        return env.get(text[i + 1:j], ""), j


def _matching_brace(text: str, start: int) -> int:
    depth = 0
    for k in range(start, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return -1


def parse_key_values(inst: Instruction, lexer: Lexer, env: dict[str, str]) -> list[tuple[str, str]]:
    """ENV / LABEL arguments: `K=V K2="v 2"` or the legacy `K value with spaces`."""
    words = lexer.process_words(inst.rest, env)
    if not words:
        raise DockerfileError(inst.line, f"{inst.cmd} requires at least one argument")
    if "=" not in _raw_first_word(inst.rest):
        if len(words) < 2:
            raise DockerfileError(inst.line, f"{inst.cmd} must have two arguments")
        key, _, value = inst.rest.strip().partition(" ")
        return [(lexer.process_word(key, env), lexer.process_word(value.strip(), env))]
    pairs = []
    for word in words:
        key, eq, value = word.partition("=")
        if not eq:
            raise DockerfileError(inst.line, f"Syntax error - can't find = in \"{word}\". Must be of the form: name=value")
        if not key:
            raise DockerfileError(inst.line, f"{inst.cmd} names can not be blank")
        pairs.append((key, value))
    return pairs


def is_legacy_key_value(inst: Instruction) -> bool:
    """`ENV key value` (BuildKit warns: LegacyKeyValueFormat)."""
    return "=" not in _raw_first_word(inst.rest)


def _raw_first_word(rest: str) -> str:
    return rest.strip().split(None, 1)[0] if rest.strip() else ""
