"""Fixtures for the build tests: the repository and a small temporary course tree
(tests/build/fixtures/), each built in memory once per pytest worker."""
from __future__ import annotations

import pytest

from .helpers import REPO, make_tree
from coursebuild import build


@pytest.fixture(scope="session")
def repo_build():
    """Every source of the repository, built in memory (nbgrader runs once for all labs)."""
    result = build(REPO)
    assert result.ok, "\n".join(str(e) for e in result.errors)
    return result


@pytest.fixture(scope="session")
def fixture_tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("tree"))


@pytest.fixture(scope="session")
def fixture_build(fixture_tree):
    result = build(fixture_tree)
    assert result.ok, "\n".join(str(e) for e in result.errors)
    return result
