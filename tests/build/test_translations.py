"""(c) Stale translations are listed with file:line (not fatal unless --strict), and
`--stamp FILE:LINE` records one re-translated block at a time."""
from __future__ import annotations

import pytest

from .helpers import make_tree
from coursebuild import build, parse, sha8
from coursebuild.__main__ import main
from coursebuild.errors import StampError
from coursebuild.stamp import stamp


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def tree(tmp_path):
    return make_tree(tmp_path)


def test_sha_ignores_trailing_whitespace_only():
    assert sha8("a  \nb\n\n") == sha8("\na\nb")
    assert sha8("a\nb") != sha8("a\nb.")


def test_fixture_sources_are_current(fixture_build):
    assert fixture_build.stale == []


def test_edited_english_makes_its_korean_block_stale(tree):
    src = tree / "src/lessons/lesson99.md"
    _edit(src, "A diagram inside prose stays prose:", "A diagram inside prose is still prose:")
    result = build(tree, [src])
    assert result.ok
    assert len(result.stale) == 1
    stale = result.stale[0]
    assert (stale.path, stale.line, stale.en_line) == ("src/lessons/lesson99.md", 16, 6)
    assert stale.recorded == "67e27288" and stale.current != stale.recorded
    assert str(stale).startswith("src/lessons/lesson99.md:16: stale translation")
    # the stale Korean text is still built
    assert "테스트용 레슨".encode() in result.outputs["course/ko/lesson99.ipynb"]


def test_stale_is_reported_and_only_fatal_with_strict(tree, capsys):
    _edit(tree / "src/lessons/lesson99.md", "# Fixture lesson", "# Fixture lesson, revised")
    out = tree / "out"
    assert main(["--root", str(tree), "--out", str(out), "-q"]) == 0
    err = capsys.readouterr().err
    assert "src/lessons/lesson99.md:16: stale translation" in err
    assert main(["--root", str(tree), "--out", str(out), "--check", "-q"]) == 0
    assert main(["--root", str(tree), "--out", str(out), "--check", "--strict", "-q"]) == 1


def test_stamp_records_the_current_sha_for_one_block(tree, monkeypatch):
    monkeypatch.chdir(tree)
    src = tree / "src/lessons/lesson99.md"
    _edit(src, "# Fixture lesson", "# Fixture lesson, revised")
    with pytest.raises(StampError, match="not inside a '::: ko' block"):
        stamp("src/lessons/lesson99.md:6")  # the English block: stamping names the Korean one
    done = stamp("src/lessons/lesson99.md:19")  # any line inside the Korean block
    assert done.changed and done.line == 16 and done.old == "67e27288"
    assert f"::: ko sha={done.new}\n" in src.read_text(encoding="utf-8")
    assert parse(src.read_text(encoding="utf-8"), "src/lessons/lesson99.md").stale() == []
    assert not stamp("src/lessons/lesson99.md:16").changed  # idempotent


def test_stamp_only_touches_the_named_block(tree, monkeypatch):
    monkeypatch.chdir(tree)
    src = tree / "src/labs/lab99.md"
    text = src.read_text(encoding="utf-8")
    _edit(src, "Create a repository.", "Create a repository now.")
    _edit(src, "Push the image.", "Push the image now.")
    assert len(parse(src.read_text(encoding="utf-8"), "x").stale()) == 2
    assert main(["--stamp", "src/labs/lab99.md:16"]) == 0
    left = parse(src.read_text(encoding="utf-8"), "x").stale()
    assert [s.line for s in left] == [65]
    assert len(src.read_text(encoding="utf-8").splitlines()) == len(text.splitlines())


def test_stamp_adds_a_missing_sha(tree, monkeypatch):
    monkeypatch.chdir(tree)
    src = tree / "src/lessons/lesson99.md"
    _edit(src, "::: ko sha=67e27288", "::: ko")
    [stale] = parse(src.read_text(encoding="utf-8"), "x").stale()
    assert stale.recorded is None and "sha=(none)" in str(stale)
    assert stamp("src/lessons/lesson99.md:16").new == "67e27288"


@pytest.mark.parametrize("target", ["src/lessons/lesson99.md", "nosuch.md:3", "src/lessons/lesson99.md:x"])
def test_stamp_rejects_bad_targets(tree, monkeypatch, target):
    monkeypatch.chdir(tree)
    with pytest.raises(StampError):
        stamp(target)
