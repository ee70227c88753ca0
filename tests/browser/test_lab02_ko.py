"""Lab 02 in Korean, with JupyterLab's own UI switched to Korean through the language pack: menus
in Korean, Hangul drawn with a CJK font (not boxes), the progress widget speaking Korean."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.browser import notebook as nb
from tests.browser import student
from tests.browser.conftest import student_server
from tests.browser.server import ROOT

KOREAN = "한국어"  # how the language pack names itself in Settings -> Language
TRANSLATION_SETTINGS = "/lab/api/settings/@jupyterlab/translation-extension:plugin"


def korean_fonts() -> list[str]:
    if not shutil.which("fc-list"):
        return []
    listed = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True).stdout
    return sorted({name.strip() for line in listed.splitlines() for name in line.split(",") if "CJK" in name})


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    if not korean_fonts():
        pytest.skip("fonts-noto-cjk is not installed (no CJK font for Korean in fc-list): Hangul would "
                    "render as boxes; apt-get install fonts-noto-cjk")
    yield from student_server(tmp_path_factory, "lab02-ko")


def test_lab02_in_korean_with_a_korean_jupyterlab(page, lab, shots):
    landing_cells = len(nb.read_notebook(ROOT / "course" / "en" / "00_index.ipynb")["cells"])
    listing = page.locator(".jp-FileBrowser .jp-DirListing-content .jp-DirListing-item")
    page.goto(lab.page_url("/"))
    nb.wait_for_notebook(page, "00_index.ipynb", landing_cells)
    nb.dismiss_news_prompt(page)
    assert "File" in nb.menu_labels(page)
    nb.switch_language(page, KOREAN)
    nb.wait_for_notebook(page, "00_index.ipynb", landing_cells)  # reloaded, the course index again
    listing.first.wait_for()
    nb.wait_for_kernel_idle(page)
    labels = nb.menu_labels(page)
    shots.take(page, "korean-ui")
    korean = [label for label in labels if nb.HANGUL.search(label)]
    assert "File" not in labels and len(korean) >= len(labels) - 1, f"JupyterLab's menus are Korean: {labels}"
    setting = lab.api("GET", TRANSLATION_SETTINGS).json()["settings"]  # the user's, as saved
    assert setting.get("locale") == "ko_KR", setting

    # Into ko/ and lab02.ipynb through the file browser, as a student finds it: the browser shows the
    # index's folder (en/), so first up to the course's root
    page.locator(".jp-FileBrowser .jp-BreadCrumbs-home").first.click()
    listing.filter(has_text="ko").first.dblclick()
    listing.filter(has_text="lab02.ipynb").first.dblclick()
    notebook_json, solved = student.solutions_for("ko", "lab02")
    notebook = nb.wait_for_notebook(page, "lab02.ipynb", len(notebook_json["cells"]))
    nb.wait_for_kernel_idle(page)
    shots.take(page, "opened")

    run = student.work_through(page, notebook, notebook_json, solved, shots)
    shots.take(page, "done")
    progress_cells = [c.get("id") for c in notebook_json["cells"] if "check_progress(" in nb.source(c)]
    assert list(run.progress) == progress_cells and len(progress_cells) >= 5
    assert all(c.passed for step in run.progress.values() for c in step)
    for text in run.widget_texts:
        assert nb.HANGUL.search(text), f"the Korean lab's widget speaks Korean: {text!r}"
    conditions = page.locator(f"{nb.NOTEBOOK} li[data-condition]")
    fonts = nb.rendering_fonts(page, conditions.last)
    assert any("CJK" in family and glyphs > 0 for family, glyphs in fonts.items()), \
        f"Hangul is drawn with a CJK font, not boxes: {fonts}"
