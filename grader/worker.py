"""Grading one submission, inside a long-lived worker process (see pool.py).

For each submission:
  1. read the notebook as JSON before anything (malformed -> not graded, with the reason);
  2. start a private local cloud (own home, free port);
  3. run nbgrader's autograde in-process, the kernel's environment pointing at that cloud
     (LABKIT_MANAGED=1, LABKIT_LANG from the notebook; never the cloud's control token);
  4. decide nbgrader's outcome from what the run recorded (nbexec.RUN) and nbgrader's result;
  5. run the lab's checks HERE, with fresh boto3 clients on that cloud: whatever the notebook
     redefined or monkeypatched lived in its kernel, another process, now gone;
  6. deleted test cells score 0 for their step; edited ones are noted (nbgrader restored them);
  7. write the scores into nbgrader's gradebook (grade cell = step) and labkit-results.json;
  8. stop the cloud, remove its home.
Every failure ends as a result (not graded / needs regrade), never as an exception.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
import time
import traceback
from pathlib import Path

from grader import nbexec, results
from grader import notebook as nbtools
from grader.course import DEFAULT_NOTEBOOK_TIMEOUT, DEFAULT_TIMEOUT, MAX_OUTPUT_BYTES, Course
from grader.results import GRADED, NEEDS_REGRADE, NOT_GRADED

RETRYABLE = ("database is locked", "Kernel didn't respond", "Address already in use")


class WorkerState:
    """What a worker sets up once: nbgrader's API (config loaded once), the lab's checks (imported
    before any student code runs), the course record."""

    def __init__(self, course_root: str, lab: str, checks: str | None = None, timeout: int = DEFAULT_TIMEOUT,
                 notebook_timeout: int = DEFAULT_NOTEBOOK_TIMEOUT, max_output: int = MAX_OUTPUT_BYTES):
        from nbconvert.preprocessors import ClearMetadataPreprocessor
        from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput

        from grader.labs import get_lab

        self.course = Course(course_root)
        self.lab = lab
        self.record = self.course.record(lab)
        self.checks_lab = get_lab(lab, checks or self.record.get("checks"))
        self.timeout = timeout
        self.notebook_timeout = notebook_timeout
        self.api = self.course.api(**{
            "Execute.timeout": int(timeout),
            "Execute.shutdown_kernel": "immediate",
            "Execute.interrupt_on_timeout": True,
            "GuardedExecute.notebook_timeout": int(notebook_timeout),
            "GuardedExecute.max_output_bytes": int(max_output),
            "Autograde.autograde_preprocessors": [
                nbexec.GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                nbexec.GuardedSaveAutoGrades, AssignLatePenalties, CheckCellMetadata],
        })
        # Import everything the checks will need now, while no student code has run; then
        # fingerprint the installation (see integrity.py).
        import boto3  # noqa: F401
        from labkit.checks.core import CheckContext  # noqa: F401

        from grader import integrity

        integrity.import_everything()
        checks_file = checks or self.record.get("checks")
        extra = [checks_file] if checks_file and checks_file.endswith(".py") else []
        self.watched = integrity.roots(extra) + integrity.site_files()
        self.fingerprint = integrity.snapshot(self.watched)
        self.tampered: list[str] = []


# -- one submission ----------------------------------------------------------------------------------

def grade(state: WorkerState, student: str, home: str, token: str | None = None) -> dict:
    started = time.monotonic()
    course, lab, rec = state.course, state.lab, state.record
    notebook = rec["notebook"]
    res = results.new(lab, student, notebook, rec["max_score"])
    out_dir = course.autograded(student, lab)
    timing = res["timing"]
    cloud = None
    try:
        nb_path = course.submitted(student, lab) / f"{notebook}.ipynb"
        if not nb_path.is_file():
            found = sorted(p.name for p in nb_path.parent.glob("*.ipynb")) if nb_path.parent.is_dir() else []
            results.set_status(res, NOT_GRADED, "reason.missing_notebook", notebook=nb_path.name,
                               found=", ".join(found) or "nothing")
            _forget_old_grade(state, student, out_dir)
            return res
        try:
            submitted = nbtools.load_submission(nb_path)
        except nbtools.BadNotebook as bad:
            results.set_status(res, NOT_GRADED, bad.key, error=bad.error)
            _forget_old_grade(state, student, out_dir)
            return res
        res["language"] = nbtools.language(submitted)

        t = time.monotonic()
        try:
            from labkit.cloud.process import start_cloud

            cloud = start_cloud(Path(home), port=None)
            _hide_token(cloud)
        except Exception as exc:
            results.set_status(res, NEEDS_REGRADE, "reason.cloud_start", error=_one_line(exc))
            _forget_old_grade(state, student, out_dir)
            return res
        timing["cloud_start"] = round(time.monotonic() - t, 3)
        res["cloud"] = {"port": cloud.port, "pid": cloud.pid}

        t = time.monotonic()
        before = state.fingerprint
        outcome = _run_nbgrader(state, student, submitted, res["language"], home, cloud.port,
                                token or secrets.token_hex(8))
        timing["nbgrader"] = round(time.monotonic() - t, 3)
        res["nbgrader"] = {"success": outcome["success"], "log_tail": outcome["log_tail"]}
        for note in outcome["notes"]:
            results.add_note(res, note[0], **note[1])

        from grader import integrity

        state.fingerprint = integrity.snapshot(state.watched)
        edited = integrity.changed(before, state.fingerprint)
        if edited:  # the checks about to run could be this notebook's: do not trust them
            state.tampered.extend(edited)
            res["tampered_files"] = edited
            results.set_status(res, NOT_GRADED, "reason.tampered_files", files=", ".join(edited[:5])
                               + (f" (+{len(edited) - 5} more)" if len(edited) > 5 else ""))
            _forget_old_grade(state, student, out_dir)
            return res

        t = time.monotonic()
        _check(state, res, submitted, cloud, home)
        timing["checks"] = round(time.monotonic() - t, 3)

        if outcome["status"] != GRADED:
            res["provisional_score"] = res["score"]
            results.set_status(res, outcome["status"], outcome["key"], **outcome["params"])
            _forget_old_grade(state, student, out_dir)
        else:
            _write_gradebook(state, student, res)
        return res
    except Exception as exc:  # our bug: never the student's zero, never the end of the run
        results.set_status(res, NEEDS_REGRADE, "reason.internal", error=_one_line(exc))
        res["traceback"] = traceback.format_exc()[-4000:]
        return res
    except KeyboardInterrupt:
        results.set_status(res, NOT_GRADED, "reason.interrupted")
        raise
    finally:
        if cloud is not None:
            _stop_cloud(cloud)
        shutil.rmtree(home, ignore_errors=True)
        timing["total"] = round(time.monotonic() - started, 3)
        try:
            results.write(course.results_file(student, lab), res)
        except Exception as exc:  # e.g. the notebook made its folder read-only
            res["write_error"] = _one_line(exc)
            try:
                shutil.rmtree(out_dir, ignore_errors=True)
                results.write(course.results_file(student, lab), res)
            except Exception:
                pass


def _stop_cloud(cloud) -> None:
    """The cloud's state is thrown away with its home: no graceful shutdown needed (SIGTERM waits
    for the server's poll interval, ~0.5 s per submission)."""
    import signal

    try:
        os.kill(cloud.pid, signal.SIGKILL)
        os.waitpid(cloud.pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
    except OSError:
        try:
            cloud.stop()
        except Exception:
            pass


def _hide_token(cloud) -> None:
    """The cloud's record (cloud.json in the home the kernel gets as LABKIT_HOME) holds the control
    token; the kernel needs only the port and pid. The grader keeps the token in memory."""
    import json

    record = Path(cloud.home) / "cloud.json"
    try:
        data = json.loads(record.read_text())
        data["token"] = ""
        record.write_text(json.dumps(data))
    except (OSError, ValueError):
        pass


def _killed_by(pid: int) -> int | None:
    """The signal that ended our child process `pid`, if it ended by one."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    if done and os.WIFSIGNALED(status):
        return os.WTERMSIG(status)
    return None


def kill_leftovers(token: str) -> int:
    """Kill what the notebook left running (`!nohup ... &`, a forked daemon): every process whose
    environment carries this submission's token. Returns how many."""
    import psutil

    killed = 0
    me = os.getpid()
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == me:
            continue
        try:
            if proc.environ().get("GRADER_SUBMISSION") == token:
                proc.kill()
                killed += 1
        except (psutil.Error, OSError):
            continue
    return killed


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def _cell_label(submitted: dict, index) -> str:
    if index is None:
        return "?"
    cells = submitted.get("cells", [])
    label = str(index + 1)
    if 0 <= index < len(cells):
        first = next((line.strip() for line in nbtools.source(cells[index]).splitlines() if line.strip()), "")
        if first:
            label += f" (`{first[:60]}`)"
    return label


def _run_nbgrader(state: WorkerState, student: str, submitted: dict, lang: str, home: str, port: int,
                  token: str) -> dict:
    """nbgrader autograde with the kernel pointed at this submission's cloud; the outcome decided
    from what GuardedExecute recorded, not from guessing at a 0."""
    from labkit.config import Settings
    from labkit.env import apply, cloud_environment

    saved = dict(os.environ)
    try:
        apply(cloud_environment(Settings(home=Path(home), aws_port=port, managed=True)), os.environ)
        os.environ["LABKIT_MANAGED"] = "1"
        os.environ["LABKIT_LANG"] = lang
        os.environ.pop("LABKIT_CONTROL_TOKEN", None)
        os.environ["GRADER_SUBMISSION"] = token  # marks every process the notebook starts
        for attempt in range(2):
            run = nbexec.reset_run()
            result = state.api.autograde(state.lab, student, force=True, create=True)
            log = (result.get("log") or "") + "\n" + (result.get("error") or "")
            kernel_start_failed = run["started"] is not None and not run["kernel_ready"] and not run["notebook_timeout"]
            if result.get("success") or attempt == 1:
                break
            if not (kernel_start_failed or any(marker in log for marker in RETRYABLE)):
                break
    finally:
        os.environ.clear()
        os.environ.update(saved)
        left = kill_leftovers(token)

    notes = []
    if left:
        notes.append(("note.leftovers_killed", {"count": left}))
    for index in dict.fromkeys(run["timeouts"]):
        notes.append(("note.cell_timeout", {"cell": _cell_label(submitted, index), "seconds": state.timeout}))
    for index in run["truncated"]:
        notes.append(("note.output_truncated", {"cell": _cell_label(submitted, index),
                                                "limit": f"{state.api.config.GuardedExecute.max_output_bytes:,}"}))
    if run["bogus_scores"]:
        notes.append(("note.bogus_partial_credit", {"cells": ", ".join(f"'{g}'" for g in dict.fromkeys(run["bogus_scores"]))}))
    outcome = {"success": bool(result.get("success")), "notes": notes, "log_tail": "\n".join(log.strip().splitlines()[-40:]),
               "status": GRADED, "key": "", "params": {}}
    autograded = state.course.autograded(student, state.lab) / f"{state.record['notebook']}.ipynb"
    if result.get("success") and autograded.exists():
        return outcome
    cell = _cell_label(submitted, run["cell"])
    outcome["status"] = NOT_GRADED
    if run["notebook_timeout"]:
        outcome.update(key="reason.notebook_timeout", params={"seconds": state.notebook_timeout, "cell": cell})
    elif kernel_start_failed:
        outcome.update(key="reason.kernel_start", params={"error": _last_error(log)})
    elif "DeadKernelError" in log or "Kernel died" in log:
        outcome.update(key="reason.kernel_died", params={"cell": cell})
    elif "Timeout waiting for IOPub output" in log or "CellTimeoutError" in log:
        outcome.update(key="reason.cell_stuck", params={"cell": cell, "seconds": state.timeout})
    else:
        outcome.update(key="reason.nbgrader_error", params={"error": _last_error(log)})
    return outcome


_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?([A-Z]\w*(?:Error|Exception|Exit|Interrupt))(?::\s*(.*))?$")


def _last_error(log: str) -> str:
    """The exception nearest the failure in nbgrader's log ("ValueError: ..."), not nbgrader's
    own "see the log" wrapper."""
    found = []
    for line in log.splitlines():
        m = _EXCEPTION_LINE.match(line.strip())
        if m and m.group(1) != "NbGraderException":
            found.append(f"{m.group(1)}: {m.group(2)}" if m.group(2) else m.group(1))
    if found:
        return found[-1][:300]
    lines = [line.strip() for line in log.splitlines() if line.strip() and "Please see the" not in line]
    return (lines[-1] if lines else "unknown error")[:300]


def _check(state: WorkerState, res: dict, submitted: dict, cloud, home: str) -> None:
    """The lab's checks, run in this process with fresh clients on the submission's own cloud."""
    from dataclasses import replace

    from labkit.checks.core import INFRA, CheckContext

    rec = state.record
    step_ids = [s.id for s in state.checks_lab.steps]
    cells = nbtools.test_cell_status(submitted, step_ids, rec.get("test_cells", {}))
    if not cloud.healthy(timeout=3):
        for step in state.checks_lab.steps:
            res["steps"].append({"id": step.id, "title_key": step.title_key, "earned": 0.0,
                                 "max_points": step.max_points(), "test_cell": cells[step.id], "infra": True})
        signal_number = _killed_by(cloud.pid)
        if signal_number is not None:  # someone killed it: the notebook can see its pid, we did not
            results.set_status(res, NOT_GRADED, "reason.cloud_killed", signal=signal_number)
        else:
            results.set_status(res, NEEDS_REGRADE, "reason.cloud_gone")
        return
    ctx = CheckContext(endpoint=cloud.endpoint, home=Path(home), notebook=submitted)
    total, infra = 0.0, []
    for step in state.checks_lab.steps:
        visible = step.run(ctx, include_hidden=False)
        # the hidden conditions alone, behind the same gate (a step that is not answered at all is
        # one result for its visible and one for its hidden points)
        hidden = replace(step, conditions=list(step.hidden), hidden=[]).run(ctx) if step.hidden else []
        step_results = [{**r.to_dict(), "hidden": False} for r in visible] + \
                       [{**r.to_dict(), "hidden": True} for r in hidden]
        for r in step_results:
            r["earned"] = r["points"] if r["passed"] else 0.0
        step_infra = [r for r in step_results if r["kind"] == INFRA]
        infra.extend(step_infra)
        earned = sum(r["earned"] for r in step_results if r["kind"] != INFRA)
        if cells[step.id] == "deleted":
            earned = 0.0
            results.add_note(res, "note.test_cell_deleted", step=step.id, title_key=step.title_key)
        elif cells[step.id] == "edited":
            results.add_note(res, "note.test_cell_edited", step=step.id, title_key=step.title_key)
        res["steps"].append({"id": step.id, "title_key": step.title_key, "earned": earned,
                             "max_points": step.max_points(), "grade_cell_points": rec.get("grade_cells", {}).get(step.id),
                             "test_cell": cells[step.id], "infra": bool(step_infra)})
        res["results"].extend(step_results)
        total += earned
    for grade_id in nbtools.edited_locked_cells(submitted, rec.get("locked_cells", {})):
        results.add_note(res, "note.locked_cell_edited", cell=grade_id)
    res["score"] = total
    res["status"] = GRADED
    if infra:
        names = ", ".join(dict.fromkeys(r["condition"] for r in infra))
        error = (infra[0].get("params") or {}).get("error", infra[0]["key"])
        res["provisional_score"] = total
        results.set_status(res, NEEDS_REGRADE, "reason.checker", conditions=names, error=error)


def _gradebook(state: WorkerState):
    from nbgrader.api import Gradebook

    return Gradebook(state.course.db_url)


def _with_retry(fn, attempts: int = 5):
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as exc:
            if "database is locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def _write_gradebook(state: WorkerState, student: str, res: dict) -> None:
    """Each step's grade cell gets the checks' points, so formgrader agrees with the export."""
    from nbgrader.api import MissingEntry

    def write():
        with _gradebook(state) as gb:
            for step in res["steps"]:
                try:
                    grade = gb.find_grade(step["id"], state.record["notebook"], state.lab, student)
                except MissingEntry:
                    continue
                grade.auto_score = min(step["earned"], float(grade.max_score))
                grade.needs_manual_grade = bool(step["infra"]) or res["status"] != GRADED
            gb.db.commit()
    _with_retry(write)


def _forget_old_grade(state: WorkerState, student: str, out_dir: Path) -> None:
    """A submission that could not be graded this time must not keep an older run's scores or
    notebook (nbgrader removes its own output on failure; not when it never ran)."""
    from nbgrader.api import MissingEntry

    stale = out_dir / f"{state.record['notebook']}.ipynb"
    try:
        if stale.exists():
            stale.unlink()
    except OSError:
        pass

    def forget():
        with _gradebook(state) as gb:
            try:
                submission = gb.find_submission(state.lab, student)
            except MissingEntry:
                return
            for nb in submission.notebooks:
                for grade in nb.grades:
                    grade.auto_score = None
                    grade.needs_manual_grade = True
            gb.db.commit()
    try:
        _with_retry(forget)
    except Exception:
        pass


# -- the worker process --------------------------------------------------------------------------------

def main(conn, options: dict) -> None:
    """Entry point of a worker process: setup once, then grade what the pool sends until None."""
    log_path = options.get("log")
    if log_path:  # nbgrader's, the kernels' and our own noise goes to the run's log, not the console
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    try:
        state = WorkerState(options["course"], options["lab"], options.get("checks"),
                            options.get("timeout", DEFAULT_TIMEOUT),
                            options.get("notebook_timeout", DEFAULT_NOTEBOOK_TIMEOUT),
                            options.get("max_output", MAX_OUTPUT_BYTES))
    except BaseException as exc:
        conn.send(("failed", _one_line(exc), traceback.format_exc()))
        return
    nbexec.ON_KERNEL_START = lambda pid: conn.send(("kernel", pid))
    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            break
        if task is None:
            break
        print(f"--- grading {task['student']}", flush=True)
        res = grade(state, task["student"], task["home"], task.get("token"))
        conn.send(("done", summary(res)))
        sys.stdout.flush()


def summary(res: dict) -> dict:
    return {k: res.get(k) for k in ("student", "lab", "status", "reason", "score", "max_score", "language",
                                    "timing", "provisional_score", "tampered_files")} | \
        {"notes": [n["text"] for n in res["notes"]]}
