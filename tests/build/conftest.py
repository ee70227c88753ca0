"""Fixtures for the build tests: the repository built once per pytest worker, and a small
temporary course tree (tests/build/fixtures/) built once per worker, both in memory."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
if str(REPO) not in sys.path:  # coursebuild is run from the repository root, not installed
    sys.path.insert(0, str(REPO))

from coursebuild import build  # noqa: E402


@pytest.fixture(scope="session")
def repo_build():
    """Every source of the repository, built in memory (nbgrader runs once for all labs)."""
    result = build(REPO)
    assert result.ok, "\n".join(str(e) for e in result.errors)
    return result


def make_tree(root: Path) -> Path:
    """A course tree with the fixture lab (every nbgrader cell kind) and a small lesson."""
    (root / "course" / "src").mkdir(parents=True)
    (root / "solutions" / "src").mkdir(parents=True)
    shutil.copy(FIXTURES / "lab99.md", root / "solutions" / "src" / "lab99.md")
    shutil.copy(FIXTURES / "lesson99.md", root / "course" / "src" / "lesson99.md")
    return root


@pytest.fixture(scope="session")
def fixture_tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("tree"))


@pytest.fixture(scope="session")
def fixture_build(fixture_tree):
    result = build(fixture_tree)
    assert result.ok, "\n".join(str(e) for e in result.errors)
    return result


def all_builds(repo_build, fixture_build):
    """(label, source, {lang: notebook bytes}, student versions or None) for every source."""
    out = []
    for result in (repo_build, fixture_build):
        for source in result.sources:
            src_dir, name = source.path.rsplit("/", 1)
            name = name.removesuffix(".md")
            top = "course" if src_dir == "course/src" else "solutions"
            built = {lang: result.outputs[f"{top}/{lang}/{name}.ipynb"] for lang in ("en", "ko")}
            student = None
            if top == "solutions":
                student = {lang: result.outputs[f"labs/{lang}/{name}.ipynb"] for lang in ("en", "ko")}
            out.append((source.path, source, built, student))
    return out
