"""Dockerfile reading and docker's word processing, and the small formatters docker's output uses."""
from __future__ import annotations

import pytest

from labkit.docker.cli import _human_duration, _human_size, _render, _table
from labkit.docker.context import compile_pattern, is_excluded
from labkit.docker.dockerfile import DockerfileError, Lexer, parse_dockerfile, parse_json_array

ENV = {"NAME": "app", "EMPTY": "", "PATH": "/usr/bin"}


@pytest.mark.parametrize("word, expected", [
    ("$NAME", "app"), ("${NAME}", "app"), ("${NAME}-x", "app-x"), ("$NAME.py", "app.py"),
    ("'$NAME'", "$NAME"), ('"$NAME"', "app"), ("\\$NAME", "$NAME"), ('"a \\"q\\" b"', 'a "q" b'),
    ("${MISSING:-def}", "def"), ("${EMPTY:-def}", "def"), ("${EMPTY-def}", ""), ("${NAME:+alt}", "alt"),
    ("${MISSING:+alt}", ""), ("$", "$"), ("a$", "a$"), ("$1x", "x"), ("/opt/$NAME/bin:$PATH", "/opt/app/bin:/usr/bin"),
])
def test_word_processing(word, expected):
    assert Lexer().process_word(word, ENV) == expected


def test_words_split_on_unquoted_whitespace():
    assert Lexer().process_words('a "b c" d\\ e \'f g\' ""', ENV) == ["a", "b c", "d e", "f g", ""]


def test_parse_continuations_comments_and_directives():
    text = "# syntax=docker/dockerfile:1\n# escape=\\\n\nFROM python:3.12-slim\n# comment\nRUN a && \\\n  # inside\n\n  b\ncmd [\"x\"]\n"
    df = parse_dockerfile(text)
    assert df.directives == {"syntax": "docker/dockerfile:1", "escape": "\\"}
    assert [(i.cmd, i.line) for i in df.instructions] == [("FROM", 4), ("RUN", 6), ("CMD", 10)]
    assert df.instructions[1].rest == "a &&   b"
    assert df.instructions[2].rest == '["x"]'


def test_backtick_escape():
    df = parse_dockerfile("# escape=`\nFROM scratch\nENV A=1 `\n  B=2\n")
    assert df.instructions[1].rest == "A=1   B=2"


def test_flags_are_split_off():
    (inst,) = parse_dockerfile("COPY --from=builder --chown=1:1 /src /dst\n").instructions
    assert inst.flags == {"from": ["builder"], "chown": ["1:1"]}
    assert inst.rest == "/src /dst" and inst.flag("from") == "builder"


def test_unknown_instruction_and_heredoc():
    with pytest.raises(DockerfileError, match=r"line 2: unknown instruction: COPPY \(did you mean COPY\?\)"):
        parse_dockerfile("FROM x\nCOPPY a b\n")
    with pytest.raises(DockerfileError, match="heredocs"):
        parse_dockerfile("FROM x\nRUN <<EOF\necho\nEOF\n")


def test_json_form():
    assert parse_json_array('["python", "app.py"]') == ["python", "app.py"]
    assert parse_json_array("python app.py") is None
    assert parse_json_array("[python, app.py]") is None
    assert parse_json_array('["a", 1]') is None


@pytest.mark.parametrize("patterns, path, excluded", [
    (["*.log"], "a.log", True), (["*.log"], "dir/a.log", False), (["**/*.log"], "dir/a.log", True),
    (["node_modules"], "node_modules/x/y.js", True), (["/build"], "build/x", True), (["build"], "src/build", False),
    (["*.md", "!README.md"], "README.md", False), (["*.md", "!README.md"], "CHANGES.md", True),
    (["docs/**"], "docs/a/b.txt", True), (["a?c"], "abc", True), (["[ab].txt"], "b.txt", True),
])
def test_dockerignore_patterns(patterns, path, excluded):
    assert is_excluded(path, [compile_pattern(p) for p in patterns]) is excluded


def test_human_formats_match_go_units():
    assert [_human_size(n) for n in (0, 999, 1000, 27136, 150_000_000, 1_234_567_890)] == [
        "0B", "999B", "1kB", "27.1kB", "150MB", "1.23GB"]
    assert [_human_duration(s) for s in (0.5, 1, 30, 60, 600, 3600, 7200, 86400 * 3, 86400 * 20, 86400 * 100,
                                         86400 * 800)] == [
        "Less than a second", "1 second", "30 seconds", "About a minute", "10 minutes", "About an hour", "2 hours",
        "3 days", "2 weeks", "3 months", "2 years"]


def test_tabwriter_like_table():
    assert _table([["REPOSITORY", "TAG", "SIZE"], ["my-app", "latest", "1kB"]]) == (
        "REPOSITORY   TAG       SIZE\nmy-app       latest    1kB")


def test_go_template_subset():
    doc = {"Config": {"Cmd": ["python", "app.py"], "ExposedPorts": {"8080/tcp": {}}, "User": ""}, "Os": "linux"}
    assert _render("{{.Config.Cmd}}|{{json .Config.Cmd}}|{{.Config.ExposedPorts}}|{{.Os}}|{{.Nope}}", doc) == (
        '[python app.py]|["python","app.py"]|map[8080/tcp:{}]|linux|<no value>')
    assert _render("{{.Os}}\\t{{.Os}}", doc) == "linux\tlinux"
