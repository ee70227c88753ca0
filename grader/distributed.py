"""`grader autograde LAB --course DIR --scheduler ADDRESS`: the same grading on a Dask cluster.

The main process does what it does for the local pool (pool.py): it reads the run's inputs once,
hands out submissions, and alone writes the course (pool.accept / pool.record_lost, collect.py);
it prints the same progress lines, summary and warnings. What changes is where a submission is
graded: on a Dask worker, on another machine with the course's software installed and no shared
disk. What travels through Dask, and nothing else:
  - the run's inputs (config text, lab record, checks source, template gradebook, the lab's source
    files; never a path of the course), once per worker: they ride in a worker plugin, which the
    scheduler hands to every worker now and to any that joins or restarts later;
  - per submission, its folder's files as bytes (task), and back the outcome (verdict, autograded
    folder, grade cells), or why there is none.

On each Dask worker a task hands the submission to a long-lived local grading process
(grader.worker.main over a pipe, exactly what the local pool runs) and waits for it. Why a
process of its own rather than nbgrader in the Dask worker's thread (`--nthreads 1`):
  - nbgrader runs in-process on module globals and os.environ (nbexec.RUN, the sandbox's kernel
    settings, the cloud's environment): Dask's other threads (its comms, heartbeats) must not
    share a process whose environment is rewritten for each notebook;
  - Dask cannot stop a running task: only a process can be killed at its deadline, with its
    kernel and cloud, and a notebook that kills its grading process (no sandbox there) kills
    that process, not the Dask worker. Both end as on the local pool: "not graded" with
    `reason.stalled` / `reason.worker_died`, and the worker grades the rest.
Each worker thread owns one grading process (a slot, taken by one task at a time): with
`--nthreads 1` a worker grades one submission at a time; with N threads, N at once, each in its
own process. The grading processes start as soon as the run reaches the worker (and again right
after one was killed), so they are ready when a submission comes; the run's end stops them. They
are started with subprocess, not multiprocessing: Dask's worker processes are daemons, which
multiprocessing forbids to have children. Their logs: $TMPDIR/grader-logs/<lab>-<run>/ there.

A whole Dask worker lost (its machine failed, or a notebook killed it) is Dask's to handle: the
scheduler gives the task to another worker, up to its `allowed-failures`; after that the
submission is "not graded" (`reason.worker_lost`). If no worker is connected for
WORKER_START_TIMEOUT, or the scheduler goes away, the run stops with the reason (what was not
graded yet reads "grading was interrupted"): never a hang, never a silent 0.

Before grading, every worker says what it is: its host, whether its machine can sandbox a
submission (`--sandbox require` refuses one that cannot) and a digest of its grader and labkit
code (a worker with other code would grade differently: refused). Each result records the
worker that graded it (res["worker"]) and whether it was sandboxed there (res["sandbox"]).
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import queue
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from typing import TYPE_CHECKING

from distributed.diagnostics.plugin import WorkerPlugin

from grader.errors import GraderError
from grader.pool import kill_process  # one way to stop a grading process's kernel and cloud
from grader.results import NEEDS_REGRADE, NOT_GRADED

if TYPE_CHECKING:
    from grader.course import Course
# A Dask worker imports this module to run a task: what it needs is kept light (the course, pool and
# nbformat modules take seconds to import; the grading process imports them, and the main process).

WORKER_START_TIMEOUT = 120.0  # as pool.py's: for a grading process, and for the cluster's first worker
DEADLINE_MARGIN = 90.0  # as pool.py's: on top of the notebook timeout
CONNECT_TIMEOUT = 15
AHEAD = 2  # submissions queued per grading slot: the cluster never waits, the scheduler holds few
SOFTWARE = ("nbgrader", "nbclient", "nbconvert", "jupyter_client", "ipykernel", "moto", "boto3", "botocore", "awscli")

# The grading process: grader.worker.main on the pipe whose descriptor it is given, options first.
CHILD = (
    "import os, sys\n"
    "from multiprocessing.connection import Connection\n"
    "fd = int(sys.argv[1])\n"
    "os.set_inheritable(fd, False)  # the kernels it starts must not inherit the pipe\n"
    "conn = Connection(fd)\n"
    "options = conn.recv()\n"
    "from grader.worker import main\n"
    "main(conn, options)\n"
)

_RUNS: dict[str, WorkerRun] = {}  # in a Dask worker: run id -> that run's grading slots
_MACHINE: dict = {}  # in a Dask worker: what probe() and the software digest said (they do not change)


# -- on a Dask worker ------------------------------------------------------------------------------

def software_digest() -> str:
    """The grader's and labkit's code and the versions of what grades with them."""
    h = hashlib.sha256()
    for name in ("grader", "labkit"):
        for root in importlib.util.find_spec(name).submodule_search_locations:  # found, not imported
            root = Path(root)
            for path in sorted(root.rglob("*")):
                rel = path.relative_to(root)
                if path.suffix in (".py", ".json") and not {"samples", "__pycache__"} & set(rel.parts):
                    h.update(f"{name}/{rel.as_posix()}".encode() + hashlib.sha256(path.read_bytes()).digest())
    for dist in SOFTWARE:
        try:
            h.update(f"{dist}=={importlib.metadata.version(dist)}".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{dist} missing".encode())
    return h.hexdigest()[:16]


def machine() -> dict:
    """This worker's machine: host, sandbox (probe()), software digest; computed once."""
    if not _MACHINE:
        from grader.sandbox import probe

        isolated, how = probe()
        _MACHINE.update(host=socket.gethostname(), isolated=isolated, how=how, software=software_digest())
    return dict(_MACHINE)


def describe(run_id: str, dask_worker=None) -> dict:
    """What the main process asks every worker before the run (client.run)."""
    info = machine()
    info["nthreads"] = dask_worker.state.nthreads if dask_worker is not None else 1
    return info


def busy() -> dict:
    """Submissions this Dask worker is grading now: student -> {pid of its grading process, pid of
    this worker}. For an instructor's look at a cluster (client.run(busy)), and for the tests."""
    now = {}
    for run in list(_RUNS.values()):
        now.update({student: {"pid": pid, "worker_pid": os.getpid()} for student, pid in list(run.busy.items())})
    return now


class GradingPlugin(WorkerPlugin):
    """Carries the run's options to every worker, once; its teardown stops the grading processes."""

    def __init__(self, run_id: str, options: dict):
        self.run_id, self.options = run_id, options

    def setup(self, worker):
        for other in list(_RUNS.values()):  # a run whose main process died never said goodbye
            _in_background(other.release_idle)
        _RUNS[self.run_id] = WorkerRun(self.run_id, self.options, worker.address, worker.state.nthreads)

    def teardown(self, worker):
        run = _RUNS.pop(self.run_id, None)
        if run is not None:
            _in_background(run.close)  # not on the worker's event loop: stopping takes seconds


def _in_background(fn) -> None:
    threading.Thread(target=fn, name="grader-stop", daemon=True).start()


def grade_remote(run_id: str, task: dict) -> dict:
    """The Dask task: one submission, graded by a local grading process of this worker."""
    run = _RUNS.get(run_id)
    if run is None:
        return {"kind": "failed", "worker": f"{socket.gethostname()} (a worker without this run)",
                "error": "the run's inputs did not reach this worker (its plugin did not load)", "log": "-"}
    return run.grade(task)


class WorkerRun:
    """One run's grading slots on one Dask worker (one slot per worker thread)."""

    def __init__(self, run_id: str, options: dict, address: str, nthreads: int):
        self.run_id, self.options, self.address = run_id, options, address
        self.busy: dict[str, int] = {}
        lab = options["inputs"]["lab"]
        self.logs = Path(tempfile.gettempdir()) / "grader-logs" / f"{lab}-{run_id}"
        for old in self.logs.parent.glob(f"{lab}-*"):  # logs of the last run only
            if old != self.logs and not any(old.name == f"{lab}-{r}" for r in _RUNS):
                shutil.rmtree(old, ignore_errors=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.slots: queue.Queue[GradingProcess] = queue.Queue()
        self.all = [GradingProcess(self, i) for i in range(max(1, nthreads))]
        self.closed = False
        for slot in self.all:
            self.slots.put(slot)
            _in_background(slot.warm)  # ready before the first submission arrives

    def fitness(self) -> tuple[dict, str | None]:
        m = machine()
        m["worker"] = f"{m['host']} ({self.address})"
        mode = self.options["sandbox_mode"]
        m["isolated"] = m["isolated"] and mode != "none"
        if m["software"] != self.options["software"]:
            return m, (f"its grader or labkit code (or a package they use) differs from this run's "
                       f"(digest {m['software']}, the run's {self.options['software']}): install the same version there")
        if mode == "require" and not m["isolated"]:
            return m, f"no sandbox there ({m['how']}) and the run requires one (--sandbox require)"
        return m, None

    def grade(self, task: dict) -> dict:
        m, unfit = self.fitness()
        if unfit:
            return {"kind": "unfit", "worker": m["worker"], "why": unfit}
        slot = self.slots.get()
        try:
            if self.closed:
                answer = {"kind": "failed", "error": "the run was ending", "log": "-"}
            else:
                answer = slot.grade(task, sandbox=m["isolated"])
                if answer["kind"] == "lost":  # a fresh process for the next one, as the local pool does
                    _in_background(slot.warm)
        finally:
            self.slots.put(slot)
        answer.update(worker=m["worker"], sandbox="bubblewrap" if m["isolated"] else "none")
        if answer["kind"] == "done":
            answer["outcome"]["results"]["worker"] = m["worker"]
        return answer

    def release_idle(self) -> None:
        """Stop the grading processes no task is using (they start again when one needs them)."""
        for _ in range(len(self.all)):
            try:
                slot = self.slots.get_nowait()
            except queue.Empty:
                return
            try:
                slot.stop()
            finally:
                self.slots.put(slot)

    def close(self) -> None:
        self.closed = True
        for slot in self.all:
            slot.stop()


class GradingProcess:
    """One long-lived local grading process and what it reported (kernel, cloud), started on
    first use and after one died or was killed."""

    def __init__(self, run: WorkerRun, index: int):
        self.run, self.index = run, index
        self.proc: subprocess.Popen | None = None
        self.conn = None
        self.kernel_pid = self.cloud_pid = None
        self.scratch: str | None = None
        self.started = 0
        self.log = ""
        self.lock = threading.RLock()  # starting and stopping come from several threads

    def warm(self) -> None:
        """Start it ahead of need, where this worker may grade this run."""
        m, unfit = self.run.fitness()
        if not unfit:
            self.ensure(m["isolated"])

    def ensure(self, sandbox: bool) -> str | None:
        """A ready process: started now if there is none. Returns why it could not start, or None."""
        with self.lock:
            if self.run.closed:
                return "the run was ending"
            return None if self.proc is not None else self._start(sandbox)

    def _start(self, sandbox: bool) -> str | None:
        import multiprocessing

        self.started += 1
        self.log = str(self.run.logs / f"worker-{os.getpid()}-slot-{self.index}-{self.started}.log")
        parent, child = multiprocessing.Pipe(duplex=True)
        options = {k: v for k, v in self.run.options.items() if k not in ("sandbox_mode", "software")}
        options["sandbox"] = sandbox
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", CHILD, str(child.fileno())], pass_fds=[child.fileno()],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=_child_environment())
        child.close()
        self.conn = parent
        _send(parent, options)
        until = time.monotonic() + WORKER_START_TIMEOUT
        while time.monotonic() < until:
            message, ended = _receive(self.conn, self.proc)
            if message is not None and message[0] == "ready":
                self.scratch = message[2] if len(message) > 2 else None
                return None
            if message is not None and message[0] == "failed":
                self.stop()
                return message[1]
            if ended:
                break
        code = self.proc.poll()
        self.stop()
        return (f"it exited (code {code}) before it was ready" if code is not None
                else f"it was not ready after {WORKER_START_TIMEOUT:.0f} s")

    def grade(self, task: dict, sandbox: bool) -> dict:
        why = self.ensure(sandbox)
        if why:
            return {"kind": "failed", "error": why, "log": self.log}
        proc, conn = self.proc, self.conn
        options = self.run.options
        deadline = options["notebook_timeout"] + options.get("deadline_margin", DEADLINE_MARGIN)
        started = time.monotonic()
        self.kernel_pid = self.cloud_pid = None
        self.run.busy[task["student"]] = proc.pid
        try:
            _send(conn, task)
            while True:
                message, ended = _receive(conn, proc)
                if message is not None:
                    if message[0] == "done":
                        return {"kind": "done", "outcome": message[1]}
                    if message[0] == "kernel":
                        self.kernel_pid = message[1]
                    elif message[0] == "cloud":
                        self.cloud_pid = message[1]
                    continue
                if ended:  # it died (a notebook killed it, memory ran out, the run's end stopped it)
                    try:
                        proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        pass
                    self.stop(task["token"])
                    return {"kind": "lost", "key": "reason.worker_died", "params": {"code": proc.returncode},
                            "seconds": time.monotonic() - started}
                if time.monotonic() - started > deadline:  # frozen, or frozen by what it runs
                    self.stop(task["token"])
                    return {"kind": "lost", "key": "reason.stalled", "params": {"seconds": int(deadline)},
                            "seconds": time.monotonic() - started}
        finally:
            self.run.busy.pop(task["student"], None)

    def stop(self, token: str | None = None) -> None:
        """Stop the process (asked to first when idle), its kernel and cloud, what the notebook left."""
        with self.lock:
            proc, conn, self.proc, self.conn = self.proc, self.conn, None, None
            kernel, cloud, scratch = self.kernel_pid, self.cloud_pid, self.scratch
            self.kernel_pid = self.cloud_pid = self.scratch = None
        if proc is not None:
            if token is None and proc.poll() is None:
                try:
                    conn.send(None)
                    proc.wait(timeout=15)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        kill_process(kernel, group=True)
        kill_process(cloud)
        if token or scratch:  # in the background: the slot is free at once (grader.worker takes seconds to import)
            _in_background(lambda: _clean_up(token, scratch))
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass


def _clean_up(token: str | None, scratch: str | None) -> None:
    """After a grading process was killed: what the notebook left running (its token), and what the
    process had started but not yet reported (a cloud started the plain way just before it died
    lives in its scratch folder; a forked one ended with the process's cloud template), then that
    folder."""
    import psutil

    if token:
        from grader.worker import kill_leftovers

        kill_leftovers(token, clouds=True)
    if scratch:
        for proc in psutil.process_iter(["cmdline"]):
            try:
                if any(arg == scratch or f"{scratch}{os.sep}" in arg for arg in proc.info["cmdline"] or []):
                    proc.kill()
            except (psutil.Error, OSError):
                continue
        shutil.rmtree(scratch, ignore_errors=True)


def _send(conn, obj) -> None:
    """Send without blocking this thread on a process that does not read (it is watched instead)."""
    def send():
        try:
            conn.send(obj)
        except (OSError, ValueError):
            pass  # it died: the watcher sees that
    threading.Thread(target=send, name="grader-send", daemon=True).start()


def _receive(conn, proc) -> tuple[tuple | None, bool]:
    """(the next message or None within half a second, whether the process has ended). A process
    that ended is read to its last message first: its outcome may be in the pipe."""
    try:
        if conn.poll(0.5):
            return conn.recv(), False
    except (EOFError, OSError, ValueError):
        return None, True
    if proc.poll() is None:
        return None, False
    try:
        return (conn.recv(), False) if conn.poll(0) else (None, True)
    except (EOFError, OSError, ValueError):
        return None, True


def _child_environment() -> dict:
    """The worker's environment without what Dask's nanny set for its own workers (one thread
    for numpy and the like): a notebook runs as it would on the local pool."""
    import dask

    dask_set = {k: str(v) for k, v in (dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {}).items()}
    dask_set.setdefault("PYTHONHASHSEED", "6640")
    return {k: v for k, v in os.environ.items() if dask_set.get(k) != v}


# -- the main process -------------------------------------------------------------------------------

def autograde(course: Course, lab: str, scheduler: str, students: list[str] | None = None,
              timeout: int | None = None, notebook_timeout: int | None = None, checks: str | None = None,
              max_output: int | None = None, deadline_margin: float = DEADLINE_MARGIN, sandbox: str = "auto",
              out=print) -> list[dict]:
    """pool.autograde, with the submissions graded by the workers of the Dask scheduler at `scheduler`
    (timeouts and limits: pool.autograde's defaults where None)."""
    from distributed import Client

    from grader import pool
    from grader.course import DEFAULT_NOTEBOOK_TIMEOUT, DEFAULT_TIMEOUT, MAX_OUTPUT_BYTES

    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    notebook_timeout = DEFAULT_NOTEBOOK_TIMEOUT if notebook_timeout is None else notebook_timeout
    max_output = MAX_OUTPUT_BYTES if max_output is None else max_output
    inputs, students = pool.begin(course, lab, students, checks)
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise GraderError(f"cannot reach the Dask scheduler at {scheduler} ({_one_line(exc)}): start it with "
                          f"`dask scheduler` on that machine, or check the address") from None
    run_id = secrets.token_hex(4)
    options = {"inputs": {k: v for k, v in inputs.items() if k != "files"},  # "files": this machine's paths
               "timeout": timeout, "notebook_timeout": notebook_timeout, "max_output": max_output,
               "deadline_margin": deadline_margin, "sandbox_mode": sandbox, "software": software_digest()}
    name = f"grader-{lab}-{run_id}"
    registered = False
    try:
        if not client.scheduler_info().get("workers"):
            out(f"Waiting up to {WORKER_START_TIMEOUT:.0f} s for a Dask worker to connect to {scheduler} ...")
        try:
            client.wait_for_workers(1, timeout=WORKER_START_TIMEOUT)
        except TimeoutError:
            raise GraderError(f"no Dask worker is connected to {scheduler} after {WORKER_START_TIMEOUT:.0f} s: start "
                              f"`dask worker {scheduler} --nthreads 1` on each grading machine") from None
        client.register_plugin(GradingPlugin(run_id, options), name=name)
        registered = True
        machines = {address: m for address, m in client.run(describe, run_id, on_error="return").items()
                    if isinstance(m, dict)}  # a worker that left in between is not asked again
        if not machines:
            raise GraderError(f"the Dask workers of {scheduler} did not answer; check their logs and run again")
        slots = _judge(machines, options, sandbox, out)
        out(pool.start_line(len(students), lab, f"{slots} grading slot(s) on {len(machines)} Dask worker(s) at "
                                                f"{scheduler}", timeout, notebook_timeout))
        started = time.monotonic()
        done = Run(client, course, lab, inputs, run_id, machines, sandbox, out).run(students)
        _per_worker(done, out)
        pool.report(course, lab, done, time.monotonic() - started, out)
        return done
    finally:
        if registered and client.status == "running":
            try:  # the teardown stops every grading process of this run
                client.unregister_worker_plugin(name)
            except Exception:
                pass
        client.close(timeout=10)


def _judge(machines: dict, options: dict, mode: str, out) -> int:
    """Refuse workers that would grade differently; say which grade without a sandbox. Returns
    the number of grading slots."""
    from grader import pool

    different = [f"{m['host']} ({address})" for address, m in machines.items() if m["software"] != options["software"]]
    if different:
        raise GraderError(f"the Dask worker(s) {', '.join(different)} run other grader or labkit code (or other "
                          f"versions of the packages it grades with) than this machine: install the same version "
                          f"of the course there (`pip install` of this project), restart the worker, run again")
    if mode == "none":
        out(pool.sandbox_line(False, "switched off (--sandbox none)"))
    else:
        bare = {f"{m['host']} ({address})": m["how"] for address, m in machines.items() if not m["isolated"]}
        boxed = sorted({f"{m['how']} on {m['host']}" for m in machines.values() if m["isolated"]})
        if bare and mode == "require":
            raise GraderError(f"no sandbox on the Dask worker(s) {'; '.join(f'{w}: {how}' for w, how in bare.items())}. "
                              f"Run `grader sandbox install` there (then `grader sandbox check`) or stop those workers, "
                              f"or grade with `--sandbox auto` to grade without one (the export marks those grades)")
        if boxed:
            out(pool.sandbox_line(True, ", ".join(boxed)))
        if bare:
            out(pool.sandbox_line(False, "; ".join(f"on {w}: {how}" for w, how in bare.items())))
    return sum(m["nthreads"] for m in machines.values())


def _per_worker(done: list[dict], out) -> None:
    counts: dict[str, int] = {}
    for s in done:
        if s.get("worker"):
            counts[s["worker"]] = counts.get(s["worker"], 0) + 1
    if counts:
        out("Graded by: " + ", ".join(f"{w}: {n}" for w, n in sorted(counts.items())))


class Run:
    """Hands submissions to the cluster a few at a time (each marked "in progress" as it goes)
    and writes each outcome into the course as it comes back."""

    def __init__(self, client, course: Course, lab: str, inputs: dict, run_id: str, machines: dict, mode: str, out):
        self.client, self.course, self.lab, self.inputs, self.run_id = client, course, lab, inputs, run_id
        self.record = inputs["record"]
        self.mode, self.out = mode, out
        self.known = {f"{m['host']} ({address})" for address, m in machines.items()}
        # what a submission that never reached a grading process is marked with, as on the local pool
        self.sandbox = "bubblewrap" if mode != "none" and all(m["isolated"] for m in machines.values()) else "none"
        self.slots = sum(m["nthreads"] for m in machines.values())
        self.done: list[dict] = []

    def run(self, students: list[str]) -> list[dict]:
        from grader import collect
        from grader import inputs as run_inputs
        from grader import pool

        pending = list(students)
        flying: dict = {}  # future -> (student, when it was handed over)
        total = len(students)
        alone_since = None
        last_look = 0.0
        try:
            while pending or flying:
                while pending and len(flying) < AHEAD * max(1, self.slots):
                    student = pending.pop(0)
                    collect.mark_in_progress(self.course, self.lab, student, self.record)
                    try:
                        files = run_inputs.submission_files(self.course, student, self.lab)
                    except (OSError, GraderError) as exc:
                        self._add(pool.record_lost(self.course, self.lab, self.record, student,
                                                   "reason.unreadable_submission", {"error": str(exc)}, 0.0, self.sandbox), total)
                        continue
                    token = secrets.token_hex(8)
                    task = {"student": student, "files": files, "token": token}
                    future = self.client.submit(grade_remote, self.run_id, task, key=f"grade-{self.lab}-{student}-{token}",
                                                pure=False)
                    flying[future] = (student, time.monotonic())
                if not flying:
                    continue
                finished = [f for f in flying if f.done()]
                if not finished:
                    time.sleep(0.25)
                for future in finished:
                    student, handed = flying.pop(future)
                    self._finish(future, student, time.monotonic() - handed, total)
                if time.monotonic() - last_look > 5:  # is anyone still there to grade?
                    last_look = time.monotonic()
                    if self.client.status in ("closing", "closed"):
                        raise GraderError("the connection to the Dask scheduler was lost; what was not graded yet reads "
                                          "'grading was interrupted': run again once the scheduler is back")
                    workers = self.client.scheduler_info().get("workers", {})
                    self.slots = sum(w.get("nthreads", 1) for w in workers.values()) or self.slots
                    alone_since = None if workers else (alone_since or time.monotonic())
                    if alone_since and time.monotonic() - alone_since > WORKER_START_TIMEOUT:
                        raise GraderError(f"no Dask worker has been connected for {WORKER_START_TIMEOUT:.0f} s; "
                                          f"{len(pending) + len(flying)} submission(s) were not graded "
                                          f"('grading was interrupted'): start workers and run again")
        finally:
            if flying:
                self.client.cancel(list(flying))
        return self.done

    def _add(self, summary: dict, total: int) -> None:
        from grader import pool

        self.done.append(summary)
        pool.print_progress(self.out, summary, len(self.done), total)

    def _finish(self, future, student: str, seconds: float, total: int) -> None:
        from distributed.scheduler import KilledWorker

        from grader import pool

        if future.status == "cancelled":
            raise GraderError(f"the Dask scheduler dropped the grading of {student} (was it restarted?); what was not "
                              f"graded yet reads 'grading was interrupted': run again")
        if future.status == "error":
            exc = future.exception()
            if isinstance(exc, KilledWorker):  # Dask gave it to worker after worker, and each was lost
                key, status = "reason.worker_lost", NOT_GRADED
            else:  # our bug, or a worker that cannot run our code: never the student's 0
                key, status = "reason.internal", NEEDS_REGRADE
            self._add(pool.record_lost(self.course, self.lab, self.record, student, key, {"error": _one_line(exc)},
                                       seconds, self.sandbox, status=status), total)
            return
        answer = future.result()
        kind = answer["kind"]
        if kind == "failed":
            raise GraderError(f"the grading process on the Dask worker {answer['worker']} could not start: "
                              f"{answer['error']} (its log on that machine: {answer['log']}); fix that machine or "
                              f"stop its worker, then run again")
        if kind == "unfit":
            raise GraderError(f"the Dask worker {answer['worker']} cannot grade this run: {answer['why']}; "
                              f"fix that machine or stop its worker, then run again")
        if answer["worker"] not in self.known:  # joined during the run
            self.known.add(answer["worker"])
            if answer["sandbox"] == "none" and self.mode != "none":
                self.out(pool.sandbox_line(False, f"on {answer['worker']}, which joined during the run"))
        if kind == "done":
            summary = pool.accept(self.course, self.lab, self.inputs, answer["outcome"])
        else:  # "lost": its grading process died or overran, and was killed with its kernel and cloud
            summary = pool.record_lost(self.course, self.lab, self.record, student, answer["key"], answer["params"],
                                       answer["seconds"], answer["sandbox"], worker=answer["worker"])
        self._add({**summary, "worker": answer["worker"]}, total)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__
