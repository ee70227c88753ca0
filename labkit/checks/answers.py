"""Read a student's written answer (e.g. Exercise 3's command sequence).

The grader reads it from the submitted notebook's cell source, parsed with `ast` and never
executed, so nothing the kernel did can change it. In a kernel, "Check my progress" reads the
variable the student assigned.
"""
from __future__ import annotations

import ast


def answer_text(ctx, name: str) -> str | None:
    """The text assigned to `name` (e.g. `exercise3 = \"\"\"...\"\"\"`), or None if unanswered."""
    if ctx.notebook is not None:
        return _from_notebook(ctx.notebook, name)
    value = ctx.answers.get(name)
    return value if isinstance(value, str) else None


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
