"""Lesson 07 says the same thing more than once, in a picture, in code and in its clickable tree:
the decision tree's diagram (src/diagrams/choosing_decision_tree.yaml) and `recommend()`, table 7.2
in the markdown and `USE_CASES` (both in labkit/choosing.py, which the cells import), and the
widget's rows and their words in each language (labkit/widgets/decision_tree.py). These tests hold
them together. They run the plain-Python cells only; the whole notebook runs in test_lessons.py
like any lesson."""
from __future__ import annotations

import contextlib
import io
import json
import re

import pytest
import yaml

from labkit import choosing
from labkit.messages import text
from labkit.widgets import decision_tree

from .runner import ROOT

DIAGRAM = ROOT / "src" / "diagrams" / "choosing_decision_tree.yaml"


def _notebook(lang: str) -> dict:
    return json.loads((ROOT / "course" / lang / "07_choosing.ipynb").read_text(encoding="utf-8"))


def _cell(nb: dict, cell_id: str) -> str:
    return "".join(next(c for c in nb["cells"] if c["id"] == cell_id)["source"])


@pytest.fixture(scope="module", params=["en", "ko"])
def lesson(request):
    """(notebook, the namespace its recommend and use_cases cells leave)."""
    nb = _notebook(request.param)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):  # the cells print the tree and a row
        for cell_id in ("recommend", "use_cases"):
            exec(_cell(nb, cell_id), namespace)
    return nb, namespace


def _english(label) -> str:
    return label["en"] if isinstance(label, dict) else label


def test_recommend_answers_what_the_picture_shows(lesson):
    _, namespace = lesson
    items = yaml.safe_load(DIAGRAM.read_text(encoding="utf-8"))["items"]
    groups = [item for item in items if "group" in item]
    assert [_english(g["group"]).split(":")[0] for g in groups] == ["Yes", "No"]  # serverless?
    for serverless, group in zip((True, False), groups):
        row = next(item["row"] for item in group["items"] if "row" in item)
        assert [_english(answer) for answer, _ in row] == ["Yes", "No"]  # Kubernetes?
        for kubernetes, (_, leaf) in zip((True, False), row):
            assert namespace["recommend"](serverless, kubernetes) == _english(leaf)


def _table_7_2(nb: dict) -> list[list[str]]:
    """The body rows of the 7.2 cell's table, cells stripped of their bold."""
    cell = next(c for c in nb["cells"] if "".join(c["source"]).startswith("## 7.2"))
    lines = [line for line in "".join(cell["source"]).splitlines() if line.startswith("|")]
    return [[part.strip().strip("*") for part in line.strip("|").split("|")] for line in lines[2:]]


def test_use_cases_is_table_7_2(lesson):
    _, namespace = lesson
    rows = _table_7_2(_notebook("en"))
    # The markdown's cell may say more in parentheses ("ECS Express Mode (the lesson: App Runner, ...)")
    table = [(aws.split(" (")[0], gcp.split(" (")[0]) for _, aws, gcp, _ in rows]
    code = [(aws.split(" (")[0], gcp) for aws, gcp in namespace["USE_CASES"].values()]
    assert code == table


def test_the_korean_table_names_the_same_services():
    en, ko = _table_7_2(_notebook("en")), _table_7_2(_notebook("ko"))
    assert len(en) == len(ko) == 10
    for en_row, ko_row in zip(en, ko):
        assert en_row[1].split(" (")[0] == ko_row[1].split(" (")[0]
        assert en_row[2].removesuffix("s") == ko_row[2].removesuffix("s")  # Spot Pods / Spot Pod


def test_pick_prints_the_rows_a_word_names_and_the_whole_table_for_a_typo(lesson):
    _, namespace = lesson
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        namespace["pick"]("batch")
    assert [line.split("  ")[0] for line in out.getvalue().splitlines()] == ["batch jobs", "cost-sensitive batch"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        namespace["pick"]("bacth")
    assert len(out.getvalue().splitlines()) == len(namespace["USE_CASES"])


def test_the_cells_ask_labkit_choosing_the_one_source_of_the_tree_and_the_table(lesson):
    _, namespace = lesson
    assert namespace["recommend"] is choosing.recommend and namespace["USE_CASES"] is choosing.USE_CASES


def _markdown_rows(nb: dict) -> dict[str, list[str]]:
    """Table 7.2 in a notebook's language: {use case as the table writes it: [AWS, GCP, why]}."""
    cell = next(c for c in nb["cells"] if "".join(c["source"]).startswith("## 7.2"))
    lines = [line for line in "".join(cell["source"]).splitlines() if line.startswith("|")][2:]
    rows = [[re.sub(r"\*\*(.*?)\*\*.*", r"\1", part.strip()) for part in line.strip("|").split("|")] for line in lines]
    return {name: rest for name, *rest in rows}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_clickable_trees_rows_are_the_lessons_table_in_its_language(lang):
    rows = _markdown_rows(_notebook(lang))
    for path in choosing.PATHS:
        shown = decision_tree.use_case_row(*path, lang)
        aws, gcp, why = rows[shown["use_case"]]
        assert (aws.split(" (")[0], gcp.removesuffix("s"), why) == (shown["aws"], shown["gcp"].removesuffix("s"),
                                                                     shown["why"])


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_built_notebook_shows_the_whole_tree_in_the_widgets_place(lang):
    nb = _notebook(lang)
    cell = next(c for c in nb["cells"] if c["id"] == "decision_tree")
    assert cell["metadata"]["labkit"]["static"] == "labkit.widgets.decision_tree:static_figure"
    [output] = cell["outputs"]
    assert output["output_type"] == "display_data"
    data = {mime: "".join(value) for mime, value in output["data"].items()}
    assert data == decision_tree.static_figure(lang)
    assert text("choosing.question.serverless", lang) in data["image/svg+xml"]
    assert "decision_tree_widget()" in "".join(cell["source"])
