"""In-notebook checking: the "Check my progress" button and the assertions nbgrader test cells run.

Both run a step's checks in the student's kernel against the local cloud. They are advice for
the student; the grade itself is decided by the grader outside the kernel (see grader/).
"""
from __future__ import annotations

import html
from urllib.parse import urlsplit

from labkit.checks.core import INFRA, CheckContext, Result
from labkit.checks.registry import get_lab
from labkit.cloud.process import health
from labkit.messages import text


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


class CloudDown(RuntimeError):
    """Nothing answers where this kernel's local cloud should be (not started, or stopped since)."""


def run_step(lab_id: str, step_id: str, include_hidden: bool = False, ctx: CheckContext | None = None) -> list[Result]:
    if ctx is None:
        ctx = kernel_context()
        # Checked once up front: otherwise every condition reports its own connection error as
        # a checker problem, when all the student has to do is run `labkit.start()` again.
        if health(urlsplit(ctx.endpoint).port or 0) is None:
            raise CloudDown(text("progress.cloud_down"))
    return get_lab(lab_id).step(step_id).run(ctx, include_hidden=include_hidden)


def render_html(lab_id: str, step_id: str, results: list[Result], lang: str | None = None) -> str:
    """Each condition as passed/failed with its message and hint, and the partial credit."""
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
        message = html.escape(text(r.key, lang, **r.params))
        hint = "" if r.passed else text(f"{r.key}.hint", lang, **r.params)
        hint_html = "" if hint == f"{r.key}.hint" or not hint else (
            f"<div style='margin-left:1.6em;color:#555'><b>{html.escape(text('progress.hint', lang))}:</b> "
            f"{html.escape(hint)}</div>")
        rows.append(
            f"<li data-condition='{html.escape(r.condition)}' data-passed='{str(r.passed).lower()}' "
            f"style='list-style:none;margin:.3em 0'><span style='color:{colour};font-weight:bold'>{mark} {html.escape(label)}"
            f"</span> {message} <span style='color:#777'>({r.earned:g}/{r.points:g})</span>{hint_html}</li>")
    summary = text("progress.summary", lang, earned=earned, total=total)
    done = all(r.passed for r in results)
    footer = f"<div style='color:#1e7e34'>{html.escape(text('progress.all_passed', lang))}</div>" if done else ""
    return (f"<div class='labkit-progress'><b>{html.escape(text(step.title_key, lang))}</b> · {html.escape(summary)}"
            f"<ul style='padding-left:.5em'>{''.join(rows)}</ul>{footer}</div>")


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
        except CloudDown as exc:
            report.value = f"<div style='color:#b26a00'>⚠ {html.escape(str(exc))}</div>"
        except Exception as exc:  # never a traceback under the button
            detail = text("check.crashed", error=f"{type(exc).__name__}: {exc}")
            report.value = f"<div style='color:#b26a00'>⚠ {html.escape(detail)}</div>"

    button.on_click(on_click)
    box = widgets.VBox([button, report])
    box.check = lambda: on_click(None)  # lets tests (and keyboard users) run it without a mouse
    return box


def assert_step(lab_id: str, step_id: str, hidden: bool = False) -> float:
    """What an nbgrader test cell runs: fail with the unmet conditions in the notebook's language.

    Prints the earned points; the grader recomputes everything outside the kernel anyway.
    """
    results = run_step(lab_id, step_id, include_hidden=hidden)
    infra = [r for r in results if r.kind == INFRA]
    if infra:
        raise RuntimeError(text("assert.infra", step=step_id, detail=text(infra[0].key, **infra[0].params)))
    failed = [r for r in results if not r.passed]
    if failed:
        lines = [text("assert.failed", step=step_id)]
        for r in failed:
            lines.append(f"  ✘ {text(r.key, **r.params)}")
            hint = text(f"{r.key}.hint", **r.params)
            if hint != f"{r.key}.hint":
                lines.append(f"    → {hint}")
        raise AssertionError("\n".join(lines))
    return sum(r.earned for r in results)
