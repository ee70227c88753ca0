"""A student opens JupyterLab: the course index, the file browser, and a lesson as it renders."""
from __future__ import annotations

import posixpath
import time
from urllib.parse import unquote, urlsplit

import pytest

from tests.browser import notebook as nb
from tests.browser.server import ROOT

COURSE = ROOT / "course"
LESSONS = ["01_containers", "02_registries"]
INDEX = "00_index.ipynb"


def index_targets() -> set[str]:
    """What the English index links: every English lesson and lab, and the Korean index."""
    return {f"en/{path.name}" for path in (COURSE / "en").glob("*.ipynb") if path.name != INDEX} | {f"ko/{INDEX}"}


def linked_notebook(href: str) -> str | None:
    """en/01_containers.ipynb for a link JupyterLab rendered as /files/en/01_containers.ipynb?..."""
    path = unquote(urlsplit(href).path)
    for prefix in ("/files/", "/lab/tree/"):
        if path.startswith(prefix) and path.endswith(".ipynb"):
            return path[len(prefix):]
    # JupyterLab resolves a relative link after the cell renders: on a loaded machine the page may
    # still hold the link as written (relative to en/00_index.ipynb)
    if path.endswith(".ipynb") and not path.startswith("/") and not urlsplit(href).scheme:
        return posixpath.normpath(posixpath.join("en", path))
    return None


def test_opens_on_the_course_index_with_only_course_material(page, student_lab, shots):
    page.goto(student_lab.page_url("/"))  # what the launcher's printed address opens
    index = nb.read_notebook(COURSE / "en" / INDEX)
    landing = nb.wait_for_notebook(page, INDEX, len(index["cells"]))
    nb.dismiss_news_prompt(page)
    shots.take(page, "landing")

    markdown = [c for c in index["cells"] if c["cell_type"] == "markdown"]
    assert len(markdown) == len(index["cells"]), "the landing page is text only: no code for a student to run"
    rendered = landing.locator(".jp-MarkdownCell.jp-mod-rendered .jp-RenderedMarkdown")
    assert rendered.count() == len(markdown), "every markdown cell shows rendered, not as source"

    def linked_now() -> dict:
        links = landing.locator(".jp-RenderedMarkdown a").evaluate_all(
            "els => els.map(e => [e.getAttribute('href') || '', e.textContent.trim()])")
        return {linked_notebook(href): label for href, label in links if linked_notebook(href)}

    # on a loaded machine JupyterLab may still be resolving the links: give it a moment
    deadline = time.monotonic() + 20
    linked = linked_now()
    while set(linked) != index_targets() and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        linked = linked_now()
    assert set(linked) == index_targets(), "a link to every lesson and lab, the Korean index, and nothing else"
    for target, label in linked.items():
        korean = bool(nb.HANGUL.search(label))
        assert korean == target.startswith("ko/"), f"{target} is linked as {label!r}: its label in its own language"

    listing = page.locator(".jp-FileBrowser .jp-DirListing-content .jp-DirListing-itemText")
    listing.first.wait_for()
    # the file browser shows the index's folder, en/: the course's English notebooks (and their pictures)
    # only (course/ itself, en/ ko/ index.ipynb, is tests/jupyter/test_student_session.py's)
    assert sorted(listing.all_inner_texts()) == sorted(p.name for p in (COURSE / "en").iterdir()
                                                      if not p.name.startswith("."))

    # A link opens the lesson, as a student clicks it.
    landing.locator(".jp-RenderedMarkdown a[href*='en/01_containers.ipynb']").first.click()  # its row (Start: links it too)
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="01_containers.ipynb")
    tab.wait_for()
    tab.click()  # JupyterLab may open it behind the index
    lesson = nb.read_notebook(COURSE / "en" / "01_containers.ipynb")
    nb.wait_for_notebook(page, "01_containers.ipynb", len(lesson["cells"]))
    shots.take(page, "lesson-from-link")


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_renders_with_its_diagrams(page, student_lab, shots, lesson):
    path = f"en/{lesson}.ipynb"
    source = nb.read_notebook(COURSE / path)
    notebook = nb.open_notebook(page, student_lab, path, len(source["cells"]))
    nb.dismiss_news_prompt(page)
    shots.take(page, "top")

    markdown = sum(1 for c in source["cells"] if c["cell_type"] == "markdown")
    rendered = notebook.locator(".jp-MarkdownCell.jp-mod-rendered .jp-RenderedMarkdown")
    assert rendered.count() == markdown > 0
    headings = notebook.locator(".jp-RenderedMarkdown h1, .jp-RenderedMarkdown h2")
    assert headings.count() >= 2, "headings render as headings, not as '#' text"

    images = notebook.locator(".jp-RenderedMarkdown img")
    # The lessons' diagrams are pictures (img/*.svg), not ASCII art that misaligns in the browser.
    assert images.count() > 0, f"{path} shows no pictures: its diagrams should be <img src='img/...svg'>"
    for i in range(images.count()):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        src = image.get_attribute("src")
        page.wait_for_function("img => img.complete", arg=image.element_handle(), timeout=15_000)
        width = image.evaluate("img => img.naturalWidth")
        assert width > 0, f"picture {src!r} in {path} did not load"
        shots.take(page, f"picture-{i + 1}")
