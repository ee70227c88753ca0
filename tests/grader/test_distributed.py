"""`grader autograde --scheduler`: the fake lab graded by a local Dask cluster of two separate worker
processes (127.0.0.1 only), as the local pool grades it, with the course written by the main
process alone; a grading process killed mid-run and a whole Dask worker lost mid-run.

The workers are started in another folder, and every Python process on their side (the Dask
workers, their grading processes) runs with an audit hook (a sitecustomize.py put first on their
PYTHONPATH) for which the course directory does not exist: any attempt to open, list, create or
remove something in it fails and is logged. The test checks the log is empty, and that the hook
was really there in those processes.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="Dask's distributed is not installed (the 'test' extra has it)")

from grader.cli import main  # noqa: E402
from grader.distributed import busy  # noqa: E402
from grader.results import GRADED, NOT_GRADED  # noqa: E402
from grader.sandbox import probe  # noqa: E402
from tests.grader import fakelab  # noqa: E402
from tests.grader.conftest import copy_course, student_version, submit  # noqa: E402
from tests.grader.test_autograde_fakelab import EXPECTED  # noqa: E402  (what the local pool gives)

LAB = fakelab.LAB_ID
CASES = ("good", "partial", "untouched", "kills_kernel", "malformed_json")
KILLED, LOST = "a_killed_grading_process", "a_lost_dask_worker"  # first in the queue: graded while both workers are fresh

GUARD = '''\
"""Test only (tests/grader/test_distributed.py): the course directory does not exist here."""
import os, sys

ROOT = os.environ.get("GRADER_TEST_FORBIDDEN")
if ROOT:
    LOG = os.environ["GRADER_TEST_TOUCHES"]
    EVENTS = {"open", "os.listdir", "os.scandir", "os.mkdir", "os.remove", "os.rmdir", "os.rename", "os.chmod",
              "os.chown", "os.utime", "os.truncate", "os.link", "os.symlink", "os.chdir", "shutil.copyfile",
              "shutil.copytree", "shutil.rmtree", "shutil.move", "glob.glob", "os.walk", "os.exec", "os.posix_spawn",
              "subprocess.Popen"}

    def _forbidden(arg):
        if isinstance(arg, (list, tuple)):
            return next((f for f in map(_forbidden, arg) if f), None)
        if isinstance(arg, (str, bytes, os.PathLike)):
            try:
                path = os.path.abspath(os.fsdecode(arg))
            except (TypeError, ValueError):
                return None
            if path == ROOT or path.startswith(ROOT + os.sep):
                return path
        return None

    def _hook(event, args):
        if event in EVENTS:
            path = next((f for f in map(_forbidden, args) if f), None)
            if path:
                with open(LOG, "a") as log:
                    log.write(f"{os.getpid()} {event} {path}\\n")
                raise FileNotFoundError(2, "No such file or directory", path)

    sys.addaudithook(_hook)
    with open(LOG + ".hooked", "a") as hooked:
        hooked.write(f"{os.getpid()} {' '.join(sys.orig_argv)[:300]}\\n")
'''


def _slow(nb: dict) -> dict:
    """Seconds more of running: time to see it being graded (busy() shows it from the start)."""
    nb = copy.deepcopy(nb)
    nb["cells"].insert(2, {"cell_type": "code", "id": "slow", "metadata": {}, "outputs": [],
                           "execution_count": None, "source": "import time\ntime.sleep(3)"})
    return nb


@pytest.fixture(scope="module")
def cluster_run(fake_course_template, tmp_path_factory):
    base = tmp_path_factory.mktemp("distributed")
    course = copy_course(fake_course_template, base / "course")
    en = student_version(course, "en")
    cases = fakelab.submissions(en)
    for name in CASES:
        submit(course, name, cases[name])
    submit(course, KILLED, _slow(fakelab.answered(en)))
    submit(course, LOST, _slow(fakelab.answered(en)))

    guard = base / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    touches = base / "touches.log"
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [str(guard), os.environ.get("PYTHONPATH")])),
                      GRADER_TEST_FORBIDDEN=str(course.root.resolve()), GRADER_TEST_TOUCHES=str(touches))
    os.chdir(elsewhere)  # the worker processes start here, not where the course or the tests are
    try:
        with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                      scheduler_port=0, dashboard_address=None, local_directory=str(elsewhere),
                                      silence_logs=40) as cluster, \
                distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
            os.chdir(saved_cwd)
            client.wait_for_workers(2, timeout=60)
            started = time.monotonic()
            outcome: dict = {}

            def grade():
                buffer = io.StringIO()
                with contextlib.redirect_stdout(buffer):
                    outcome["code"] = main(["autograde", LAB, "--course", str(course.root), "--timeout", "4",
                                            "--scheduler", cluster.scheduler_address])
                outcome["lines"] = buffer.getvalue().splitlines()

            thread = threading.Thread(target=grade, daemon=True)
            thread.start()
            killed: dict = {}
            while thread.is_alive() and len(killed) < 2:
                for now in client.run(busy).values():
                    if KILLED in now and KILLED not in killed:  # the grading process, not its Dask worker
                        os.kill(now[KILLED]["pid"], signal.SIGKILL)
                        killed[KILLED] = now[KILLED]
                    # then the whole Dask worker (its nanny starts another); after, as client.run(busy)
                    # waits for a worker that is gone
                    if LOST in now and LOST not in killed and KILLED in killed:
                        os.kill(now[LOST]["worker_pid"], signal.SIGKILL)
                        killed[LOST] = now[LOST]
                time.sleep(0.2)
            thread.join(timeout=180)
            assert not thread.is_alive(), "the run did not end"
            seconds = time.monotonic() - started
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return course, outcome, killed, touches, seconds


def results_of(course, student) -> dict:
    return json.loads(course.results_file(student, LAB).read_text())


def test_the_run_ends_well_and_prints_what_the_local_pool_prints(cluster_run):
    course, outcome, killed, _, seconds = cluster_run
    lines = outcome["lines"]
    assert outcome["code"] == 0, "\n".join(lines)
    assert set(killed) == {KILLED, LOST}, "the test did not see both submissions being graded"
    assert any(line.startswith("Sandbox: ") if probe()[0] else line.startswith("WARNING: grading WITHOUT a sandbox")
               for line in lines), lines
    assert any(re.match(r"Autograding 7 submission\(s\) of fakelab with 2 grading slot\(s\) on 2 Dask worker\(s\) at "
                        r"tcp://127\.0\.0\.1:\d+; 4 s per cell", line) for line in lines), lines
    progress = [line for line in lines if re.match(r"\[\d/7\] ", line)]
    assert [int(line[1]) for line in progress] == list(range(1, 8)), lines
    assert any(line.startswith("[") and "good: graded 4/4 (" in line for line in progress), lines
    assert any(f"{KILLED}: NOT GRADED - the grading process died" in line for line in progress), lines
    assert any(line.startswith("Done in ") and "4 graded, 3 not graded, 0 need a regrade" in line for line in lines), lines
    assert any(line.startswith("Graded by: ") for line in lines), lines
    print("\n".join(lines))
    print(f"distributed run of 7 submissions: {seconds:.1f} s")


@pytest.mark.parametrize("case", CASES)
def test_same_status_and_score_as_the_local_pool(cluster_run, case):
    course = cluster_run[0]
    res = results_of(course, case)
    status, score, text = EXPECTED[case]
    assert (res["status"], res["score"]) == (status, score), res["reason"]
    assert text in res["reason"] + " ".join(n["text"] for n in res["notes"])


def test_each_result_says_which_worker_graded_it_and_whether_in_a_sandbox(cluster_run):
    course = cluster_run[0]
    sandbox = "bubblewrap" if probe()[0] else "none"
    for case in ("good", "partial", "untouched", "kills_kernel", KILLED, LOST):
        res = results_of(course, case)
        assert re.fullmatch(r".+ \(tcp://127\.0\.0\.1:\d+\)", res.get("worker", "")), (case, res.get("worker"))
        assert res["sandbox"] == sandbox


def test_a_killed_grading_process_is_reported_and_a_lost_dask_worker_is_retried(cluster_run):
    course = cluster_run[0]
    killed = results_of(course, KILLED)
    assert killed["status"] == NOT_GRADED and killed["score"] is None
    assert killed["reason_key"] == "reason.worker_died" and killed["reason_params"] == {"code": -signal.SIGKILL}
    lost = results_of(course, LOST)  # Dask gave it to another worker, which graded it
    assert (lost["status"], lost["score"]) == (GRADED, 4), lost["reason"]


def test_the_main_process_alone_wrote_the_course(cluster_run):
    course, _, _, touches, _ = cluster_run
    assert not touches.exists(), f"a worker process touched the course: {touches.read_text()}"
    hooked = Path(f"{touches}.hooked").read_text().splitlines()
    # the two Dask workers, the one started after the lost one, and their grading processes
    assert sum("grader.worker import main" in line for line in hooked) >= 3, hooked
    assert sum("multiprocessing" in line or "spawn" in line for line in hooked) >= 2, hooked
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        assert gb.find_submission(LAB, "good").score == 4
        assert gb.find_submission(LAB, "partial").score == 2
    assert (course.autograded("good", LAB) / f"{LAB}.ipynb").is_file()


def test_the_limits_are_the_local_pools():
    from grader import distributed as on_cluster
    from grader import pool

    assert on_cluster.WORKER_START_TIMEOUT == pool.WORKER_START_TIMEOUT
    assert on_cluster.DEADLINE_MARGIN == pool.DEADLINE_MARGIN


class _Gone:  # what KilledWorker names: the last worker that died running the task
    address = "tcp://10.0.0.7:40000"


class _Finished:
    def __init__(self, status: str, exception=None, result=None):
        self.status, self._exception, self._result = status, exception, result

    def exception(self):
        return self._exception

    def result(self):
        return self._result


def _finish(course, future) -> list[str]:
    from grader.distributed import Run

    lines: list[str] = []
    run = Run(None, course, LAB, {"record": course.record(LAB)}, "run", {}, "auto", lines.append)
    run._finish(future, "kim", 12.0, 1)
    return lines


def test_a_submission_whose_every_worker_was_lost_is_not_graded_with_the_reason(fake_course):
    from distributed.scheduler import KilledWorker

    submit(fake_course, "kim", fakelab.answered(student_version(fake_course)))
    lines = _finish(fake_course, _Finished("error", KilledWorker("grade-fakelab-kim-1", _Gone(), 3)))
    res = results_of(fake_course, "kim")
    assert (res["status"], res["score"], res["reason_key"]) == (NOT_GRADED, None, "reason.worker_lost")
    assert "4 different workers" in res["reason"] and "tcp://10.0.0.7:40000" in res["reason"]
    assert lines == [f"[1/1] kim: NOT GRADED - {res['reason']} (12.0 s)"]


def test_our_own_failure_on_a_worker_asks_for_a_regrade(fake_course):
    submit(fake_course, "kim", fakelab.answered(student_version(fake_course)))
    _finish(fake_course, _Finished("error", AttributeError("'NoneType' object has no attribute 'send'")))
    res = results_of(fake_course, "kim")
    assert (res["status"], res["reason_key"]) == ("needs regrade", "reason.internal")
    assert "AttributeError" in res["reason"]


@pytest.mark.parametrize("answer, says", [
    ({"kind": "failed", "worker": "lab7 (tcp://10.0.0.8:1)", "error": "ImportError: no nbgrader", "log": "/tmp/x.log"},
     "the grading process on the Dask worker lab7 (tcp://10.0.0.8:1) could not start: ImportError: no nbgrader"),
    ({"kind": "unfit", "worker": "lab7 (tcp://10.0.0.8:1)", "why": "no sandbox there (bwrap is not installed)"},
     "the Dask worker lab7 (tcp://10.0.0.8:1) cannot grade this run: no sandbox there"),
])
def test_a_worker_that_cannot_grade_stops_the_run_with_its_name(fake_course, answer, says):
    from grader.errors import GraderError

    with pytest.raises(GraderError, match=re.escape(says)):
        _finish(fake_course, _Finished("finished", result=answer))
