"""nbgrader's Execute preprocessor with the guards a class of real submissions needs.

`GuardedExecute` replaces `Execute` in the autograde pipeline (`grader.worker` configures
`Autograde.autograde_preprocessors`); everything else in nbgrader's pipeline is unchanged.

- a deadline for the whole notebook: past it, the kernel's process group is killed, nbclient
  raises DeadKernelError and the run is reported as a timeout, not as a crash;
- a byte cap per cell on outputs *while they arrive*, so a cell printing gigabytes cannot fill
  the worker's memory (nbgrader's LimitOutput only counts lines, after the fact); an error's
  evalue and traceback lines are cut to the same cap (and kept: never dropped);
- leftovers of the kernel's process group (e.g. a background `sleep`) are killed at the end;
- (GuardedSaveAutoGrades) a test cell whose output claims more points than the cell is worth
  no longer makes nbgrader drop the whole submission;
- what happened is recorded in `RUN` (kernel pid, current cell, interrupted cells, truncated
  cells), which the worker reads instead of guessing from nbgrader's log.
"""
from __future__ import annotations

import os
import signal
import threading
import time

from jupyter_core.utils import run_sync
from nbformat.v4 import new_output
from traitlets import Integer

from nbgrader.preprocessors import Execute, SaveAutoGrades

RUN: dict = {}
ON_KERNEL_START = None  # set by the worker: callable(pid) -> None
RUN_DIR: str | None = None  # set by the worker: the kernel's cwd (see _run_folder)


def reset_run() -> dict:
    RUN.clear()
    RUN.update(kernel_pid=None, kernel_ready=False, cell=None, timeouts=[], truncated=[],
               notebook_timeout=False, started=None, bogus_scores=[])
    return RUN


def _run_folder(resources: dict | None, run_dir: str) -> dict:
    """The kernel runs in its own folder holding the submission's other files, not in nbgrader's
    autograded folder: that one holds the sanitized notebook with the hidden tests."""
    import shutil
    from pathlib import Path

    resources = dict(resources or {})
    metadata = dict(resources.get("metadata") or {})
    source = Path(metadata.get("path") or ".")
    target = Path(run_dir)
    if source.is_dir():
        for path in source.rglob("*"):
            rel = path.relative_to(source)
            if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb":
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target / rel)
    metadata["path"] = str(target)
    resources["metadata"] = metadata
    return resources


def _sandbox_leftovers(pid: int | None) -> int:
    """Processes still running in a kernel's sandbox besides the sandbox's own (its init, the
    kernel, the relay to its cloud): what the notebook left behind. They end with the sandbox;
    this counts them for the note. 0 when the kernel did not run in a sandbox."""
    from grader.sandbox import kernel as sandboxed

    if not pid or sandboxed.SANDBOX is None:
        return 0
    import psutil

    try:
        inside = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return 0
    own = 0
    for proc in inside:
        try:
            cmdline = proc.cmdline()
        except psutil.Error:
            continue
        if "labkit-fastcli" in " ".join(cmdline) or "labkit.fastcli" in " ".join(cmdline):
            own += 1  # labkit's own command server in the kernel (labkit/fastcli)
        elif cmdline == sandboxed.HOLD or (proc.parent() and proc.parent().ppid() == pid
                                           and any("grader_sandbox_template" in part for part in cmdline)):
            own += 1  # the sandbox's placeholder; a kernel forked in from the template (grader/sandbox/template.py)
        elif proc.ppid() == pid or (cmdline[3:5] == [sandboxed.RELAY_PATH, "inside"] if len(cmdline) > 4 else False):
            own += 1  # bwrap's init; the relay (started before the kernel, with its own marker)
        elif "ipykernel_launcher" in " ".join(cmdline[:3]) and proc.parent() and proc.parent().ppid() == pid:
            own += 1  # the kernel: the init's child
    return max(0, len(inside) - own)


def _kill_group(pid: int | None) -> None:
    if not pid:
        return
    try:
        os.killpg(pid, signal.SIGKILL)  # jupyter_client starts kernels in their own session: pgid == pid
    except (ProcessLookupError, PermissionError):
        pass


def _size(msg: dict) -> int:
    content = msg.get("content", {})
    if msg.get("msg_type") == "stream":
        return len(content.get("text", ""))
    total = 0
    for value in (content.get("data") or {}).values():
        total += len(value) if isinstance(value, str) else len(str(value))
    for line in content.get("traceback") or []:
        total += len(line)
    return total


def _marker(limit: int) -> str:
    return f"\n... output truncated by the grader (more than {limit:,} characters) ...\n"


def _cap_error(content: dict, room: int, limit: int) -> tuple[dict, bool]:
    """An error's evalue and traceback lines cut to the `room` the cell has left, each cut string
    ending with the marker. The traceback is what a page shows, so it spends the room; the evalue
    (its copy in the last line) is cut to the same room on its own."""
    cut = False

    def clip(text, budget: int) -> str:
        nonlocal cut
        text = text if isinstance(text, str) else str(text)
        if len(text) <= budget:
            return text
        cut = True
        return text[:budget] + _marker(limit)

    traceback = []
    left = room
    for line in content.get("traceback") or []:
        kept = clip(line, left)
        left = max(0, left - len(line))
        traceback.append(kept)
    capped = {**content, "evalue": clip(content.get("evalue", ""), room), "traceback": traceback}
    return capped, cut


class GuardedExecute(Execute):
    notebook_timeout = Integer(300, help="Seconds the whole notebook may run; then the kernel is killed.").tag(config=True)
    max_output_bytes = Integer(1_000_000, help="Characters of output a cell may keep; the rest is dropped.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        if not RUN:
            reset_run()
        RUN["started"] = time.monotonic()
        original = (resources or {}).get("metadata", {}).get("path")
        if RUN_DIR is not None:
            resources = _run_folder(resources, RUN_DIR)
        self._out_used: dict[int, int] = {}
        self._timer: threading.Timer | None = None
        try:
            nb, resources = super().preprocess(nb, resources, km)
            if RUN_DIR is not None:  # later steps of nbgrader see its own folder again
                resources.setdefault("metadata", {})["path"] = original
            return nb, resources
        finally:
            if self._timer is not None:
                self._timer.cancel()
            _kill_group(RUN.get("kernel_pid"))

    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(**kwargs)
        provisioner = getattr(self.km, "provisioner", None)
        pid = getattr(provisioner, "pid", None)
        RUN["kernel_pid"] = pid
        if ON_KERNEL_START is not None:
            try:
                ON_KERNEL_START(pid)
            except Exception:
                pass
        remaining = max(1.0, self.notebook_timeout - (time.monotonic() - (RUN.get("started") or time.monotonic())))
        self._timer = threading.Timer(remaining, self._deadline, args=(pid,))
        self._timer.daemon = True
        self._timer.start()

    async def _async_cleanup_kernel(self):
        # before the kernel goes (and its sandbox with everything in it): what did it leave running?
        if "leftovers" not in RUN:
            RUN["leftovers"] = _sandbox_leftovers(RUN.get("kernel_pid"))
        return await super()._async_cleanup_kernel()

    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        RUN["kernel_ready"] = True
        return kc

    # nbclient's synchronous names wrap the base class's coroutines: point them at ours.
    start_new_kernel = run_sync(async_start_new_kernel)
    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def _deadline(self, pid):
        RUN["notebook_timeout"] = True
        _kill_group(pid)

    def preprocess_cell(self, cell, resources, index):
        RUN["cell"] = index
        return super().preprocess_cell(cell, resources, index)

    async def _async_handle_timeout(self, timeout, cell=None):
        RUN["timeouts"].append(RUN.get("cell"))
        return await super()._async_handle_timeout(timeout, cell)

    def _room(self, cell_index: int) -> int:
        return max(0, self.max_output_bytes - self._out_used.get(cell_index, 0))

    def _note_truncated(self, cell_index: int) -> None:
        if cell_index not in RUN["truncated"]:
            RUN["truncated"].append(cell_index)

    def output(self, outs, msg, display_id, cell_index):
        size = _size(msg)
        used = self._out_used.get(cell_index, 0)
        limit = self.max_output_bytes
        if limit >= 0 and msg.get("msg_type") == "error":
            # never dropped: nbgrader appends the reply's uncut error to a cell that shows none
            content, cut = _cap_error(msg["content"], self._room(cell_index), limit)
            self._out_used[cell_index] = used + size
            if cut:
                self._note_truncated(cell_index)
            return super().output(outs, {**msg, "content": content}, display_id, cell_index)
        if limit >= 0 and used + size > limit:
            self._out_used[cell_index] = used + size
            if cell_index not in RUN["truncated"]:
                RUN["truncated"].append(cell_index)
                room = max(0, limit - used)
                if msg.get("msg_type") == "stream" and room:
                    msg = {**msg, "content": {**msg["content"], "text": msg["content"].get("text", "")[:room]}}
                    super().output(outs, msg, display_id, cell_index)
                outs.append(new_output("stream", name="stderr", text=_marker(limit)))
            return None
        self._out_used[cell_index] = used + size
        return super().output(outs, msg, display_id, cell_index)

    def on_cell_executed(self, **kwargs):
        # nbgrader copies the reply's error into the cell when no output shows it (a timeout, an
        # output hook): the copy is capped like any other error output
        reply = kwargs.get("execute_reply")
        limit = self.max_output_bytes
        if limit >= 0 and reply and reply.get("content", {}).get("status") == "error":
            index = kwargs.get("cell_index", RUN.get("cell"))
            content, cut = _cap_error(reply["content"], self._room(index), limit)
            if cut:
                self._note_truncated(index)
            kwargs["execute_reply"] = {**reply, "content": content}
        return super().on_cell_executed(**kwargs)


class GuardedSaveAutoGrades(SaveAutoGrades):
    """nbgrader reads a number a test cell outputs as partial credit and raises if it exceeds the
    cell's points, which drops the whole submission (one `100.0` in a test cell's output is
    enough). Here that cell gets 0 and the run records it; the grader's checks decide the
    steps' scores anyway."""

    def _add_score(self, cell, resources):
        try:
            return super()._add_score(cell, resources)
        except ValueError:
            self.gradebook.db.rollback()
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            grade = self.gradebook.find_grade(grade_id, self.notebook_id, self.assignment_id, self.student_id)
            grade.auto_score = 0.0
            grade.needs_manual_grade = True
            self.gradebook.db.commit()
            if RUN:
                RUN["bogus_scores"].append(grade_id)
