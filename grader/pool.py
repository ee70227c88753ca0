"""`grader autograde`: submissions shared among long-lived worker processes.

The run's inputs (the course's config, the lab's record and checks, a template gradebook) are
read once, here, before any submission runs (inputs.py), and handed to every worker. Each worker
sets up nbgrader and the checks once (no ~3 s command start per student) and grades one
submission at a time in its own scratch course and sandbox; it sends back the verdict and the
autograded folder, which this process alone writes into the course (collect.py); the pool hands the next submission to whichever
worker is free. A worker talks back over a multiprocessing pipe, a descriptor the kernels it starts
do not inherit. If a worker dies (a notebook killed it, memory ran out) or overruns its deadline,
the pool kills it with its kernel and cloud, records that submission as not graded with the
reason, and starts a fresh worker for the rest: one bad submission never stops the run.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import secrets
import shutil
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait

from grader import collect, results
from grader import inputs as run_inputs
from grader.course import DEFAULT_NOTEBOOK_TIMEOUT, DEFAULT_TIMEOUT, MAX_OUTPUT_BYTES, Course
from grader.errors import GraderError
from grader.results import GRADED, NEEDS_REGRADE, NOT_GRADED
from grader.worker import kill_leftovers

WORKER_START_TIMEOUT = 120.0
DEADLINE_MARGIN = 90.0  # on top of the notebook timeout: cloud start, nbgrader's own steps, checks


@dataclass
class Worker:
    index: int
    process: multiprocessing.Process
    conn: object
    ready: bool = False
    started: float = field(default_factory=time.monotonic)
    task: dict | None = None
    task_started: float = 0.0
    kernel_pid: int | None = None
    cloud_pid: int | None = None
    scratch: str | None = None


def kill_process(pid: int | None, group: bool = False) -> None:
    """SIGKILL `pid` (with `group`, its process group: a kernel's sandbox), if it still runs."""
    if pid:
        try:
            (os.killpg if group else os.kill)(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Pool:
    def __init__(self, course: Course, lab: str, jobs: int, options: dict, out=print):
        self.course, self.lab, self.jobs, self.options, self.out = course, lab, max(1, jobs), options, out
        self.record = options["inputs"]["record"]
        self.ctx = multiprocessing.get_context("spawn")
        self.workers: list[Worker] = []
        self.spawned = 0
        # a worker that has not answered by then is killed (it may be frozen by what it runs)
        self.deadline = options["notebook_timeout"] + options.get("deadline_margin", DEADLINE_MARGIN)
        self.course.logs.mkdir(parents=True, exist_ok=True)
        for old in self.course.logs.glob(f"{lab}-worker-*.log"):  # logs of the last run only
            old.unlink()

    def _spawn(self) -> Worker:
        index = self.spawned
        self.spawned += 1
        parent, child = self.ctx.Pipe(duplex=True)
        log = self.course.logs / f"{self.lab}-worker-{index}.log"
        options = {**self.options, "log": str(log)}
        from grader.worker import main

        process = self.ctx.Process(target=main, args=(child, options), name=f"grader-worker-{index}", daemon=True)
        process.start()
        child.close()
        worker = Worker(index=index, process=process, conn=parent)
        self.workers.append(worker)
        return worker

    def _retire(self, worker: Worker, kill: bool) -> None:
        if kill and worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=10)
        kill_process(worker.kernel_pid, group=True)
        kill_process(worker.cloud_pid)
        if worker.scratch:
            shutil.rmtree(worker.scratch, ignore_errors=True)
        try:
            worker.conn.close()
        except OSError:
            pass
        self.workers.remove(worker)

    def run(self, students: list[str]) -> list[dict]:
        pending = deque(students)
        done: list[dict] = []
        total = len(students)
        failures_at_start = 0
        for _ in range(min(self.jobs, total)):
            self._spawn()
        try:
            while pending or any(w.task for w in self.workers):
                for worker in self.workers:
                    if worker.ready and worker.task is None and pending:
                        student = pending.popleft()
                        collect.mark_in_progress(self.course, self.lab, student, self.record)
                        try:
                            files = run_inputs.submission_files(self.course, student, self.lab)
                        except (OSError, GraderError) as exc:
                            done.append(self._record_lost(student, "reason.unreadable_submission",
                                                          {"error": str(exc)}, 0.0))
                            self._progress(done[-1], len(done), total)
                            continue
                        worker.task = {"student": student, "files": files, "token": secrets.token_hex(8)}
                        worker.task_started = time.monotonic()
                        worker.kernel_pid = None
                        worker.conn.send(worker.task)
                waitables = [w.conn for w in self.workers] + [w.process.sentinel for w in self.workers]
                wait(waitables, timeout=1.0)
                for worker in list(self.workers):
                    if not self._drain(worker, done, total):
                        continue
                    dead = not worker.process.is_alive()
                    overdue = worker.task is not None and time.monotonic() - worker.task_started > self.deadline
                    slow_start = not worker.ready and time.monotonic() - worker.started > WORKER_START_TIMEOUT
                    if not (dead or overdue or slow_start):
                        continue
                    if worker.task is not None:
                        task = worker.task
                        if overdue:
                            worker.process.kill()
                        worker.process.join(timeout=10)
                        code = worker.process.exitcode
                        kill_process(worker.kernel_pid, group=True)
                        kill_process(worker.cloud_pid)
                        kill_leftovers(task["token"], clouds=True)
                        key, params = (("reason.stalled", {"seconds": int(self.deadline)})
                                       if overdue else ("reason.worker_died", {"code": code}))
                        done.append(self._record_lost(task["student"], key, params, time.monotonic() - worker.task_started))
                        self._progress(done[-1], len(done), total)
                        worker.task = None
                    elif not worker.ready:
                        failures_at_start += 1
                    self._retire(worker, kill=True)
                    if failures_at_start >= 2 and not any(w.ready for w in self.workers):
                        raise GraderError(f"the grading workers could not start; see {self.course.logs}")
                    if pending and len(self.workers) < self.jobs:
                        self._spawn()
        finally:
            for worker in list(self.workers):
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
            for worker in list(self.workers):
                worker.process.join(timeout=15)
                self._retire(worker, kill=True)
        return done

    def _drain(self, worker: Worker, done: list[dict], total: int) -> bool:
        """Read every message the worker sent. Returns True if the worker may need handling."""
        while True:
            try:
                if not worker.conn.poll():
                    return True
                message = worker.conn.recv()
            except (EOFError, OSError):
                return True
            kind = message[0]
            if kind == "ready":
                worker.ready = True
                worker.scratch = message[2] if len(message) > 2 else None
            elif kind == "kernel":
                worker.kernel_pid = message[1]
            elif kind == "cloud":
                worker.cloud_pid = message[1]
            elif kind == "failed":
                log = self.course.logs / f"{self.lab}-worker-{worker.index}.log"
                self._retire(worker, kill=True)
                raise GraderError(f"a grading worker could not start: {message[1]} (details in {log})")
            elif kind == "done":
                done.append(accept(self.course, self.lab, self.options["inputs"], message[1]))
                worker.task = None
                worker.kernel_pid = worker.cloud_pid = None
                self._progress(done[-1], len(done), total)

    def _record_lost(self, student: str, key: str, params: dict, seconds: float) -> dict:
        return record_lost(self.course, self.lab, self.record, student, key, params, seconds,
                           "bubblewrap" if self.options.get("sandbox") else "none")

    def _progress(self, summary: dict, n: int, total: int) -> None:
        print_progress(self.out, summary, n, total)


# -- shared with grader/distributed.py: what the main process does with an outcome, and what it prints --

def accept(course: Course, lab: str, inputs: dict, outcome: dict) -> dict:
    """Write a worker's outcome into the course (this process alone does); returns its summary."""
    from grader.worker import summary

    changed = run_inputs.tampered(inputs)
    if changed:  # without a sandbox, this notebook wrote the grader's inputs: not trusted
        res = outcome["results"]
        res["tampered_files"] = sorted(set(res.get("tampered_files") or []) | set(changed))
        results.set_status(res, NOT_GRADED, "reason.tampered_files", files=", ".join(changed))
        outcome["grades"] = None
    return summary(collect.apply(course, lab, outcome))


def record_lost(course: Course, lab: str, rec: dict, student: str, key: str, params: dict, seconds: float,
                sandbox: str, status: str = NOT_GRADED, **fields) -> dict:
    """A submission whose worker gave no outcome (it died, overran, was lost): recorded with the
    reason, never as a 0. `fields` go into the results as they are (e.g. "worker")."""
    from grader.worker import summary

    res = results.new(lab, student, rec["notebook"], rec["max_score"])
    try:
        from grader.notebook import language, read_json

        res["language"] = language(read_json(course.submitted(student, lab) / f"{rec['notebook']}.ipynb"))
    except Exception:
        pass
    results.set_status(res, status, key, **params)
    res["timing"] = {"total": round(seconds, 3)}
    res["sandbox"] = sandbox
    res.update(fields)
    collect.apply(course, lab, {"results": res, "files": {}, "grades": None})
    return summary(res)


def print_progress(out, summary: dict, n: int, total: int) -> None:
    out(f"[{n}/{total}] {progress_line(summary)}")


def progress_line(s: dict) -> str:
    seconds = (s.get("timing") or {}).get("total")
    took = f" ({seconds:.1f} s)" if isinstance(seconds, (int, float)) else ""
    lang = f" [{s.get('language')}]" if s.get("language") and s.get("language") != "en" else ""
    if s["status"] == GRADED:
        line = f"{s['student']}{lang}: graded {s['score']:g}/{s['max_score']:g}{took}"
    elif s["status"] == NEEDS_REGRADE:
        line = f"{s['student']}{lang}: NEEDS REGRADE - {s['reason']}{took}"
    else:
        line = f"{s['student']}{lang}: NOT GRADED - {s['reason']}{took}"
    for note in s.get("notes") or []:
        line += f"\n      note: {note}"
    return line


def begin(course: Course, lab: str, students: list[str] | None, checks: str | None) -> tuple[dict, list[str]]:
    """The run's inputs, read once before any student code runs, and the students to grade."""
    course.require(lab)
    from grader.labs import get_lab

    inputs = run_inputs.read(course, lab, checks)  # once, before any student code runs
    get_lab(lab, inputs["checks"])  # fail here, with the reason, before any worker starts
    students = list(students) if students else course.students(lab)
    if not students:
        raise GraderError(f"no submissions of {lab} in {course.root}/submitted/<student>/{lab}/: collect them "
                          f"(`nbgrader collect {lab}` or copy them there), then run "
                          f"`grader autograde {lab} --course {course.root}`")
    return inputs, students


def no_sandbox_error(how: str) -> GraderError:
    return GraderError(f"no sandbox on this machine: {how}. Run `grader sandbox install`, or grade with "
                       f"`--sandbox auto` to grade without one (the export marks those grades)")


def sandbox_line(isolated: bool, how: str) -> str:
    return (f"Sandbox: {how}" if isolated else
            f"WARNING: grading WITHOUT a sandbox ({how}): student code runs with your permissions and could change "
            f"grades; the export marks these grades 'graded without a sandbox'.")


def start_line(count: int, lab: str, workers: str, timeout: int, notebook_timeout: int) -> str:
    return (f"Autograding {count} submission(s) of {lab} with {workers}; "
            f"{timeout} s per cell, {notebook_timeout} s per notebook")


def report(course: Course, lab: str, done: list[dict], elapsed: float, out=print) -> None:
    """The end of a run: the counts, what to warn about, what to do next."""
    counts = {status: sum(1 for s in done if s["status"] == status) for status in (GRADED, NOT_GRADED, NEEDS_REGRADE)}
    out(f"Done in {elapsed:.1f} s: {counts[GRADED]} graded, {counts[NOT_GRADED]} not graded, "
        f"{counts[NEEDS_REGRADE]} need a regrade. Results: {course.root}/autograded/<student>/{lab}/labkit-results.json")
    tampered = [s for s in done if s.get("tampered_files")]
    if tampered:
        files = sorted({f for s in tampered for f in s["tampered_files"]})
        out(f"WARNING: the notebooks of {', '.join(s['student'] for s in tampered)} changed files of this "
            f"installation ({', '.join(files[:5])}{' ...' if len(files) > 5 else ''}). Their submissions are not "
            f"graded; the course files among them were put back as this run read them. Restore the installation "
            f"(e.g. `git checkout -- labkit grader` and reinstall the packages) "
            f"before grading again.")
    if counts[NEEDS_REGRADE]:
        out(f"Regrade those once the cause is fixed: `grader autograde {lab} --course {course.root} "
            + " ".join(f"--student {s['student']}" for s in done if s["status"] == NEEDS_REGRADE) + "`")
    out(f"Next: `grader export grades.csv --course {course.root} --lab {lab}` and "
        f"`grader feedback {lab} --course {course.root}`")


def autograde(course: Course, lab: str, students: list[str] | None = None, jobs: int = 2,
              timeout: int = DEFAULT_TIMEOUT, notebook_timeout: int = DEFAULT_NOTEBOOK_TIMEOUT,
              checks: str | None = None, max_output: int = MAX_OUTPUT_BYTES, deadline_margin: float = DEADLINE_MARGIN,
              sandbox: str = "auto", out=print) -> list[dict]:
    """`sandbox`: "auto" (a sandbox where the machine allows one, else graded without and said so),
    "require" (stop if there is none), "none" (plain nbgrader's trust in the students).
    grader/distributed.py runs the same on a Dask cluster (`--scheduler`)."""
    from grader.sandbox import probe

    inputs, students = begin(course, lab, students, checks)
    jobs = max(1, min(jobs, len(students)))
    isolated, how = (False, "switched off (--sandbox none)") if sandbox == "none" else probe()
    if not isolated and sandbox == "require":
        raise no_sandbox_error(how)
    out(sandbox_line(isolated, how))
    out(start_line(len(students), lab, f"{jobs} worker(s)", timeout, notebook_timeout))
    started = time.monotonic()
    options = {"inputs": inputs, "sandbox": isolated, "timeout": timeout, "notebook_timeout": notebook_timeout, "max_output": max_output,
               "deadline_margin": deadline_margin}
    done = Pool(course, lab, jobs, options, out).run(students)
    report(course, lab, done, time.monotonic() - started, out)
    return done
