"""Grading one submission, inside a long-lived worker process (see pool.py) or a worker of a
distributed engine (distributed.py). The worker works in a private scratch nbgrader course made
from the run's inputs (inputs.py); it never touches the instructor's course directory.

For each submission (a task: student, the submission folder as bytes, a token):
  1. read the notebook as JSON before anything (malformed -> not graded, with the reason);
  2. start a private local cloud (own home, free port) and, in a sandbox, the relay to it;
  3. run nbgrader's autograde in-process on the scratch course, the kernel in the submission's
     sandbox (grader/sandbox: it sees no course, no grader files, no other process or cloud), its
     environment pointing at that cloud (LABKIT_MANAGED=1, LABKIT_LANG from the notebook);
  4. decide nbgrader's outcome from what the run recorded (nbexec.RUN) and nbgrader's result;
  5. run the lab's checks HERE, with fresh boto3 clients on that cloud: whatever the notebook
     redefined or monkeypatched lived in its kernel, another process, now gone;
  6. a deleted test cell is noted and flagged for the instructor; the step still earns what the
     cloud shows (the checks never ran in the kernel); an edited one is noted (nbgrader restored it);
  7. return the verdict, the autograded folder and the grade cells' scores: the main process
     alone writes them into the course (collect.py);
  8. stop the cloud, remove the job's folders.
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

ON_CLOUD_START = None  # set by the worker process: callable(pid), so the pool can stop it if we die
RETRYABLE = ("database is locked", "Kernel didn't respond", "Address already in use")


class WorkerState:
    """What a worker sets up once, from the run's inputs (grader/inputs.py, read by the main
    process before any student code ran): a private scratch nbgrader course, nbgrader's API on
    it, the lab's checks (imported before any student code runs), whether kernels are sandboxed.
    The worker never reads or writes the instructor's course directory."""

    def __init__(self, inputs: dict, timeout: int = DEFAULT_TIMEOUT, notebook_timeout: int = DEFAULT_NOTEBOOK_TIMEOUT,
                 max_output: int = MAX_OUTPUT_BYTES, sandbox: bool = True, scratch: str | None = None):
        import tempfile

        from nbconvert.preprocessors import ClearMetadataPreprocessor
        from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput

        from grader import inputs as run_inputs
        from grader.labs import get_lab
        from grader.sandbox.kernel import SandboxedKernelManager

        self.inputs = inputs
        self.lab = inputs["lab"]
        self.record = inputs["record"]
        self.scratch = Path(scratch or tempfile.mkdtemp(prefix="nbjob-"))
        self.course = Course(self.scratch / "course")
        self.course.root.mkdir(parents=True, exist_ok=True)
        self.course.config_file.write_text(inputs["config_text"], encoding="utf-8")
        run_inputs.write_files(self.course.source(self.lab), inputs["source_files"])
        checks = inputs.get("checks")
        if inputs.get("checks_source") is not None:
            checks = str(self.scratch / f"checks_{self.lab}.py")
            Path(checks).write_text(inputs["checks_source"], encoding="utf-8")
        self.checks_lab = get_lab(self.lab, checks)
        self.timeout = timeout
        self.notebook_timeout = notebook_timeout
        self.sandbox = sandbox
        self.jobs = 0
        from grader.metadata_schema import use_checked_schemas

        use_checked_schemas()  # nbgrader's cell metadata checks, without re-checking its schema per cell
        self.api = self.course.api(**{
            "Execute.timeout": int(timeout),
            "Execute.shutdown_kernel": "immediate",
            "Execute.interrupt_on_timeout": True,
            "GuardedExecute.notebook_timeout": int(notebook_timeout),
            "GuardedExecute.max_output_bytes": int(max_output),
            "GuardedExecute.kernel_manager_class": SandboxedKernelManager,
            "Autograde.autograde_preprocessors": [
                nbexec.GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                nbexec.GuardedSaveAutoGrades, AssignLatePenalties, CheckCellMetadata],
        })
        # Import everything the checks will need now, while no student code has run; then
        # fingerprint the installation (see integrity.py: what protects it without a sandbox).
        import boto3  # noqa: F401
        from labkit.checks.core import CheckContext  # noqa: F401

        from grader import integrity

        # A fork server's kernels are sandboxed: the installation is read-only to them, so no need
        # to import all of it ahead (~2-3 CPU-s per worker) nor to fingerprint it
        fork_server = sandbox and fork_server_wanted()
        if not fork_server:
            integrity.import_everything()
        extra = [checks] if checks and checks.endswith(".py") else []
        self.watched = [] if fork_server else integrity.roots(extra) + integrity.site_files()
        self.fingerprint = {} if sandbox else integrity.snapshot(self.watched)
        self.tampered: list[str] = []
        self.template = None
        # the fork server (grader/sandbox/template.py): the commands' zygotes forked into each
        # sandbox from templates made here, before any submission; on unless turned off
        self.fork_server = fork_server
        self.cli = {}
        self.cli_failed: set[str] = set()
        self.clouds, self.clouds_off = None, os.environ.get("GRADER_CLOUD_TEMPLATE", "1") == "0"
        self.kernel_template()
        self.cli_templates()
        self.cloud_template()

    def kernel_template(self):
        """The worker's kernel template (grader/sandbox/template.py), started again if it ended;
        None without a sandbox, with GRADER_KERNEL_TEMPLATE=0, or where it cannot start (kernels
        are then started the plain way, in the same sandbox)."""
        if not self.sandbox or os.environ.get("GRADER_KERNEL_TEMPLATE", "1") == "0":
            return None
        if self.template is not None and self.template.alive():
            return self.template
        from grader.sandbox.bwrap import sandbox_environment
        from grader.sandbox.template import KernelTemplate, TemplateUnavailable

        env = sandbox_environment(os.environ)
        env.update(HOME="/nonexistent", TMPDIR="/tmp")  # the kernel gets its own at the fork
        try:
            self.template = KernelTemplate(env)
        except (OSError, TemplateUnavailable) as exc:
            print(f"kernel template unavailable, kernels start the plain way: {exc}", flush=True)
            self.template = None
        return self.template


    def cloud_extra_env(self) -> dict[str, str]:
        """What every cloud of this worker has in its environment besides the worker's own.
        LABKIT_CLOUD_WARM_UP=0: moto is imported on the first request that needs it, not at start
        (0.6 CPU-s per submission; lab 02 and its checks use labkit's ECR alone); where submissions
        are sandboxed, so is every container the cloud runs for them (LABKIT_RUNTIME_ISOLATION=bwrap:
        a container never runs as a plain process there)."""
        extra = {"LABKIT_CLOUD_WARM_UP": "0"}
        if self.sandbox:
            extra["LABKIT_RUNTIME_ISOLATION"] = "bwrap"
        return extra

    def cloud_template(self):
        """The worker's cloud template (labkit/cloud/template.py: the cloud's code imported once,
        each submission's cloud forked from it), started again if it ended; None with
        GRADER_CLOUD_TEMPLATE=0, for a lab without a cloud, or where it cannot start (clouds are then
        started the plain way)."""
        if self.clouds_off or not getattr(self.checks_lab, "cloud", True):
            return None
        if self.clouds is not None and self.clouds.alive():
            return self.clouds
        from labkit.cloud.process import CloudStartError, CloudTemplate

        try:
            self.clouds = CloudTemplate(dict(os.environ, **self.cloud_extra_env()))
        except (OSError, CloudStartError) as exc:
            print(f"cloud template unavailable, clouds start the plain way: {exc}", flush=True)
            self.clouds = None
        return self.clouds

    def cli_templates(self) -> dict | None:
        """The fork server's command templates (`aws`, `labkit`: their zygotes warmed, see
        labkit/fastcli/zygote.py Prepared), each started again if it ended; None when off. A
        command whose template cannot start is left to the kernel's own zygote."""
        if not self.fork_server:
            return None
        from labkit.fastcli.launcher import COMMANDS, interpreter_of

        from grader.sandbox.bwrap import sandbox_environment
        from grader.sandbox.template import KernelTemplate, TemplateUnavailable

        # What every kernel of this worker has where the zygotes' start-up and imports read it:
        # each job of a fork server has the same folders (Job.STABLE), so the same HOME and gcloud
        # folder (google.auth reads CLOUDSDK_CONFIG at import). A zygote whose kernel differs
        # anyway is refused by the kernel's launcher, which starts its own (labkit/fastcli/zygote.py).
        job = Job.paths(self.scratch, Job.STABLE)
        env = sandbox_environment(os.environ)
        env.update(HOME=str(job.home), TMPDIR="/tmp", CLOUDSDK_CONFIG=str(job.labkit / "gcloud"))
        for name in COMMANDS:
            running = self.cli.get(name)
            if name in self.cli_failed or (running is not None and running.alive()):
                continue
            script = shutil.which(name, path=env["PATH"])
            interpreter = interpreter_of(script) if script else None
            if interpreter is None:
                self.cli_failed.add(name)
                continue
            try:
                self.cli[name] = KernelTemplate(env, command=(name, script, interpreter))
            except (OSError, TemplateUnavailable) as exc:
                print(f"{name} template unavailable, kernels start their own zygote: {exc}", flush=True)
                self.cli.pop(name, None)
                self.cli_failed.add(name)
        return {name: t for name, t in self.cli.items() if t.alive()}


def fork_server_wanted() -> bool:
    """On unless `grader autograde --no-fork-server` (GRADER_FORK_SERVER=0)."""
    return os.environ.get("GRADER_FORK_SERVER", "1") != "0"


class Job:
    """One submission's private folders inside the worker's scratch (see grader/sandbox):
    cloud/ (the cloud's home, never visible to the kernel), run/ (the kernel's cwd), home/ and
    tmp/ (its HOME and /tmp), labkit/ (its LABKIT_HOME: docker logins and images, which the checks
    read), kernel/ (its ZeroMQ sockets), cloud.sock (the relay to its cloud)."""

    STABLE = 0  # the one job number of a fork server's worker: every job at the same paths

    def __init__(self, scratch: Path, number: int, create: bool = True):
        self.root = Path(scratch) / f"job-{number}"
        self.cloud, self.run, self.home = self.root / "cloud", self.root / "run", self.root / "home"
        self.tmp, self.labkit, self.kernel = self.root / "tmp", self.root / "labkit", self.root / "kernel"
        if not create:
            return
        if self.root.exists():  # a previous job's, all of whose processes have ended
            shutil.rmtree(self.root, ignore_errors=True)
        for folder in (self.cloud, self.run, self.home, self.tmp, self.labkit, self.kernel):
            folder.mkdir(parents=True)
        self.root.chmod(0o700)

    @classmethod
    def paths(cls, scratch: Path, number: int) -> "Job":
        return cls(scratch, number, create=False)

    @property
    def socket(self) -> Path:
        return self.root / "cloud.sock"

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


# -- one submission ----------------------------------------------------------------------------------

def grade(state: WorkerState, task: dict) -> dict:
    """Grade the submission in `task` (student, files: its submission folder as bytes, token).
    Returns {"results", "files" (the autograded folder), "grades" (grade cell -> score) or None}:
    what the main process writes into the course. Never raises for a submission's doing."""
    started = time.monotonic()
    course, lab, rec = state.course, state.lab, state.record
    student, notebook = task["student"], rec["notebook"]
    res = results.new(lab, student, notebook, rec["max_score"])
    res["inputs"] = state.inputs["digest"]
    res["sandbox"] = "bubblewrap" if state.sandbox else "none"
    outcome = {"results": res, "files": {}, "grades": None}
    timing = res["timing"]
    cloud = relay = None
    state.jobs += 1
    job = Job(state.scratch, Job.STABLE if state.fork_server else state.jobs)
    try:
        from grader import inputs as run_inputs

        submitted_dir = course.submitted(student, lab)
        run_inputs.write_files(submitted_dir, task["files"])
        for stale in (course.autograded(student, lab), course.feedback(student, lab)):
            shutil.rmtree(stale, ignore_errors=True)
        nb_path = submitted_dir / f"{notebook}.ipynb"
        if not nb_path.is_file():
            found = sorted(p.name for p in submitted_dir.glob("*.ipynb"))
            results.set_status(res, NOT_GRADED, "reason.missing_notebook", notebook=nb_path.name,
                               found=", ".join(found) or "nothing")
            return outcome
        try:
            submitted = nbtools.load_submission(nb_path)
        except nbtools.BadNotebook as bad:
            results.set_status(res, NOT_GRADED, bad.key, error=bad.error)
            return outcome
        res["language"] = nbtools.language(submitted)
        _fresh_gradebook(state)

        t = time.monotonic()
        token = task.get("token") or secrets.token_hex(8)
        task["token"] = token
        try:
            if getattr(state.checks_lab, "cloud", True):
                cloud, relay = _start_cloud(state, job, token)
            else:  # a lab whose checks read the notebook alone (Lab(cloud=False): labs 07, 08)
                cloud = _NoCloud()
        except Exception as exc:
            results.set_status(res, NEEDS_REGRADE, "reason.cloud_start", error=_one_line(exc))
            return outcome
        timing["cloud_start"] = round(time.monotonic() - t, 3)
        res["cloud"] = {"port": cloud.port}

        t = time.monotonic()
        before = state.fingerprint
        run = _run_nbgrader(state, student, submitted, res["language"], job, cloud.port, task["token"],
                            relay=relay is not None)
        timing["nbgrader"] = round(time.monotonic() - t, 3)
        res["nbgrader"] = {"success": run["success"], "log_tail": run["log_tail"]}
        for note in run["notes"]:
            results.add_note(res, note[0], **note[1])

        from grader import integrity

        # in a sandbox the installation is read-only to the kernel: nothing to compare
        edited = [] if state.sandbox else integrity.changed(before, _refresh(state))
        if edited:  # the checks about to run could be this notebook's: do not trust them
            state.tampered.extend(edited)
            res["tampered_files"] = edited
            results.set_status(res, NOT_GRADED, "reason.tampered_files", files=", ".join(edited[:5])
                               + (f" (+{len(edited) - 5} more)" if len(edited) > 5 else ""))
            return outcome

        t = time.monotonic()
        _check(state, res, submitted, cloud, job.labkit)
        timing["checks"] = round(time.monotonic() - t, 3)
        _moto_for_later(state, cloud)

        if run["status"] != GRADED:
            res["provisional_score"] = res["score"]
            results.set_status(res, run["status"], run["key"], **run["params"])
        else:
            outcome["files"] = _autograded_files(state, student)
            outcome["grades"] = _grades(state, student, res)
        return outcome
    except Exception as exc:  # our bug: never the student's zero, never the end of the run
        results.set_status(res, NEEDS_REGRADE, "reason.internal", error=_one_line(exc))
        res["traceback"] = traceback.format_exc()[-4000:]
        outcome["files"], outcome["grades"] = {}, None
        return outcome
    except KeyboardInterrupt:
        results.set_status(res, NOT_GRADED, "reason.interrupted")
        raise
    finally:
        if relay is not None:
            relay.close()
        if cloud is not None and cloud.pid:
            _stop_cloud(cloud)
        job.remove()
        shutil.rmtree(course.root / "submitted", ignore_errors=True)
        timing["total"] = round(time.monotonic() - started, 3)


def _start_cloud(state: WorkerState, job: Job, token: str):
    """The submission's private cloud and, in a sandbox, the relay to it: (cloud, relay or None)."""
    from labkit.cloud.process import start_cloud

    # the cloud carries a mark of its own: a pool whose worker died before reporting the cloud
    # still finds it (kill_leftovers(..., clouds=True)); one forked from the worker's cloud template
    # has the template's /proc environment instead, and ends with the template, which ends with
    # the worker. Owned by this worker either way: a worker killed midway leaves no cloud behind
    # (labkit/cloud/owner.py)
    extra = {"GRADER_CLOUD": token, **state.cloud_extra_env()}
    template = state.cloud_template()
    cloud = start_cloud(job.cloud, port=None, extra_env=extra, owner=os.getpid(), template=template)
    cloud.template = template  # who can say how it ended (not this worker's child when forked)
    if ON_CLOUD_START is not None:
        ON_CLOUD_START(cloud.pid)
    if not state.sandbox:
        return cloud, None
    from grader.sandbox.relay import serve_outside

    try:
        return cloud, serve_outside(str(job.socket), cloud.port)
    except Exception:
        _stop_cloud(cloud)
        raise


class _NoCloud:
    """A lab whose record says it needs no cloud (its checks read the notebook alone): nothing is
    started for it (~0.3-0.5 CPU-s and 0.2 s per submission). Its kernel's environment still names
    a port, where nothing listens (none in its sandbox: no relay), as a stopped cloud would be."""

    pid = 0

    def __init__(self):
        from labkit.cloud.process import free_port
        from labkit.config import HOST

        self.port = free_port()
        self.endpoint = f"http://{HOST}:{self.port}"

    def healthy(self, timeout: float = 1.0) -> bool:
        return True  # the checks never ask it


def _moto_for_later(state: WorkerState, cloud) -> None:
    """A lab whose cloud needed moto (its import: ~0.6-1.9 CPU-s) has it imported once in the cloud
    template, for the worker's next clouds (moto's state is made per cloud, after the fork)."""
    template = state.clouds
    if template is None or template.moto or not cloud.pid:
        return
    from labkit.cloud.process import health

    info = health(cloud.port, timeout=1.0)
    if info and info.get("moto_loaded"):
        try:
            template.preload_moto()
        except Exception as exc:  # its clouds import moto themselves, as before
            print(f"cloud template: moto not preloaded: {exc}", flush=True)
            state.clouds, state.clouds_off = None, True  # this worker's next clouds start the plain way


def _refresh(state: WorkerState) -> dict:
    from grader import integrity

    state.fingerprint = integrity.snapshot(state.watched)
    return state.fingerprint


MAX_AUTOGRADED_BYTES = 20_000_000


def _autograded_files(state: WorkerState, student: str) -> dict[str, bytes]:
    root = state.course.autograded(student, state.lab)
    files, total = {}, 0
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
            if total > MAX_AUTOGRADED_BYTES:
                break
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def _fresh_gradebook(state: WorkerState) -> None:
    """Every submission starts from the run's template gradebook (assignments, no students)."""
    db = state.course.db_path
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            Path(f"{db}{suffix}").unlink()
        except FileNotFoundError:
            pass
    db.write_bytes(state.inputs["gradebook"])


def _grades(state: WorkerState, student: str, res: dict) -> dict:
    """What nbgrader's autograde recorded in the scratch gradebook, with each step's grade cell
    holding the checks' points: grade cell -> {auto_score, needs_manual_grade}, comments, the
    submission's timestamp and late penalty. The main process copies it into the course's."""
    from nbgrader.api import Gradebook, MissingEntry

    steps = {s["id"]: s for s in res["steps"]}
    out = {"grades": {}, "comments": {}, "timestamp": None, "late_penalty": None}
    with Gradebook(state.course.db_url) as gb:
        try:
            submission = gb.find_submission(state.lab, student)
        except MissingEntry:
            return out
        out["timestamp"] = submission.timestamp.isoformat() if submission.timestamp else None
        for nb in submission.notebooks:
            if nb.name != state.record["notebook"]:
                continue
            out["late_penalty"] = nb.late_submission_penalty
            for grade in nb.grades:
                entry = {"auto_score": grade.auto_score, "needs_manual_grade": bool(grade.needs_manual_grade)}
                step = steps.get(grade.name)
                if step is not None:
                    entry["auto_score"] = min(step["earned"], float(grade.max_score))
                    entry["needs_manual_grade"] = bool(step["infra"]) or step.get("test_cell") == "deleted"
                out["grades"][grade.name] = entry
            for comment in nb.comments:
                out["comments"][comment.name] = comment.auto_comment
    return out


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


def _killed_by(pid: int) -> int | None:
    """The signal that ended our child process `pid`, if it ended by one."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    if done and os.WIFSIGNALED(status):
        return os.WTERMSIG(status)
    return None


def kill_leftovers(token: str, clouds: bool = False) -> int:
    """Kill what the notebook left running (`!nohup ... &`, a forked daemon): every process whose
    environment carries this submission's token (and, with `clouds`, its cloud if it was started
    the plain way; one forked from the worker's cloud template has the template's /proc environment
    and ends with the template, which ends with its worker: tests/grader/test_cloud_template.py).
    Returns how many."""
    import psutil

    killed = 0
    me = os.getpid()
    keys = ("GRADER_SUBMISSION", "GRADER_CLOUD") if clouds else ("GRADER_SUBMISSION",)
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == me:
            continue
        try:
            env = proc.environ()
            if any(env.get(key) == token for key in keys):
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


def _run_nbgrader(state: WorkerState, student: str, submitted: dict, lang: str, job: Job, port: int,
                  token: str, relay: bool = True) -> dict:
    """nbgrader autograde with the kernel pointed at this submission's cloud (in its sandbox when
    the machine has one); the outcome decided from what GuardedExecute recorded, not from
    guessing at a 0."""
    from labkit.config import Settings
    from labkit.env import apply, cloud_environment

    from grader.sandbox import kernel as sandboxed
    from grader.sandbox.bwrap import Sandbox

    saved = dict(os.environ)
    if state.sandbox:
        sandboxed.SANDBOX = Sandbox(job.root, writable=[job.run, job.labkit, job.kernel], home=job.home,
                                    tmp=job.tmp, relay=(port, job.socket) if relay else None)
        sandboxed.KERNEL_DIR = str(job.kernel)
        sandboxed.TEMPLATE = state.kernel_template()
        sandboxed.CLI_TEMPLATES = state.cli_templates() if sandboxed.TEMPLATE is not None else None
    nbexec.RUN_DIR = str(job.run)
    try:
        apply(cloud_environment(Settings(home=job.labkit, aws_port=port, managed=True)), os.environ)
        os.environ["LABKIT_MANAGED"] = "1"
        os.environ["LABKIT_LANG"] = lang
        for key in ("LABKIT_CONTROL_TOKEN", "LABKIT_BASE_HOME", "LABKIT_LAB"):
            os.environ.pop(key, None)
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
        sandboxed.SANDBOX = sandboxed.KERNEL_DIR = sandboxed.TEMPLATE = sandboxed.CLI_TEMPLATES = nbexec.RUN_DIR = None
        # in a sandbox, nothing outlives the kernel (its process namespace ends with it): the
        # leftovers were counted before the kernel was killed (nbexec)
        left = run.get("leftovers", 0) if state.sandbox else kill_leftovers(token)

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


def _check(state: WorkerState, res: dict, submitted: dict, cloud, home: Path) -> None:
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
        signal_number = (cloud.template.signal_of(cloud.pid) if getattr(cloud, "template", None) is not None
                         else _killed_by(cloud.pid))
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
        if cells[step.id] == "deleted":  # the checks read the cloud: the work still counts
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
        state = state_from(options)
    except BaseException as exc:
        conn.send(("failed", _one_line(exc), traceback.format_exc()))
        return
    global ON_CLOUD_START
    nbexec.ON_KERNEL_START = lambda pid: conn.send(("kernel", pid))
    ON_CLOUD_START = lambda pid: conn.send(("cloud", pid))  # noqa: E731
    conn.send(("ready", os.getpid(), str(state.scratch)))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            break
        if task is None:
            break
        print(f"--- grading {task['student']}", flush=True)
        outcome = grade(state, task)
        try:
            conn.send(("done", outcome))
        except (BrokenPipeError, EOFError, OSError):  # the run itself is gone (killed): nothing to write to
            break
        sys.stdout.flush()
    shutil.rmtree(state.scratch, ignore_errors=True)


def state_from(options: dict) -> WorkerState:
    return WorkerState(options["inputs"], options.get("timeout", DEFAULT_TIMEOUT),
                       options.get("notebook_timeout", DEFAULT_NOTEBOOK_TIMEOUT),
                       options.get("max_output", MAX_OUTPUT_BYTES), sandbox=options.get("sandbox", False))


def summary(res: dict) -> dict:
    return {k: res.get(k) for k in ("student", "lab", "status", "reason", "score", "max_score", "language",
                                    "timing", "provisional_score", "tampered_files", "sandbox")} | \
        {"notes": [n["text"] for n in res["notes"]]}
