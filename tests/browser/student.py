"""A student working through a lab in the browser: every code cell run in order with Shift+Enter,
the solution typed into each cell the student has to write, every "Check my progress" pressed."""
from __future__ import annotations

from dataclasses import dataclass, field

from coursebuild.release import CODE_STUB
from tests.browser import notebook as nb
from tests.browser.server import ROOT


@dataclass
class OpenLab:
    """A student's lab open in the tab in front, its kernel idle."""
    notebook_json: dict      # the student version (course/LANG/LAB.ipynb)
    solved: dict[str, str]   # cell id -> the code a student who solved the step has there
    notebook: object         # the notebook on the page (a Locator)

    def cell(self, cell_id: str):
        return nb.cells(self.notebook).nth(nb.cell_index(self.notebook_json, cell_id))


def open_lab(page, lab, lang: str, lab_id: str) -> OpenLab:
    """Open `lang`/`lab_id`.ipynb as a bookmarked link does (a workspace of its own), close the news
    prompt and wait for the kernel. JupyterLab's UI language is the caller's (set_ui_language)."""
    notebook_json, solved = solutions_for(lang, lab_id)
    notebook = nb.open_notebook(page, lab, f"{lang}/{lab_id}.ipynb", len(notebook_json["cells"]),
                                workspace=f"{lab_id}-{lang}")
    nb.dismiss_news_prompt(page)
    nb.wait_for_kernel_idle(page)
    return OpenLab(notebook_json, solved, notebook)


def check_before_solving(page, lab: OpenLab, cell_ids: list[str], progress: str, shots=None) -> str:
    """Run `cell_ids` in order as the student got them (the cells to write still hold the stub), then
    run `progress` and press its "Check my progress": no condition may pass yet. The widget's text."""
    for cell_id in [*cell_ids, progress]:
        nb.run_cell(page, lab.cell(cell_id))
        assert not nb.errors_in(lab.cell(cell_id)), f"cell {cell_id!r} failed: {nb.errors_in(lab.cell(cell_id))}"
    conditions = nb.check_progress(page, lab.cell(progress))
    if shots is not None:
        shots.take(page, f"{progress}-not-yet")
    assert conditions and not any(c.passed for c in conditions), conditions
    return nb.widget_text(lab.cell(progress))


@dataclass
class LabRun:
    progress: dict[str, list[nb.Condition]] = field(default_factory=dict)  # progress cell id -> conditions
    widget_texts: list[str] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)  # ids of the cells the student wrote


def solutions_for(lang: str, lab: str) -> tuple[dict, dict[str, str]]:
    student = nb.read_notebook(ROOT / "course" / lang / f"{lab}.ipynb")
    solved = nb.solution_cells(nb.read_notebook(ROOT / "solutions" / lang / f"{lab}.ipynb"))
    by_id = {c.get("id"): c for c in student["cells"]}
    assert solved, f"solutions/{lang}/{lab}.ipynb has no nbgrader solution cell"
    for cell_id in solved:
        assert cell_id in by_id, f"solution cell {cell_id!r} has no student cell with that id"
        assert CODE_STUB[lang] in nb.source(by_id[cell_id]), f"student cell {cell_id!r} should hold the stub"
    return student, solved


def work_through(page, notebook, student: dict, solved: dict[str, str], shots=None,
                 timeouts: dict[str, int] | None = None) -> LabRun:
    """`notebook` is the open lab (all cells attached, kernel idle); `shots` takes a screenshot
    of each progress report (None: no screenshots). `timeouts`: {cell id: ms} for cells that
    wait longer than nb.CELL_TIMEOUT_MS (a deployment)."""
    timeouts = timeouts or {}
    unknown = set(timeouts) - {c.get("id") for c in student["cells"]}
    assert not unknown, f"no cells {sorted(unknown)} in the lab"
    run = LabRun()
    cells = nb.cells(notebook)
    for i, cell_json in enumerate(student["cells"]):
        if cell_json["cell_type"] != "code":
            continue
        cell_id = cell_json.get("id", str(i))
        cell = cells.nth(i)
        shown = nb.editor_text(cell)
        assert shown == nb.source(cell_json), f"cell {i} on the page is not {cell_id!r}: {shown!r}"
        if cell_id in solved:
            nb.replace_cell_text(page, cell, solved[cell_id])
            run.typed.append(cell_id)
        nb.run_cell(page, cell, timeouts.get(cell_id, nb.CELL_TIMEOUT_MS))
        errors = nb.errors_in(cell)
        assert not errors, f"cell {cell_id!r} failed:\n" + "\n".join(errors)
        if "check_progress(" in nb.source(cell_json):
            conditions = nb.check_progress(page, cell)
            run.progress[cell_id] = conditions
            run.widget_texts.append(nb.widget_text(cell))
            if shots is not None:
                shots.take(page, f"progress-{cell_id}")
            assert conditions, f"{cell_id}: the widget shows no condition: {nb.widget_text(cell)!r}"
            failed = [c for c in conditions if not c.passed]
            assert not failed, f"{cell_id}: conditions not met after the solution ran: {failed}"
    return run
