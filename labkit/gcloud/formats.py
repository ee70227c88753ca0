"""gcloud's --format for the resources a command returns (plain dicts and lists, camelCase as
gcloud shows them):

    value(status.url)                 the fields, tab-separated, one line per resource; a list
                                      joined with ';', a dict as key=value;...
    value(status.traffic[0].percent)  an index into a list
    json | yaml                       the whole resource (sorted keys, as gcloud prints them)
    table(name, format:label=FMT)     columns with a header; the default of the list commands
    none                              nothing

Transforms after a key (`.date()`, `.basename()`, `.yesno()`) are understood for the few the
course uses; others are ignored (the raw value is shown).
"""
from __future__ import annotations

import json
import re

from labkit.gcloud.errors import GcloudError

_FORMAT = re.compile(r"^\s*(\w+)\s*(?:\((.*)\))?\s*(?::.*)?$", re.S)
_INDEX = re.compile(r"^(.*?)\[(-?\d*)\]$")


class Column:
    def __init__(self, spec: str):
        spec = spec.strip()
        key, *attributes = _split(spec, ":")
        self.label = None
        for attribute in attributes:
            name, _, value = attribute.partition("=")
            if name.strip() == "label":
                self.label = value.strip().strip("'\"")
        self.transform = None
        m = re.match(r"^(.*?)\.(date|basename|yesno|format|len)\((.*)\)$", key.strip())
        if m:
            key, self.transform, self.transform_args = m.group(1), m.group(2), m.group(3)
        self.key = key.strip()
        if self.label is None:
            last = re.sub(r"\[.*?\]", "", self.key.split(".")[-1])
            self.label = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", last).upper()

    def value(self, resource):
        found = get(resource, self.key)
        if self.transform == "basename" and isinstance(found, str):
            return found.rsplit("/", 1)[-1]
        if self.transform == "yesno":
            words = dict(re.findall(r'(yes|no)="([^"]*)"', self.transform_args))
            return words.get("yes", "Yes") if found else words.get("no", "No")
        if self.transform == "date" and isinstance(found, str):
            return found[:19]  # gcloud's default: %Y-%m-%dT%H:%M:%S
        if self.transform == "len":
            return len(found or [])
        return found


def _split(text: str, sep: str) -> list[str]:
    """Split on `sep` outside quotes and brackets."""
    parts, depth, quote, current = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return parts


def get(resource, key: str):
    """resource['a']['b'][0]['c'] for 'a.b[0].c' (None where something is missing)."""
    value = resource
    for part in key.split("."):
        if not part:
            continue
        m = _INDEX.match(part)
        name, index = (m.group(1), m.group(2)) if m else (part, None)
        if name:
            value = value.get(name) if isinstance(value, dict) else None
        if index not in (None, "") and isinstance(value, list):
            i = int(index)
            value = value[i] if -len(value) <= i < len(value) else None
        if value is None:
            return None
    return value


def text_of(value) -> str:
    """A value as gcloud's value() and table() show it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        return ";".join(text_of(v) for v in value)
    if isinstance(value, dict):
        return ";".join(f"{k}={text_of(v)}" for k, v in value.items())
    return str(value)


def parse(spec: str | None, default: str):
    """(kind, columns) for a --format string."""
    spec = (spec or default).strip()
    m = _FORMAT.match(spec)
    if not m or m.group(1) not in ("value", "json", "yaml", "table", "none", "list", "csv", "text"):
        raise GcloudError(f"Format [{spec.split('(')[0]}] not found.")
    kind, inner = m.group(1), m.group(2)
    columns = [Column(c) for c in _split(inner, ",") if c.strip()] if inner else []
    if kind == "value" and not columns:
        raise GcloudError("Format [value] requires a non-empty projection.")
    return kind, columns


def render(resources, spec: str | None, default: str, single: bool = False) -> str:
    """The text gcloud prints for `resources` (a list, or one resource if single)."""
    kind, columns = parse(spec, default)
    items = [resources] if single else list(resources)
    if kind == "none":
        return ""
    if kind == "json":
        data = resources if single else items
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if kind == "yaml":
        return "---\n".join(_yaml(item) for item in items)
    if kind in ("value", "csv"):
        sep = "\t" if kind == "value" else ","
        lines = [sep.join(text_of(c.value(item)) for c in columns) for item in items]
        header = [",".join(c.label.lower() for c in columns)] if kind == "csv" else []
        return "".join(line + "\n" for line in header + lines)
    if kind == "table":
        return table(items, columns)
    return "".join(_yaml(item) for item in items)


def table(items: list, columns: list[Column]) -> str:
    if not items:
        return ""
    rows = [[c.label for c in columns]] + [[text_of(c.value(item)) for c in columns] for item in items]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    return "".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n" for row in rows)


def _yaml(data) -> str:
    try:
        import yaml
    except ImportError:  # not every environment has PyYAML: JSON is valid YAML
        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=True, allow_unicode=True, width=10 ** 6)
