"""In-notebook checking: the "Check my progress" button and the assertions nbgrader test cells run.

Both run a step's checks in the student's kernel against the local cloud. They are advice for
the student; the grade itself is decided by the grader outside the kernel (see grader/).
"""
from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from labkit.checks.core import INFRA, CheckContext, Result, Step
from labkit.checks.registry import get_lab
from labkit.cloud.process import health
from labkit.messages import catalogue, said, text


def kernel_context() -> CheckContext:
    """A context for checks run in a kernel: answers come from the kernel's variables."""
    answers = {}
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            answers = {k: v for k, v in shell.user_ns.items() if isinstance(v, str) and not k.startswith("_")}
    except ImportError:
        pass
    return CheckContext.from_environment(answers=answers)


class _Readable:
    """IPython shows `_render_traceback_()` instead of a traceback: the student reads our text,
    not the inside of labkit. nbgrader still sees an error, so the test cell scores 0."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


class CloudDown(_Readable, RuntimeError):
    """Nothing answers where this kernel's local cloud should be (not started, or stopped since)."""


class CheckerProblem(_Readable, RuntimeError):
    """The checker failed on a step (our fault, never the student's)."""


class StepIncomplete(_Readable, AssertionError):
    """A step's unmet conditions with their hints, as the nbgrader test cell shows them."""


def run_step(lab_id: str, step_id: str, include_hidden: bool = False, ctx: CheckContext | None = None) -> list[Result]:
    lab = get_lab(lab_id)
    if ctx is None:
        ctx = kernel_context()
        # Checked once up front: otherwise every condition reports its own connection error as
        # a checker problem, when all the student has to do is run `labkit.start()` again.
        if lab.cloud and health(urlsplit(ctx.endpoint).port or 0) is None:
            raise CloudDown(text("progress.cloud_down"))
    return lab.step(step_id).run(ctx, include_hidden=include_hidden)


# -- messages as HTML ------------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"`([^`]+)`")
_VALUE = re.compile("\ue000(\\d+)\ue001")  # private-use marks: where a value goes, never in a template


def has_text(key: str) -> bool:
    return key in catalogue("en")


def message_html(key: str, lang: str | None = None, **params) -> str:
    """A message as HTML: escaped, its `code spans` as <code>. Values (a student's command, a
    path) are escaped and put in last, so nothing in them is ever read as markup."""
    values: dict[str, str] = {}
    marked = {}
    for i, (name, value) in enumerate(params.items()):
        value = said(value, lang)
        if isinstance(value, str):
            values[str(i)] = value
            marked[name] = f"\ue000{i}\ue001"
        else:
            marked[name] = value  # numbers keep their format spec ({earned:g})
    rendered = html.escape(text(key, lang, **marked), quote=False)
    rendered = _CODE_SPAN.sub(lambda m: f"<code style='{_CODE_STYLE}'>{m.group(1)}</code>", rendered)
    return _VALUE.sub(lambda m: html.escape(values[m.group(1)], quote=False), rendered)


_CODE_STYLE = "background:#f2f2f2;padding:0 .25em;border-radius:3px;font-size:90%"


def hidden_points_text(step: Step, lang: str | None = None) -> str:
    """"When you submit, the grader checks N more points for this step", or "" when it checks none:
    the visible points plus these add up to the lab's table."""
    more = step.hidden_points()
    if not more:
        return ""
    return text("progress.hidden.one" if more == 1 else "progress.hidden.many", lang,
                more=more, total=step.max_points(include_hidden=True))


def render_html(lab_id: str, step_id: str, results: list[Result], lang: str | None = None) -> str:
    """Each condition as passed/failed with its message and hint, and the partial credit.
    `results` are the visible conditions' (what Check my progress runs)."""
    step = get_lab(lab_id).step(step_id)
    earned = sum(r.earned for r in results)
    total = sum(r.points for r in results)
    rows = []
    for r in results:
        if r.kind == INFRA:
            mark, label, colour = "⚠", text("progress.infra", lang), "#b26a00"
        elif r.passed:
            mark, label, colour = "✔", text("progress.passed", lang), "#1e7e34"
        else:
            mark, label, colour = "✘", text("progress.failed", lang), "#b00020"
        hint_key = f"{r.key}.hint"
        hint_html = "" if r.passed or not has_text(hint_key) else (
            f"<div style='margin-left:1.6em;color:#555'><b>{html.escape(text('progress.hint', lang))}:</b> "
            f"{message_html(hint_key, lang, **r.params)}</div>")
        rows.append(
            f"<li data-condition='{html.escape(r.condition)}' data-passed='{str(r.passed).lower()}' "
            f"style='list-style:none;margin:.3em 0'><span style='color:{colour};font-weight:bold'>{mark} {html.escape(label)}"
            f"</span> {message_html(r.key, lang, **r.params)} <span style='color:#777'>({r.earned:g}/{r.points:g})</span>"
            f"{hint_html}</li>")
    summary = text("progress.summary", lang, earned=earned, total=total)
    more = hidden_points_text(step, lang)
    more_html = f"<div style='color:#555'>{html.escape(more)}</div>" if more else ""
    done = results and all(r.passed for r in results)
    footer = f"<div style='color:#1e7e34'>{html.escape(text('progress.all_passed', lang))}</div>" if done else ""
    return (f"<div class='labkit-progress'><b>{html.escape(text(step.title_key, lang))}</b> · {html.escape(summary)}"
            f"<ul style='padding-left:.5em'>{''.join(rows)}</ul>{footer}{more_html}</div>")


def notice_html(key: str, **params) -> str:
    """One line instead of the results (the cloud is down, the checker broke)."""
    return f"<div style='color:#b26a00'>⚠ {message_html(key, **params)}</div>"


def check_progress(lab_id: str, step_id: str):
    """The "Check my progress" button for one step (ipywidgets). Press it after doing the step."""
    import ipywidgets as widgets

    button = widgets.Button(description=text("progress.button"), icon="check", button_style="primary",
                            layout=widgets.Layout(width="auto"))
    report = widgets.HTML(value="")  # an HTML widget, not Output: it renders the same in and out of a kernel

    def on_click(_):
        report.value = f"<i>{html.escape(text('progress.checking'))}</i>"
        try:
            results = run_step(lab_id, step_id)
            report.value = render_html(lab_id, step_id, results)
        except CloudDown:
            report.value = notice_html("progress.cloud_down")
        except Exception as exc:  # never a traceback under the button
            report.value = notice_html("check.crashed", error=f"{type(exc).__name__}: {exc}")

    button.on_click(on_click)
    box = widgets.VBox([button, report])
    box.check = lambda: on_click(None)  # lets tests (and keyboard users) run it without a mouse
    return box


def failure_text(lab_id: str, step_id: str, results: list[Result], lang: str | None = None) -> str:
    """What the test cell says when the step is not complete: the step's title, then each unmet
    condition with its hint, in the notebook's language."""
    step = get_lab(lab_id).step(step_id)
    title = text(step.title_key, lang)
    infra = [r for r in results if r.kind == INFRA]
    if infra:
        return text("assert.infra", lang, title=title, detail=text(infra[0].key, lang, **infra[0].params))
    lines = [text("assert.failed", lang, title=title)]
    for r in results:
        if r.passed:
            continue
        lines.append(f"  ✘ {text(r.key, lang, **r.params)}")
        if has_text(f"{r.key}.hint"):
            lines.append(f"    {text('progress.hint', lang)}: {text(f'{r.key}.hint', lang, **r.params)}")
    return "\n".join(lines)


def assert_step(lab_id: str, step_id: str, hidden: bool = False) -> float:
    """What an nbgrader test cell runs: fail with the unmet conditions in the notebook's language.

    Returns the earned points; the grader recomputes everything outside the kernel anyway.
    """
    results = run_step(lab_id, step_id, include_hidden=hidden)
    if any(r.kind == INFRA for r in results):
        raise CheckerProblem(failure_text(lab_id, step_id, results))
    if not all(r.passed for r in results):
        raise StepIncomplete(failure_text(lab_id, step_id, results))
    return sum(r.earned for r in results)
