"""Read a student's written answer (e.g. Exercise 3's command sequence).

The grader reads it from the submitted notebook's cell source, parsed with `ast` and never
executed, so nothing the kernel did can change it; only the forms `literal_string` knows are
read (a literal, `+`, `.strip()`, `textwrap.dedent`, ...). In a kernel, "Check my progress"
reads the cells the kernel ran the same way, so the two always agree; outside IPython it takes
the variable's value as given.

The one place that decides "not answered yet": an answer that holds nothing but the placeholder
nbgrader wrote into the student's notebook, in either language, is no answer.
"""
from __future__ import annotations

import ast
import re
import textwrap

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
        ran = _kernel_cells()
        if raw is not None and ran is not None:
            # Read the cells this kernel ran as the grader reads the notebook, so that a string
            # built in a way the grader cannot read is "not answered" here too, not 4 points.
            raw = _from_cells(ran, name)
    if raw is None:
        return None
    text = without_stub(raw)
    return text if text.strip() else None


def _kernel_cells() -> list[str] | None:
    """The sources this IPython kernel has run, in order (IPython's `In`), or None outside one."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    history = shell.user_ns.get("In") if shell is not None else None
    return [s for s in history if isinstance(s, str)] if isinstance(history, list) else None


def _from_notebook(notebook: dict, name: str) -> str | None:
    sources = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            sources.append("".join(source) if isinstance(source, list) else source)
    return _from_cells(sources, name)


def _from_cells(sources: list[str], name: str) -> str | None:
    found = None
    for source in sources:
        if name in source:
            found = assigned_string(source, name, found)  # cell by cell, as the kernel runs them
    return found


def assigned_string(source: str, name: str, before: str | None = None) -> str | None:
    """What `name` holds after `source` runs, when every assignment to it is one we can read
    without running anything (see `literal_string`); None as soon as one is not.
    `before` is what it held before this source (for `+=`)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return before  # the kernel could not run this cell either: the name keeps its value
    value = before
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(_names(t, name) for t in node.targets):
            value = literal_string(node.value)
        elif isinstance(node, ast.AnnAssign) and _names(node.target, name) and node.value is not None:
            value = literal_string(node.value)
        elif isinstance(node, ast.AugAssign) and _names(node.target, name):
            more = literal_string(node.value) if isinstance(node.op, ast.Add) else None
            value = value + more if value is not None and more is not None else None
    return value


def _names(target: ast.AST, name: str) -> bool:
    return isinstance(target, ast.Name) and target.id == name


_STRIPS = frozenset({"strip", "lstrip", "rstrip"})


def literal_string(node: ast.AST) -> str | None:
    """The string an expression evaluates to, for the few safe forms a person writes an answer
    in: a string literal (implicit concatenation is one literal to `ast`), an f-string without
    placeholders, `+` of those, `.strip()`/`.lstrip()`/`.rstrip()` with a literal argument or
    none, and `textwrap.dedent(...)` / `dedent(...)`. Anything else (a call to any other
    function, a variable, a placeholder) is None: we never run student code."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        parts = [literal_string(v) for v in node.values]
        return "".join(parts) if all(isinstance(v, ast.Constant) for v in node.values) and None not in parts else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal_string(node.left), literal_string(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.Call) and not node.keywords:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _STRIPS and len(node.args) <= 1:
            target = literal_string(func.value)
            chars = literal_string(node.args[0]) if node.args else None
            if target is None or (node.args and chars is None):
                return None
            return getattr(target, func.attr)(chars)
        if _is_dedent(func) and len(node.args) == 1:
            text = literal_string(node.args[0])
            return textwrap.dedent(text) if text is not None else None
    return None


def _is_dedent(func: ast.AST) -> bool:
    if isinstance(func, ast.Name):
        return func.id == "dedent"
    return (isinstance(func, ast.Attribute) and func.attr == "dedent"
            and isinstance(func.value, ast.Name) and func.value.id == "textwrap")
