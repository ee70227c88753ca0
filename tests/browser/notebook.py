"""What a person does in JupyterLab, as Playwright steps: open a notebook, wait for its cells, type
into a cell, run it with Shift+Enter, press "Check my progress" and read its verdict back.

Cells are found by position: JupyterLab puts no cell id in the page, and the notebook file says
which position each id has (`cell_index`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by the fixtures, which skip with the reason when Playwright is missing
    from playwright.sync_api import Locator, Page

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook tab in front
HANGUL = re.compile(r"[\uac00-\ud7a3]")
CELL_TIMEOUT_MS = 120_000  # a `labkit docker build` or push under load
PROMPT_DONE = re.compile(r"\[\d+\]")
POLL_MS = 100  # long waits check the page ten times a second, not every frame (two shared cores)


def read_notebook(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def cell_index(notebook: dict, cell_id: str) -> int:
    for i, cell in enumerate(notebook["cells"]):
        if cell.get("id") == cell_id:
            return i
    raise KeyError(f"no cell {cell_id!r} in the notebook")


def source(cell: dict) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def front_notebook(page: Page) -> Locator:
    return page.locator(NOTEBOOK).locator(".jp-Notebook")


def wait_for_notebook(page: Page, name: str, cell_count: int) -> Locator:
    """Wait until notebook `name` is the tab in front with all its cells attached (JupyterLab
    attaches cells a few at a time after the first paint)."""
    page.wait_for_function(
        """([selector, name, count]) => {
            const tab = [...document.querySelectorAll('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current')]
                .some(t => t.textContent.trim() === name);
            const panel = document.querySelector(selector);
            return tab && panel && panel.querySelectorAll('.jp-Notebook .jp-Cell').length === count;
        }""",
        arg=[NOTEBOOK, name, cell_count], timeout=90_000)
    return front_notebook(page)


def open_notebook(page: Page, lab, path: str, cell_count: int, workspace: str | None = None) -> Locator:
    """Open `path` (relative to the server's root) the way a bookmarked link does, and wait for it.
    `workspace`: a JupyterLab workspace of that name, so tabs an earlier test left open stay out."""
    prefix = f"/lab/workspaces/{workspace}" if workspace else "/lab"
    page.goto(lab.page_url(f"{prefix}/tree/{path}"))
    return wait_for_notebook(page, Path(path).name, cell_count)


def wait_for_kernel_idle(page: Page, timeout_ms: int = 90_000) -> None:
    page.wait_for_selector(f"{NOTEBOOK} .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout_ms)


def cells(notebook: Locator) -> Locator:
    return notebook.locator(".jp-Cell")


def dismiss_news_prompt(page: Page) -> None:
    """JupyterLab asks once whether to fetch Jupyter news; a student would close it."""
    toast = page.locator(".jp-Notification-Toast-Close, .Toastify__close-button")
    for i in range(toast.count()):
        if toast.nth(i).is_visible():
            toast.nth(i).click()


def replace_cell_text(page: Page, cell: Locator, text: str) -> None:
    """Put `text` in the cell's editor as typed input. insert_text sends it as one input event
    (as a paste or an input method does): key by key, the editor would add its own indentation."""
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)
    typed = editor_text(cell)
    assert typed == text, f"the cell holds {typed!r} after typing {text!r}"


# The editor's whole text from CodeMirror's state: a long cell has only the lines near the screen in
# the page (CodeMirror draws its viewport). The view hangs off .cm-content (cmTile in newer
# @codemirror/view, cmView before).
EDITOR_DOC = """el => {
    const tile = el.cmTile || el.cmView;
    const root = tile && (tile.root || tile.rootView);
    const view = (root && root.view) || (tile && tile.view);
    return view ? view.state.doc.toString() : null;
}"""


def editor_text(cell: Locator) -> str:
    text = cell.locator(".cm-content").evaluate(EDITOR_DOC)
    if text is not None:
        return text
    lines = cell.locator(".cm-content .cm-line").evaluate_all("els => els.map(e => e.textContent)")
    return "\n".join(lines).replace("\u200b", "")  # an empty line is <br>: no text of its own


def run_cell(page: Page, cell: Locator, timeout_ms: int = CELL_TIMEOUT_MS) -> str:
    """Shift+Enter in the cell, then wait until its prompt shows a new execution count."""
    prompt = cell.locator(".jp-InputPrompt")
    before = prompt.inner_text()
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(
        "([el, before]) => /\\[\\d+\\]/.test(el.textContent) && el.textContent !== before",
        arg=[prompt.element_handle(), before], timeout=timeout_ms, polling=POLL_MS)
    return prompt.inner_text()


def errors_in(cell: Locator) -> list[str]:
    """Tracebacks and stderr a cell shows (the aws CLI and labkit print failures to stderr)."""
    out = cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
                      ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    return out.all_inner_texts()


def output_text(cell: Locator) -> str:
    """All the text of a cell's outputs (textContent: an offscreen cell is not laid out)."""
    return cell.locator(".jp-OutputArea").evaluate("el => el.textContent")


@dataclass
class Condition:
    condition: str
    passed: bool
    text: str


def check_progress(page: Page, cell: Locator, timeout_ms: int = 60_000) -> list[Condition]:
    """Press the cell's "Check my progress" button; return the conditions the widget reports."""
    button = cell.locator(".jp-OutputArea .widget-button")
    button.wait_for(timeout=timeout_ms)
    button.click()
    report = cell.locator(".labkit-progress, .jp-OutputArea .widget-html-content div[style*='#b26a00']")
    report.first.wait_for(timeout=timeout_ms)
    items = cell.locator("li[data-condition]")
    return [Condition(condition=items.nth(i).get_attribute("data-condition") or "",
                      passed=items.nth(i).get_attribute("data-passed") == "true",
                      text=items.nth(i).inner_text())
            for i in range(items.count())]


def widget_text(cell: Locator) -> str:
    return cell.locator(".jp-OutputArea .widget-html-content").inner_text()


SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def solution_cells(solution_notebook: dict) -> dict[str, str]:
    """{cell id: code} of every nbgrader solution cell, markers removed (the code a student
    who solved the step has in that cell)."""
    found = {}
    for cell in solution_notebook["cells"]:
        if cell["cell_type"] == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            lines = [line for line in source(cell).split("\n") if line.strip() not in SOLUTION_MARKERS]
            found[cell["id"]] = "\n".join(lines)
    return found


def menu_labels(page: Page) -> list[str]:
    labels = page.locator(".lm-MenuBar-itemLabel")
    labels.first.wait_for()
    return labels.all_inner_texts()


def sidebar_tabs(page: Page) -> list[str]:
    """Titles of the side bars' tabs (file browser, table of contents, ...)."""
    return page.locator(".jp-SideBar .lm-TabBar-tab").evaluate_all(
        "els => els.map(e => e.getAttribute('title') || e.textContent.trim())")


def toolbar_texts(page: Page) -> list[str]:
    """Texts of the front notebook's toolbar items (Validate is one, for an instructor)."""
    return [t.strip() for t in page.locator(f"{NOTEBOOK} .jp-Toolbar .jp-Toolbar-item").all_inner_texts() if t.strip()]


def rendering_fonts(page: Page, element: Locator) -> dict[str, int]:
    """{font family: glyphs drawn} for the text of `element`, as Chromium actually rendered it
    (DevTools' CSS.getPlatformFontsForNode): a missing font shows up as a fallback or as boxes."""
    element.scroll_into_view_if_needed()  # offscreen cells are not laid out (content-visibility)
    element.evaluate("el => el.setAttribute('data-font-probe', '1')")
    client = page.context.new_cdp_session(page)
    try:
        client.send("DOM.enable")
        client.send("CSS.enable")
        root = client.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = client.send("DOM.querySelector", {"nodeId": root, "selector": "[data-font-probe]"})["nodeId"]
        fonts = client.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        client.detach()
        element.evaluate("el => el.removeAttribute('data-font-probe')")
    return {f["familyName"]: int(f["glyphCount"]) for f in fonts}


def switch_language(page: Page, language_label: str) -> None:
    """Settings -> Language -> `language_label`, then "Change and reload", as a person does it."""
    page.locator(".lm-MenuBar-item", has_text="Settings").click()
    page.locator(".lm-Menu-item:visible", has_text="Language").hover()
    page.locator(".lm-Menu-item:visible", has_text=language_label).click()
    with page.expect_navigation(timeout=90_000):
        page.locator(".jp-Dialog .jp-mod-accept").click()


def run_all(page: Page, timeout_ms: int) -> None:
    """Run -> Run All Cells (JupyterLab's English menus), then wait until every code cell of the
    front notebook shows an execution count: the kernel has run them all."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
    page.wait_for_function(
        """selector => {
            const prompts = [...document.querySelectorAll(selector + ' .jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""",
        arg=NOTEBOOK, timeout=timeout_ms, polling=POLL_MS)
