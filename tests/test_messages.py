"""The message catalogues: same keys and placeholders in both languages, Korean really Korean."""
from __future__ import annotations

import re

import pytest

from labkit.checks.registry import get_lab, lab_ids
from labkit.messages import catalogue, current_language, text

PLACEHOLDER = re.compile(r"{(\w+)[^}]*}")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_both_catalogues_have_the_same_keys():
    assert set(catalogue("en")) == set(catalogue("ko"))


def test_a_part_catalogue_is_merged_and_may_not_redefine_a_key(tmp_path, monkeypatch):
    import labkit.messages as messages

    (tmp_path / "en.json").write_text('{"a": "A"}')
    (tmp_path / "lab99.en.json").write_text('{"lab99.b": "B"}')
    monkeypatch.setattr(messages, "_HERE", tmp_path)
    messages.catalogue.cache_clear()
    try:
        assert messages.catalogue("en") == {"a": "A", "lab99.b": "B"}
        (tmp_path / "lab98.en.json").write_text('{"a": "again"}')
        messages.catalogue.cache_clear()
        with pytest.raises(ValueError, match="lab98.en.json defines keys another catalogue has: a"):
            messages.catalogue("en")
    finally:
        messages.catalogue.cache_clear()


@pytest.mark.parametrize("key", sorted(catalogue("en")))
def test_placeholders_match_and_korean_is_korean(key):
    en, ko = catalogue("en")[key], catalogue("ko")[key]
    assert set(PLACEHOLDER.findall(en)) == set(PLACEHOLDER.findall(ko)), key
    assert HANGUL.search(ko), f"{key} is not translated: {ko!r}"


def test_every_check_outcome_has_a_message():
    """Every Result key a lab can produce has text (keys are read from the check modules)."""
    import inspect

    for lab_id in lab_ids():
        module = inspect.getmodule(get_lab(lab_id).steps[0].conditions[0])
        source = inspect.getsource(module)
        keys = set(re.findall(r'"(lab\d\d\.[a-z0-9_.]+)"', source))
        for step in get_lab(lab_id).steps:
            keys.add(step.title_key)
        assert not re.search(r'f"lab\d\d\.', source), "write message keys out in full, so they can be found"
        missing = sorted(k for k in keys if k not in catalogue("en"))
        assert not missing, missing
        assert len(keys) > 20  # the regex still finds the keys


def test_language_comes_from_environment_then_path(monkeypatch, tmp_path):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setenv("LABKIT_LANG", "ko")
    assert current_language() == "ko"
    assert "진행" in text("progress.button")
    monkeypatch.delenv("LABKIT_LANG")
    (tmp_path / "labs" / "ko").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "labs" / "ko")
    assert current_language() == "ko"
    monkeypatch.chdir(tmp_path)
    assert current_language() == "en"


def test_language_from_the_notebook_jupyter_runs(monkeypatch, tmp_path):
    nb = tmp_path / "lab02.ipynb"
    nb.write_text('{"metadata": {"labkit": {"lang": "ko"}}, "cells": []}')
    monkeypatch.delenv("LABKIT_LANG", raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", str(nb))
    assert current_language() == "ko"


def test_missing_key_shows_itself_instead_of_crashing():
    assert text("no.such.key", lang="ko") == "no.such.key"
    assert text("lab02.build.cmd.bad", lang="en").startswith("The image runs `{found}`")  # params missing: template


def test_a_value_that_is_a_message_is_said_in_the_readers_language():
    """A check's "(no answer)" goes into a result before anyone knows who reads it."""
    from labkit.checks.progress import message_html
    from labkit.messages import message_value

    value = message_value("checks.no_answer")
    assert text("lab09.apprunner.answers.wrong", "ko", url="u", found=value, expected="e").count("(응답 없음)") == 1
    assert "(no answer)" in text("lab09.apprunner.answers.wrong", "en", url="u", found=value, expected="e")
    assert "(응답 없음)" in message_html("lab09.apprunner.answers.wrong", "ko", url="u", found=value, expected="e")
