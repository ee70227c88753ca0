"""The grader's own texts (statuses, reasons, notes, feedback), English and Korean.

Check messages come from `labkit.messages`; these are the grader's: the same `text(key, lang,
**params)` shape, catalogues beside this module with the same keys (tests prove it).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("en", "ko")
_HERE = Path(__file__).parent / "messages"


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    return json.loads((_HERE / f"{lang}.json").read_text(encoding="utf-8"))


def text(key: str, lang: str = "en", **params) -> str:
    lang = lang if lang in LANGUAGES else "en"
    template = catalogue(lang).get(key) or catalogue("en").get(key) or key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def note_text(key: str, lang: str = "en", **params) -> str:
    """A grader note in `lang`. A note about a step carries the step's `title_key` and shows the
    step's title in the reader's language, never its id ("Step 4 · Tag and push", "4단계 · ...")."""
    if "title_key" in params:
        title = check_text(params["title_key"], lang)
        if title != params["title_key"]:  # a lab without a title in the catalogues keeps its step id
            params = {**params, "step": title}
    return text(key, lang, **params)


def check_text(key: str, lang: str = "en", **params) -> str:
    """A check's message (labkit's catalogues), falling back to the key itself."""
    from labkit.messages import text as labkit_text

    return labkit_text(key, lang=lang if lang in LANGUAGES else "en", **params)
