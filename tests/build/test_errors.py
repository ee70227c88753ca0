"""(d) A source the build cannot use fails it, with file:line: a missing Korean twin, an unknown
block tag, unbalanced fences, and the other mistakes a maintainer can make."""
from __future__ import annotations

import pytest

from coursebuild import build, parse
from coursebuild.__main__ import main
from coursebuild.errors import SourceError

EN = "::: en\nHello.\n:::\n"
KO = "::: ko sha=2d8bd7d9\n안녕하세요.\n:::\n"
LAB = "---\nnbgrader: true\n---\n"


def error_of(text: str, path: str = "src/lessons/x.md") -> SourceError:
    with pytest.raises(SourceError) as info:
        parse(text, path)
    return info.value


def test_a_good_source_parses():
    source = parse(EN + "\n" + KO, "src/lessons/x.md")
    assert source.id == "x" and source.stale() == []


@pytest.mark.parametrize("text, line, message", [
    # missing Korean twin
    (EN, 1, "missing Korean twin"),
    (EN + "\n```python\nx = 1\n```\n", 1, "missing Korean twin"),
    (EN + EN + KO, 1, "missing Korean twin"),
    (KO, 1, "'::: ko' block without an English"),
    # unknown block tags
    ("::: fr\nBonjour.\n:::\n", 1, "unknown block tag 'fr'"),
    ("::: note\nx\n:::\n", 1, "unknown block tag 'note'"),
    (EN + "::: kr sha=2d8bd7d9\nx\n:::\n", 4, "unknown block tag 'kr'"),
    # unbalanced fences
    ("::: en\nHello.\n", 1, "unclosed '::: en' block"),
    ("::: en\nHello.\n::: ko sha=2d8bd7d9\n안녕\n:::\n", 3, "inside the '::: en' block opened at line 1"),
    (EN + KO + ":::\n", 7, "':::' closes no block"),
    ("::: en\n```\ncode\n:::\n", 2, "unclosed code fence"),
    ("```python\nx = 1\n", 1, "unclosed code block"),
    (":::: en\nx\n::::\n", 1, "exactly three colons"),
    # other mistakes
    ("Some prose.\n", 1, "text outside a block"),
    ("```bash\nls\n```\n", 1, "language 'bash' is not supported"),
    ("```\nls\n```\n", 1, "language '(none)'"),
    ("::: en\n\n:::\n" + KO, 1, "empty '::: en' block"),
    (EN + "::: ko sha=XYZ\nx\n:::\n", 4, "8 lowercase hex digits"),
    (EN + "::: ko {id=a}\nx\n:::\n", 4, "cell attributes go on the '::: en' block"),
    ("```python {colour=red}\nx\n```\n", 1, "unknown attribute 'colour'"),
    ("```python id=a\nx\n```\n", 1, "attributes go in braces"),
    ("```python {id=a b}\nx\n```\n", 1, "cannot read attribute text"),
    ("```python {id=a}\nx\n```\n```python {id=a}\ny\n```\n", 4, "id 'a' already used at line 1"),
    ("```python {id=no/slash}\nx\n```\n", 1, "ids are 1-64 letters"),
    ("```python\nx = 1\n#|ko 주석\n```\n", 3, "'#|ko' must directly follow"),
    ("```python\n# c\n#|ko 가\n#|ko 나\n```\n", 4, "'#|ko' must directly follow"),
    ("```python\n# c\n#|ko\n```\n", 3, "empty '#|ko'"),
    ("```python\n\n```\n", 1, "empty code block"),
    ("<!-- never closed\n", 1, "unclosed HTML comment"),
    ("---\nid: x\n", 1, "front matter opened with '---' is never closed"),
    ("---\nlab: x\n---\n", 1, "unknown front matter key 'lab'"),
    ("---\nnbgrader: yes please\n---\n", 1, "'nbgrader' must be a bool"),
])
def test_build_fails_with_file_and_line(text, line, message):
    error = error_of(text)
    assert (error.path, error.line) == ("src/lessons/x.md", line), str(error)
    assert message in error.message
    assert str(error).startswith(f"src/lessons/x.md:{line}: ")


@pytest.mark.parametrize("text, line, message", [
    ("```python {nbgrader=solution id=a}\nx\n```\n", 1, "need 'nbgrader: true' in the front matter"),
    (LAB + "```python {nbgrader=solution}\nx\n```\n", 4, "need an id="),
    (LAB + "```python {nbgrader=tests id=t}\nx\n```\n", 4, "need points="),
    (LAB + "```python {nbgrader=solution id=s points=2}\nx\n```\n", 4, "carry no points"),
    (LAB + "```python {nbgrader=manual id=m points=1}\nx\n```\n", 4, "not a code cell kind"),
    (LAB + "::: en {nbgrader=tests id=t points=1}\nx\n:::\n" + KO, 4, "not a markdown cell kind"),
    (LAB + "```python {nbgrader=frobnicate id=t}\nx\n```\n", 4, "not a code cell kind"),
    (LAB + "```python {points=1}\nx\n```\n", 4, "points= needs an nbgrader= kind"),
    (LAB + "```python {nbgrader=tests id=t points=-1}\nx\n```\n", 4, "points must be >= 0"),
    # nbgrader markers where nbgrader would not act on them would ship solutions to students
    (LAB + "```python\n### BEGIN SOLUTION\nx\n### END SOLUTION\n```\n", 4, "not nbgrader=solution"),
    (LAB + "```python {nbgrader=solution id=s}\n### BEGIN HIDDEN TESTS\nx\n### END HIDDEN TESTS\n```\n",
     4, "not nbgrader=tests"),
    (LAB + "```python {nbgrader=solution id=s}\n### BEGIN SOLUTION\nx\n```\n", 4, "no matching"),
])
def test_nbgrader_attribute_mistakes(text, line, message):
    error = error_of(text, "src/labs/x.md")
    assert error.line == line, str(error)
    assert message in error.message


def test_labs_live_in_solutions(tmp_path):
    (tmp_path / "src/lessons").mkdir(parents=True)
    (tmp_path / "src/lessons/x.md").write_text(LAB + EN + KO, encoding="utf-8")
    result = build(tmp_path)
    assert not result.ok and "live in src/labs" in result.errors[0].message
    assert result.outputs == {}


def test_cli_reports_every_broken_source_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "src/lessons").mkdir(parents=True)
    (tmp_path / "src/lessons/a.md").write_text(EN, encoding="utf-8")
    (tmp_path / "src/lessons/b.md").write_text("::: es\nHola\n:::\n", encoding="utf-8")
    (tmp_path / "src/lessons/c.md").write_text(EN + KO, encoding="utf-8")
    assert main(["--root", str(tmp_path), "-q"]) == 2
    err = capsys.readouterr().err
    assert "src/lessons/a.md:1: error: missing Korean twin" in err
    assert "src/lessons/b.md:1: error: unknown block tag 'es'" in err
    assert not (tmp_path / "course/en").exists()


def test_the_readme_example_is_a_valid_current_source():
    import re

    from .helpers import REPO

    readme = (REPO / "coursebuild" / "README.md").read_text(encoding="utf-8")
    example = re.search(r"~~~markdown\n(.*?)\n~~~", readme, re.DOTALL)[1]
    source = parse(example, "src/labs/lab02.md")
    assert source.stale() == [] and source.is_lab
    assert source.cells[1].attrs == {"id": "create_repository", "nbgrader": "solution"}
