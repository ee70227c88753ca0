"""The Logging query language's common subset, compiled to a predicate over a LogEntry's JSON form
(https://cloud.google.com/logging/docs/view/logging-query-language):

    comparison   FIELD OP VALUE with OP one of = != > < >= <= : =~ !~ ; FIELD a dotted path
                 (resource.labels.service_name, httpRequest.status; snake_case names too:
                 http_request.status), a quoted segment for a key with dots (labels."a.b");
                 VALUE a quoted string or a bare word, or a list: ("a" OR "b")
    FIELD:*      the field is present
    "text"       a global restriction: any field of the entry has the text
    NOT a, -a    negation (the highest priority)
    a OR b       binds tighter than AND, as Google documents:
                 "a" OR NOT "b" AND NOT "c" OR "d"  =  ("a" OR (NOT "b")) AND ((NOT "c") OR "d")
    a AND b, a b conjunction (juxtaposition is an AND); parentheses group

Matching: string comparisons ignore case (=~ / !~ are regular expressions and do not); severity
compares by level (DEFAULT < DEBUG < INFO < ... < EMERGENCY); timestamp and receiveTimestamp as
RFC 3339 times; numbers (httpRequest.status, responseSize) as numbers; durations ("0.5s") as
durations. A field an entry does not have makes every comparison on it false (so NOT makes it true).
Not here: functions (SEARCH, sample, log_id, ...), the `=~` flavour of RE2 beyond Python's `re`.

A filter that does not parse raises QueryError(message) naming the problem and its column.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Callable

SEVERITIES = ("DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY")
LEVELS = {name: i * 100 for i, name in enumerate(SEVERITIES)}   # LogSeverity's numbers: 0, 100, ... 800
TIME_FIELDS = ("timestamp", "receiveTimestamp")
OPERATORS = (">=", "<=", "!=", "=~", "!~", "=", "<", ">", ":")
_MISSING = object()
_DURATION = re.compile(r"^(-?\d+(?:\.\d+)?)s$")

Predicate = Callable[[dict], bool]


class QueryError(ValueError):
    def __init__(self, problem: str, column: int | None = None, token: str | None = None):
        where = f" at line 1, column {column}" if column is not None else ""
        near = f", token '{token}'" if token else ""
        self.message = f"Unparseable filter: {problem}{where}{near}"
        super().__init__(self.message)


def compile_filter(text: str) -> Predicate:
    """A predicate for `text` (empty: every entry); raises QueryError."""
    parser = _Parser(_tokens(text or ""))
    if parser.peek()[0] == "END":
        return lambda entry: True
    predicate = parser.conjunction()
    kind, value, pos = parser.peek()
    if kind != "END":
        raise QueryError("unexpected " + ("')'" if kind == "RP" else "token"), pos + 1, value)
    return predicate


# -- tokens -------------------------------------------------------------------------------------
def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, position): LP RP STR WORD OP AND OR NOT END. A bare word right after an operator
    runs to the next space or parenthesis (so an unquoted 2026-12-02T01:00:00Z stays one value)."""
    out: list[tuple[str, str, int]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(("LP" if c == "(" else "RP", c, i))
            i += 1
        elif c == '"':
            j, chars = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                chars.append(text[j])
                j += 1
            if j >= n:
                raise QueryError("unterminated string", i + 1, text[i:i + 20])
            out.append(("STR", "".join(chars), i))
            i = j + 1
        elif any(text.startswith(op, i) for op in OPERATORS) and not (c == "!" and not text.startswith(("!=", "!~"), i)):
            op = next(op for op in OPERATORS if text.startswith(op, i))
            out.append(("OP", op, i))
            i += len(op)
        elif c == "-" and (not out or out[-1][0] != "OP") and i + 1 < n and not text[i + 1].isspace():
            out.append(("NOT", "-", i))
            i += 1
        else:
            after_op = bool(out) and out[-1][0] == "OP"
            j = i
            stops = " \t\r\n()\"" if after_op else " \t\r\n()\"=!<>:"
            while j < n and text[j] not in stops:
                j += 1
            if j == i:
                raise QueryError("unexpected character", i + 1, c)
            word = text[i:j]
            kind = word if word in ("AND", "OR", "NOT") and not after_op else "WORD"
            out.append((kind, word, i))
            i = j
    out.append(("END", "", n))
    return out


# -- grammar ------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, tokens):
        self.tokens, self.i = tokens, 0

    def peek(self, ahead: int = 0):
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self):
        token = self.tokens[self.i]
        self.i += 1
        return token

    def conjunction(self) -> Predicate:
        parts = [self.disjunction()]
        while True:
            kind = self.peek()[0]
            if kind == "AND":
                self.take()
                if self.peek()[0] in ("END", "RP", "AND", "OR"):
                    k, v, p = self.peek()
                    raise QueryError("expected an expression after AND", p + 1, v or None)
            elif kind not in ("LP", "STR", "WORD", "NOT"):  # juxtaposition: another term is an AND
                break
            parts.append(self.disjunction())
        return parts[0] if len(parts) == 1 else (lambda entry: all(p(entry) for p in parts))

    def disjunction(self) -> Predicate:
        parts = [self.unary()]
        while self.peek()[0] == "OR":
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda entry: any(p(entry) for p in parts))

    def unary(self) -> Predicate:
        if self.peek()[0] == "NOT":
            self.take()
            inner = self.unary()
            return lambda entry: not inner(entry)
        return self.primary()

    def primary(self) -> Predicate:
        kind, value, pos = self.take()
        if kind == "LP":
            if self.peek()[0] == "RP":
                raise QueryError("empty parentheses", pos + 1, "()")
            inner = self.conjunction()
            if self.peek()[0] != "RP":
                k, v, p = self.peek()
                raise QueryError("unbalanced parentheses: ')' expected", p + 1, v or None)
            self.take()
            return inner
        if kind == "STR" or (kind == "WORD" and self.peek()[0] != "OP" and not self._quoted_segment_follows()):
            return _global(value)
        if kind == "WORD":
            path = self._field(value, pos)
            _, op, op_pos = self.take()
            return self._comparison(path, op, op_pos)
        if kind == "OP":
            raise QueryError(f"a field name is needed before '{value}'", pos + 1, value)
        if kind == "END":
            raise QueryError("the filter ends where an expression was expected", pos + 1)
        raise QueryError("unexpected token", pos + 1, value)

    def _quoted_segment_follows(self) -> bool:
        word = self.tokens[self.i - 1][1]
        return word.endswith(".") and self.peek()[0] == "STR"

    def _field(self, word: str, pos: int) -> list[str]:
        path = [part for part in word.split(".")]
        while word.endswith(".") and self.peek()[0] == "STR":  # labels."run.googleapis.com/x"
            path[-1:] = [self.take()[1]]
            if self.peek()[0] == "WORD" and self.peek()[1].startswith("."):
                word = self.take()[1]
                path += word[1:].split(".")
            else:
                word = ""
        if self.peek()[0] != "OP":
            k, v, p = self.peek()
            raise QueryError("a comparison operator is expected after a field name", p + 1, v or None)
        if any(not part for part in path):
            raise QueryError("invalid field name", pos + 1, word)
        return path

    def _value(self):
        kind, value, pos = self.take()
        if kind in ("STR", "WORD"):
            return value, pos
        if kind == "END":
            raise QueryError("a value is expected after the operator", pos + 1)
        raise QueryError("a value is expected after the operator", pos + 1, value)

    def _comparison(self, path: list[str], op: str, op_pos: int) -> Predicate:
        if self.peek()[0] == "LP":  # field = ("a" OR "b")
            _, _, lp = self.take()
            values, joins = [self._value()], set()
            while self.peek()[0] in ("OR", "AND"):
                joins.add(self.take()[0])
                values.append(self._value())
            if self.peek()[0] != "RP":
                k, v, p = self.peek()
                raise QueryError("unbalanced parentheses: ')' expected", p + 1, v or None)
            self.take()
            if len(joins) > 1:
                raise QueryError("a list of values mixes AND and OR", lp + 1)
            tests = [_compare(path, op, v, p) for v, p in values]
            if joins == {"AND"}:
                return lambda entry: all(t(entry) for t in tests)
            return lambda entry: any(t(entry) for t in tests)
        value, pos = self._value()
        return _compare(path, op, value, pos)


# -- matching -----------------------------------------------------------------------------------
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def resolve(entry, path: list[str]):
    node = entry
    for part in path:
        if not isinstance(node, dict):
            return _MISSING
        if part in node:
            node = node[part]
        elif _camel(part) in node:
            node = node[_camel(part)]
        else:
            return _MISSING
    return node


def _compare(path: list[str], op: str, value: str, pos: int) -> Predicate:
    leaf = _camel(path[-1])
    if op == ":" and value == "*":
        return lambda entry: resolve(entry, path) is not _MISSING
    if op in ("=~", "!~"):
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise QueryError(f"invalid regular expression ({exc})", pos + 1, value) from None
        found = lambda entry: _strings_match(resolve(entry, path), pattern)
        return found if op == "=~" else (lambda entry: resolve(entry, path) is not _MISSING and not found(entry))
    if len(path) == 1 and leaf == "severity":
        level = _level(value)
        if level is None:
            raise QueryError(f"unknown severity '{value}' (one of {', '.join(SEVERITIES)})", pos + 1, value)
        return lambda entry: _ordered(_level(str(entry.get("severity", "DEFAULT"))) or 0, op, level)
    if len(path) == 1 and leaf in TIME_FIELDS:
        moment = parse_time(value)
        if moment is None:
            raise QueryError(f"invalid timestamp '{value}' (RFC 3339, e.g. 2026-12-02T01:00:00Z)", pos + 1, value)

        def at(entry):
            seen = entry.get(leaf)
            seen = parse_time(seen) if isinstance(seen, str) else None
            return seen is not None and (_has(seen.isoformat(), value) if op == ":" else _ordered(seen, op, moment))
        return at
    return lambda entry: _match(resolve(entry, path), op, value)


def _match(seen, op: str, value: str) -> bool:
    if seen is _MISSING or seen is None:
        return False
    if isinstance(seen, dict):
        return op == ":" and any(_match(v, op, value) for v in seen.values())
    if isinstance(seen, list):
        return any(_match(v, op, value) for v in seen)
    if isinstance(seen, bool):
        seen = "true" if seen else "false"
    if op == ":":
        return _has(str(seen), value)
    number, wanted = _number(seen), _number(value)
    if number is not None and wanted is not None:
        return _ordered(number, op, wanted)
    return _ordered(str(seen).casefold(), op, value.casefold())


def _number(value):
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    match = _DURATION.match(text)
    try:
        return float(match.group(1)) if match else float(text)
    except ValueError:
        return None


def _ordered(a, op: str, b) -> bool:
    return {"=": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}.get(op, False)


def _has(text: str, value: str) -> bool:
    return value.casefold() in text.casefold()


def _strings_match(seen, pattern) -> bool:
    if seen is _MISSING or seen is None:
        return False
    if isinstance(seen, dict):
        return any(_strings_match(v, pattern) for v in seen.values())
    if isinstance(seen, list):
        return any(_strings_match(v, pattern) for v in seen)
    return pattern.search(str(seen)) is not None


def _global(value: str) -> Predicate:
    return lambda entry: _anywhere(entry, value.casefold())


def _anywhere(node, needle: str) -> bool:
    if isinstance(node, dict):
        return any(_anywhere(v, needle) for v in node.values())
    if isinstance(node, list):
        return any(_anywhere(v, needle) for v in node)
    return needle in str(node).casefold()


def _level(value: str) -> int | None:
    text = value.strip().upper()
    if text in LEVELS:
        return LEVELS[text]
    return int(text) if text.isdigit() else None


def parse_time(text: str) -> datetime | None:
    """RFC 3339 (fractions of any length, Z or an offset); a date alone means its midnight UTC."""
    text = text.strip()
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:[Tt ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?", text)
    if not match:
        return None
    day, clock, fraction, zone = match.groups()
    clock = clock or "00:00:00"
    if len(clock) == 5:
        clock += ":00"
    micros = (fraction or ".0")[1:7].ljust(6, "0")
    zone = "+00:00" if zone in (None, "Z", "z") else zone
    try:
        return datetime.fromisoformat(f"{day}T{clock}.{micros}{zone}").astimezone(timezone.utc)
    except ValueError:
        return None
