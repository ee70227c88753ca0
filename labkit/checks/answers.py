"""Read a student's written answer (e.g. Exercise 3's command sequence).

The grader reads it from the submitted notebook's cell source, parsed with `ast` and never
executed, so nothing the kernel did can change it. In a kernel, "Check my progress" reads the
variable the student assigned.

The one place that decides "not answered yet": an answer that holds nothing but the placeholder
nbgrader wrote into the student's notebook, in either language, is no answer.
"""
from __future__ import annotations

import ast
import re

# The placeholder lines of coursebuild/release.py (CODE_STUB, TEXT_STUB) in every language, and
# nbgrader's default `raise NotImplementedError()` that older student notebooks still carry.
# tests/checks/test_answers.py proves every stub the build writes is in here.
STUB_LINES = frozenset({
    "# YOUR CODE HERE",
    "# 여기에 코드를 작성하세요",
    "YOUR ANSWER HERE",
    "여기에 답을 작성하세요",
})
_RAISE_STUB = re.compile(r"raise\s+NotImplementedError(\(\s*\))?")


def is_stub_line(line: str) -> bool:
    line = line.strip()
    return line in STUB_LINES or bool(_RAISE_STUB.fullmatch(line))


def without_stub(text: str) -> str:
    """`text` with placeholder lines blanked (blank, not dropped: line numbers stay where they were)."""
    return "\n".join("" if is_stub_line(line) else line for line in text.splitlines())


def answer_text(ctx, name: str) -> str | None:
    """The text assigned to `name` (e.g. `exercise3 = \"\"\"...\"\"\"`) without the placeholder,
    or None when there is no answer: not assigned, not a string, or only the placeholder."""
    if ctx.notebook is not None:
        raw = _from_notebook(ctx.notebook, name)
    else:
        value = ctx.answers.get(name)
        raw = value if isinstance(value, str) else None
    if raw is None:
        return None
    text = without_stub(raw)
    return text if text.strip() else None


def _from_notebook(notebook: dict, name: str) -> str | None:
    found = None
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if name not in source:
            continue
        value = _assigned_string(source, name)
        if value is not None:
            found = value  # the last assignment wins, as it would in the kernel
    return found


def _assigned_string(source: str, name: str) -> str | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    value = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                value = node.value.value
    return value
