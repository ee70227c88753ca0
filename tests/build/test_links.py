"""Every link in every built notebook leads somewhere, as JupyterLab resolves it:

- a relative link (`lab02.ipynb`, `../index.ipynb#...`, an image) names a file that exists,
  relative to the notebook's own folder (a built notebook or a file in the repository); a lab's
  instructor version (solutions/<lang>/) may link a notebook of course/<lang>/, where its student
  version lives (the two share their text);
- an anchor (`#2.1-Step-1:-create-a-repository`, or `X.ipynb#...`) matches a heading of that
  notebook, made into an id the way JupyterLab does (spaces -> '-');
- an external link is https to one of the documentation hosts below; it is not fetched (the
  tests run offline, and a student's machine may be offline too).
"""
from __future__ import annotations

import json
import posixpath
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from .helpers import REPO
from .markdown_parts import anchor, parse

# The only places a notebook may send a student outside the course: the official documentation
# of what the course teaches. Everything else (blogs, a vendor's marketing page) goes stale or
# changes hands; add a host here only for documentation.
DOCUMENTATION_HOSTS = {
    "docs.aws.amazon.com",         # AWS: ECR, ECS, EKS, Fargate, App Runner, the CLI
    "cloud.google.com",            # Google Cloud: Artifact Registry, GKE, Cloud Run
    "docs.cloud.google.com",       # Google Cloud's documentation host for the same pages
    "docs.docker.com",             # Docker and Dockerfile reference
    "kubernetes.io",               # Kubernetes documentation
    "boto3.amazonaws.com",         # boto3's API reference
    "aws.amazon.com",              # AWS's pricing pages (lesson 08: where the current prices are)
}


def _markdown_cells(notebook: dict):
    return [c for c in notebook["cells"] if c["cell_type"] == "markdown"]


def _anchors(notebook: dict) -> set[str]:
    found = set()
    for cell in _markdown_cells(notebook):
        found |= {anchor(text) for _, text in parse("".join(cell["source"])).headings}
    return found


def check_links(outputs: dict[str, bytes], root: Path) -> list[str]:
    """Problems with the links of the notebooks in `outputs` ({path: notebook bytes}, paths
    relative to `root`); files not in `outputs` are looked up under `root`."""
    notebooks = {path: json.loads(data) for path, data in outputs.items() if path.endswith(".ipynb")}
    anchors = {path: _anchors(nb) for path, nb in notebooks.items()}
    problems = []
    for path, nb in notebooks.items():
        folder = posixpath.dirname(path)
        for cell in _markdown_cells(nb):
            for link in parse("".join(cell["source"])).links:
                where = f"{path} cell {cell['id']}: {'image' if link.image else 'link'} {link.target!r}"
                problem = _check_one(link.target, link.image, path, folder, notebooks, anchors, root)
                if problem and path.startswith("solutions/") and link.target.split("#")[0].endswith(".ipynb"):
                    # a lab's instructor version is its student version's source: a link to another
                    # notebook of the course (its {next}) is made for course/<lang>/, beside the lessons
                    student_folder = "course/" + folder.removeprefix("solutions/")
                    problem = _check_one(link.target, link.image, path, student_folder, notebooks, anchors, root)
                if problem:
                    problems.append(f"{where} {problem}")
    return problems


def _check_one(target, image, path, folder, notebooks, anchors, root) -> str | None:
    if not target:
        return "is empty"
    parts = urlsplit(target)
    if parts.scheme or target.startswith("//"):
        if parts.scheme != "https":
            return "is not https (only https links to documentation are allowed)"
        if parts.hostname not in DOCUMENTATION_HOSTS:
            return f"goes to {parts.hostname}, not a documentation host ({', '.join(sorted(DOCUMENTATION_HOSTS))})"
        return None
    fragment = unquote(parts.fragment)
    if not parts.path:  # "#heading" in the same notebook
        if image:
            return "is an image without a file"
        return None if fragment in anchors[path] else f"matches no heading of this notebook (ids: {sorted(anchors[path])})"
    if parts.path.startswith("/"):
        return "is absolute: JupyterLab resolves links relative to the notebook's folder"
    resolved = posixpath.normpath(posixpath.join(folder, unquote(parts.path)))
    if resolved.startswith("../"):
        return "leaves the repository"
    if resolved in notebooks:
        if fragment and fragment not in anchors[resolved]:
            return f"matches no heading of {resolved} (ids: {sorted(anchors[resolved])})"
        return None
    if not (root / resolved).exists():
        return f"names {resolved}, which does not exist"
    if fragment and resolved.endswith(".ipynb"):
        return f"has an anchor into {resolved}, which is not a built notebook"
    return None


def test_every_link_of_every_built_notebook_resolves(repo_build):
    notebooks = [p for p in repo_build.outputs if p.endswith(".ipynb")]
    assert "course/index.ipynb" in notebooks and any(p.startswith("solutions/") for p in notebooks)
    problems = check_links(repo_build.outputs, REPO)
    assert not problems, "\n".join(problems)


def test_the_course_links_at_all(repo_build):
    """Each language's index links every lesson and lab of that language (else the test above
    proves little)."""
    for lang in ("en", "ko"):
        nb = json.loads(repo_build.outputs[f"course/{lang}/00_index.ipynb"])
        targets = {l.target for c in _markdown_cells(nb) for l in parse("".join(c["source"])).links}
        built = {p.rsplit("/", 1)[1] for p in repo_build.outputs
                 if p.startswith(f"course/{lang}/") and not p.endswith("/00_index.ipynb")}
        assert built and built <= targets, lang


# -- the checker itself ---------------------------------------------------------------------

def _notebook(*markdown: str) -> bytes:
    cells = [{"cell_type": "markdown", "id": f"c{i}", "metadata": {}, "source": text}
             for i, text in enumerate(markdown)]
    return json.dumps({"cells": cells, "metadata": {}}).encode()


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "course" / "en" / "img").mkdir(parents=True)
    (tmp_path / "course" / "en" / "img" / "vm.svg").write_text("<svg/>")
    return tmp_path


GOOD = {
    "course/index.ipynb": _notebook("# Start here\n\n[Lesson 1](en/01.ipynb) · [its steps](en/01.ipynb#2.1-Step-1:-create-it)"),
    "course/en/01.ipynb": _notebook(
        "# 01 · Lesson\n\n![the layers](img/vm.svg) <img src=\"img/vm.svg\" width=\"400\">",
        "### 2.1 Step 1: create it\n\nBack to [the start](../index.ipynb#Start-here), [the top](#01-·-Lesson), "
        "[ECR's docs](https://docs.aws.amazon.com/AmazonECR/latest/userguide/what-is-ecr.html)."),
}


def test_good_links_pass(tree):
    assert check_links(GOOD, tree) == []


@pytest.mark.parametrize("bad, complaint", [
    ("[next](02.ipynb)", "does not exist"),
    ("[next](../ko/01.ipynb)", "does not exist"),
    ("![pic](img/missing.png)", "does not exist"),
    ('<img src="vm.svg">', "does not exist"),
    ("[up](#Lesson)", "matches no heading of this notebook"),
    ("[start](../index.ipynb#Start)", "matches no heading of course/index.ipynb"),
    ("[docs](http://docs.aws.amazon.com/x)", "not https"),
    ("[blog](https://medium.com/some-post)", "not a documentation host"),
    ("see https://example.com/page for more", "not a documentation host"),
    ("[root](/course/en/01.ipynb)", "absolute"),
    ("[away](../../../etc/passwd)", "leaves the repository"),
])
def test_a_broken_link_is_reported(tree, bad, complaint):
    outputs = dict(GOOD, **{"course/en/bad.ipynb": _notebook("# Bad\n\n" + bad)})
    problems = check_links(outputs, tree)
    assert len(problems) == 1 and complaint in problems[0], problems


def test_links_inside_code_are_not_links(tree):
    outputs = {"course/en/x.ipynb": _notebook("# X\n\n`[a](missing.ipynb)`\n\n```\n[b](missing.ipynb) https://example.com\n```")}
    assert check_links(outputs, tree) == []
