"""labkit's messages (errors, checks, hints, widget labels) in English and Korean.

Catalogues are JSON files beside this module: `en.json` / `ko.json`, plus one pair per part of
the course that keeps its own (`lab06.en.json` / `lab06.ko.json`), so that two labs written at
once never edit the same file. A language's catalogue is all its files merged; a key defined
twice is an error. Both languages have the same keys (tests/test_messages.py proves it).
`text(key, **params)` renders in the notebook's language.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("en", "ko")
_HERE = Path(__file__).parent


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in [_HERE / f"{lang}.json", *sorted(_HERE.glob(f"*.{lang}.json"))]:
        part = json.loads(path.read_text(encoding="utf-8"))
        twice = sorted(set(part) & set(merged))
        if twice:
            raise ValueError(f"{path.name} defines keys another catalogue has: {', '.join(twice[:5])}")
        merged.update(part)
    return merged


def current_language() -> str:
    """The language of the notebook this kernel runs.

    Code cells are identical in both languages, so the kernel finds out: LABKIT_LANG (set by
    `labkit.start(lang=...)` and by the grader from the notebook's metadata), else the notebook
    Jupyter says it runs (JPY_SESSION_NAME) and its `labkit.lang` metadata, else a `ko` folder
    in that path or the working directory, else English.
    """
    lang = os.environ.get("LABKIT_LANG", "")
    if lang in LANGUAGES:
        return lang
    session = os.environ.get("JPY_SESSION_NAME", "")
    if session:
        lang = _language_of_notebook(session)
        if lang:
            return lang
    for path in (session, os.getcwd()):
        parts = Path(path).parts
        for candidate in LANGUAGES:
            if candidate in parts:
                return candidate
    return "en"


def _language_of_notebook(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            lang = json.load(f).get("metadata", {}).get("labkit", {}).get("lang")
        return lang if lang in LANGUAGES else None
    except (OSError, ValueError, AttributeError):
        return None


MESSAGE_VALUE = "@message:"  # a value that is itself a message ("(no answer)"), said in the reader's language


def message_value(key: str) -> str:
    """A check's param value that is a message of its own: rendered in the language of whoever
    reads the result (a check runs before anyone knows: the grader renders feedback later)."""
    return MESSAGE_VALUE + key


def said(value, lang: str | None = None):
    if isinstance(value, str) and value.startswith(MESSAGE_VALUE):
        return text(value[len(MESSAGE_VALUE):], lang)
    return value


def text(key: str, lang: str | None = None, **params) -> str:
    """The message `key` in `lang` (default: the notebook's language), with params filled in.
    A missing key shows itself rather than failing: a check must never crash on a message."""
    lang = lang or current_language()
    params = {name: said(value, lang) for name, value in params.items()}
    template = catalogue(lang).get(key) or catalogue("en").get(key) or key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
