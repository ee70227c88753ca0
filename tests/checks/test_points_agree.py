"""The points a student reads agree everywhere: the lab's table (first cell of the built
notebook), the checks (`Step.max_points()`), the nbgrader test cells (grade_id = step id) and
Check my progress (visible points, plus what the grader checks on top). For every built lab."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from labkit.checks.core import Result, points_of
from labkit.checks.progress import render_html
from labkit.checks.registry import get_lab

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p for folder in ("course", "solutions") for p in (ROOT / folder).glob("*/*.ipynb")
                   if json.loads(p.read_text(encoding="utf-8")).get("metadata", {}).get("labkit", {}).get("lab"))
# "| 1 | create the repository | 3 points |", "| 1 | ... | 1 point |", "| 1 | ... | 3점 |"
TABLE_ROW = re.compile(r"^\|\s*(\d+)\s*\|.*\|\s*(\d+(?:\.\d+)?)\s*(?:points?|점)\s*\|\s*$", re.MULTILINE)


def source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def table_points(nb: dict) -> list[float]:
    rows = TABLE_ROW.findall(source(nb["cells"][0]))
    assert [int(n) for n, _ in rows] == list(range(1, len(rows) + 1)), "the table numbers its steps 1, 2, 3..."
    return [float(points) for _, points in rows]


def test_there_is_a_lab_to_check():
    assert any("course" in p.parts for p in NOTEBOOKS) and len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_table_checks_and_test_cells_agree(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    lab = get_lab(nb["metadata"]["labkit"]["lab"])
    table = table_points(nb)
    assert table == [s.max_points() for s in lab.steps], f"{path.name}: the table against the checks"
    # autograded test cells only: a manually graded answer (grade and solution, e.g. lab 09's Exercise 5)
    # is the instructor's to score, not a step of the checks
    cells = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"].get("points")
             for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")
             and not c["metadata"]["nbgrader"].get("solution")}
    assert {s.id: s.max_points() for s in lab.steps} == {k: float(v) for k, v in cells.items()}, \
        f"{path.name}: the test cells against the checks"


LABS = sorted({json.loads(p.read_text(encoding="utf-8"))["metadata"]["labkit"]["lab"] for p in NOTEBOOKS})


def test_every_lab_is_covered():
    assert {"lab02", "lab03"} <= set(LABS)


@pytest.mark.parametrize("lab_id", LABS)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_check_my_progress_adds_up_to_the_table(lang, lab_id):
    """What the widget shows for a step (its visible points, and the N more the grader checks)."""
    nb = json.loads((ROOT / "course" / lang / f"{lab_id}.ipynb").read_text(encoding="utf-8"))
    lab = get_lab(lab_id)
    for step, expected in zip(lab.steps, table_points(nb)):
        results = [Result(f"{step.id}.{i}", False, "x", points=points_of(c)) for i, c in enumerate(step.conditions)]
        widget = re.sub(r"<[^>]+>", " ", render_html(lab_id, step.id, results, lang=lang))
        shown = float(re.search(r"0 / (\d+)", widget).group(1))
        more = re.search(r"(\d+)(?: more points?|점을 더)", widget)
        assert shown + (float(more.group(1)) if more else 0) == expected, (step.id, widget)
        if more:
            assert re.search(rf"\(\D*{expected:g}\D*\)", widget), widget  # and says the total
