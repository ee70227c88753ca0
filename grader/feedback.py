"""`grader feedback LAB`: one HTML file per student, in the language the student worked in.

    DIR/feedback/<student>/<lab>/<lab>.html   (where `nbgrader release_feedback` looks)

It lists each visible condition (passed or not, with its hint), hidden conditions only as a count
and points, the score, and the notebook as the grader ran it. Hidden tests never reach it:
nbgrader's own feedback shows them (and ClearHiddenTests still leaks their asserts through
tracebacks), so the notebook is rendered here, from a copy where
  - every test cell shows the student version's source (no hidden region) and no output;
  - locked cells show the student version in the student's language;
  - any output that quotes a hidden-test line (a notebook printing `In` or reading its own
    file while it ran) is replaced by a notice;
and the copy is checked once more for every hidden line before it is rendered.
"""
from __future__ import annotations

import copy
import html
from pathlib import Path

from grader import notebook as nbtools
from grader import results
from grader.course import HIDDEN_BEGIN, HIDDEN_END, Course
from grader.errors import GraderError
from grader.texts import check_text, note_text, text
from labkit.checks.progress import message_html


class HiddenTestLeak(Exception):
    pass


# -- the notebook part ----------------------------------------------------------------------------------

def _output_text(output: dict) -> str:
    parts = []
    if "text" in output:
        parts.append(output["text"] if isinstance(output["text"], str) else "".join(output["text"]))
    for value in (output.get("data") or {}).values():
        parts.append(value if isinstance(value, str) else "".join(value) if isinstance(value, list) else str(value))
    for line in output.get("traceback") or []:
        parts.append(line)
    parts.append(str(output.get("evalue", "")))
    return "\n".join(parts)


def _leaks(text_: str, hidden: list[str]) -> bool:
    if HIDDEN_BEGIN in text_ or HIDDEN_END in text_:
        return True
    return any(line in text_ for line in hidden)


def sanitise(nb: dict, record: dict, lang: str) -> dict:
    """A copy of the autograded notebook that shows nothing of the hidden tests."""
    nb = copy.deepcopy(nb)
    hidden = record.get("hidden_lines", [])
    release = record.get("_release", {})  # grade_id -> source in the student's language
    tests = set(record.get("test_cells", {}))
    for cell in nb.get("cells", []):
        meta = nbtools.nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        if grade_id in tests or meta.get("grade") and not meta.get("solution"):
            cell["source"] = nbtools.strip_hidden(release.get(grade_id, nbtools.source(cell)))
            if cell.get("cell_type") == "code":
                cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text("feedback.test_cell", lang)}]
        elif grade_id in release and meta.get("locked"):
            cell["source"] = release[grade_id]
        else:
            cell["source"] = nbtools.strip_hidden(nbtools.source(cell))
        if cell.get("cell_type") == "code":
            kept = []
            for output in cell.get("outputs", []):
                if _leaks(_output_text(output), hidden):
                    kept.append({"output_type": "stream", "name": "stderr", "text": text("feedback.output_removed", lang)})
                else:
                    kept.append(output)
            cell["outputs"] = kept
        if _leaks(nbtools.source(cell), hidden):  # e.g. a student's own line that happens to equal a hidden one
            cell["source"] = "\n".join("..." if _leaks(line, hidden) else line
                                       for line in nbtools.source(cell).split("\n"))
        cell.get("metadata", {}).pop("nbgrader", None)
    nb.get("metadata", {}).pop("celltoolbar", None)
    # The last line of defence: nothing left may quote a hidden test.
    for cell in nb.get("cells", []):
        blob = nbtools.source(cell) + "\n" + "\n".join(_output_text(o) for o in cell.get("outputs", []))
        if _leaks(blob, hidden):
            raise HiddenTestLeak(f"cell {cell.get('id')}")
    return nb


def render_notebook(nb: dict) -> str:
    import nbformat
    from nbconvert import HTMLExporter

    import json

    node = nbformat.reads(json.dumps(nb), as_version=4)  # joins list-of-lines sources and outputs
    body, _ = HTMLExporter().from_notebook_node(node)
    return body


# -- the summary part -------------------------------------------------------------------------------------

def _li(mark: str, colour: str, label: str, message_html_: str, extra: str = "") -> str:
    """One condition; `message_html_` is already HTML (escaped, code spans as <code>)."""
    return (f"<li><span style='color:{colour};font-weight:bold'>{mark} {html.escape(label)}</span> "
            f"{message_html_}{extra}</li>")


def summary_html(res: dict, record: dict) -> str:
    lang = res.get("language", "en")
    e = html.escape
    status_label = text(f"status.{res['status']}", lang)
    parts = [f"<section class='labkit-feedback' lang='{e(lang)}' style='font-family:sans-serif;max-width:60em;"
             f"margin:1em auto;padding:1em;border:1px solid #ccc;border-radius:6px'>",
             f"<h1>{e(text('feedback.title', lang, lab=res['lab']))}</h1>",
             f"<p>{e(text('feedback.student', lang, student=res['student']))}<br>"
             f"{e(text('feedback.status', lang, status=status_label))}"]
    if res["status"] == results.GRADED:
        parts.append(f"<br><b>{e(text('feedback.score', lang, score=res['score'], max_score=res['max_score']))}</b>")
    parts.append("</p>")
    if res["status"] != results.GRADED:
        reason = text(res.get("reason_key") or "", lang, **(res.get("reason_params") or {})) if res.get("reason_key") else res.get("reason", "")
        parts.append(f"<p>{e(text('feedback.reason', lang, reason=reason))}</p>")
        if res["status"] == results.NOT_GRADED:
            parts.append(f"<p>{e(text('feedback.not_graded', lang))}</p>")
    if res.get("notes"):
        parts.append(f"<h3>{e(text('feedback.notes', lang))}</h3><ul>")
        for note in res["notes"]:
            parts.append(f"<li>{e(note_text(note['key'], lang, **note.get('params', {})))}</li>")
        parts.append("</ul>")
    if res["status"] == results.GRADED:
        by_step: dict[str, list[dict]] = {}
        for r in res.get("results", []):
            by_step.setdefault(r.get("step", ""), []).append(r)
        for step in res.get("steps", []):
            title = check_text(step["title_key"], lang)
            score = text("feedback.step_score", lang, earned=step["earned"], points=step["max_points"])
            parts.append(f"<h2>{e(title)} <small style='color:#555'>· {e(score)}</small></h2>")
            if step.get("test_cell") == "deleted":
                parts.append(f"<p style='color:#b00020'>{e(text('feedback.test_cell_deleted', lang))}</p>")
            parts.append("<ul style='list-style:none;padding-left:.5em'>")
            hidden = [r for r in by_step.get(step["id"], []) if r.get("hidden")]
            for r in by_step.get(step["id"], []):
                if r.get("hidden"):
                    continue
                params = r.get("params") or {}
                message = message_html(r["key"], lang, **params)
                if r.get("kind") == "infra":
                    parts.append(_li("⚠", "#b26a00", text("feedback.infra", lang), message))
                elif r.get("passed"):
                    parts.append(_li("✔", "#1e7e34", text("feedback.passed", lang), message))
                else:
                    hint = check_text(f"{r['key']}.hint", lang, **params)
                    extra = "" if not hint or hint == f"{r['key']}.hint" else (
                        f"<div style='margin-left:1.6em;color:#555'><b>{e(text('feedback.hint', lang))}:</b> "
                        f"{message_html(r['key'] + '.hint', lang, **params)}</div>")
                    parts.append(_li("✘", "#b00020", text("feedback.failed", lang), message, extra))
            if hidden:
                passed = sum(1 for r in hidden if r.get("passed"))
                earned = 0.0 if step.get("test_cell") == "deleted" else sum(r.get("earned", 0.0) for r in hidden)
                parts.append(f"<li style='color:#555'>{e(text('feedback.hidden', lang, passed=passed, count=len(hidden), earned=earned, points=sum(r.get('points', 0.0) for r in hidden)))}</li>")
            parts.append("</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def _page(title: str, inner: str, lang: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang='{html.escape(lang)}'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title></head><body>{inner}</body></html>\n")


def build(course: Course, lab: str, student: str, record: dict) -> tuple[str, dict | None]:
    res = results.read(course.results_file(student, lab))
    if res is None:
        return "", None
    lang = res.get("language", "en")
    summary = summary_html(res, record)
    title = text("feedback.title", lang, lab=lab)
    autograded = course.autograded(student, lab) / f"{record['notebook']}.ipynb"
    if res["status"] != results.GRADED or not autograded.exists():
        return _page(title, summary, lang), res
    release_file = course.release_copy(lab, lang)
    if not release_file.exists():
        release_file = course.release_copy(lab, "en")
    release_nb = nbtools.read_json(release_file) if release_file.exists() else {"cells": []}
    record = {**record, "_release": {nbtools.nbgrader_meta(c)["grade_id"]: nbtools.source(c)
                                     for c in release_nb.get("cells", []) if nbtools.nbgrader_meta(c).get("grade_id")}}
    try:
        clean = sanitise(nbtools.read_json(autograded), record, lang)
        page = render_notebook(clean)
    except HiddenTestLeak:
        return _page(title, summary, lang), res
    heading = f"<h2 style='font-family:sans-serif;max-width:60em;margin:1em auto'>{html.escape(text('feedback.notebook', lang))}</h2>"
    marker = "<body"
    at = page.find(marker)
    if at < 0:
        return _page(title, summary + heading + page, lang), res
    end = page.find(">", at) + 1
    return page[:end] + summary + heading + page[end:], res


def feedback(course: Course, lab: str, students: list[str] | None = None, out=print) -> list[Path]:
    course.require(lab)
    record = course.record(lab)
    students = students or sorted({p.parent.parent.name for p in (course.root / "autograded").glob(f"*/{lab}/{results.RESULTS_NAME}")})
    if not students:
        raise GraderError(f"no graded submissions of {lab} in {course.root}: run `grader autograde {lab} --course {course.root}` first")
    written = []
    for student in students:
        page, res = build(course, lab, student, record)
        if res is None:
            out(f"{student}: no results yet (run `grader autograde {lab} --course {course.root} --student {student}`)")
            continue
        target = course.feedback(student, lab) / f"{record['notebook']}.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page, encoding="utf-8")
        written.append(target)
        out(f"{student} [{res.get('language', 'en')}]: {target}")
    out(f"Wrote {len(written)} feedback file(s). Hand them out with `nbgrader release_feedback {lab}` or by mail.")
    return written
