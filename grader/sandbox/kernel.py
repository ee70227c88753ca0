"""A Jupyter kernel manager whose kernel starts inside the submission's sandbox.

The sandbox has no network but its own loopback, so the kernel talks to nbclient over ZeroMQ's
`ipc` transport: unix sockets in the job's kernel folder, the one folder both sides see. The
connection file (with its HMAC key) lives there too. `SANDBOX` is set by the worker for the
submission being graded; None runs the kernel as plain nbgrader would.

With `TEMPLATE` (the worker's grader.sandbox.template.KernelTemplate), the sandbox starts with a
placeholder (HOLD) and the kernel is forked into it from the template's already imported modules
(see template.py); the provisioner's process is then a JoinedKernel.
"""
from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

from grader.sandbox.bwrap import RELAY_INSIDE, Sandbox

SANDBOX: Sandbox | None = None
KERNEL_DIR: str | None = None  # the job's folder for the kernel's sockets and connection file
RELAY_PATH = RELAY_INSIDE
TEMPLATE = None  # the worker's KernelTemplate, or None: the kernel is exec'd in the sandbox
# the worker's command templates (the fork server: name -> KernelTemplate of `aws`/`labkit`'s
# zygote), or None: each is forked into the sandbox before the kernel, which adopts them
CLI_TEMPLATES: dict | None = None
ADOPT_FOLDER = "labkit-fastcli-zygotes"  # in the sandbox's /tmp
HOLD = ["/bin/sleep", "infinity"]  # what the sandbox runs until the kernel joins it
HOLDER_TIMEOUT = 20.0


class JoinedKernel:
    """The worker's handle on a kernel forked into its sandbox: the holder's Popen (killing it ends
    the sandbox and all in it), which ends as soon as the kernel has ended."""

    def __init__(self, holder: subprocess.Popen, pidfd: int, kernel: int):
        self._holder = holder
        self._pidfd: int | None = pidfd
        self.kernel_pid = kernel  # in the sandbox's process namespace

    def __getattr__(self, name):  # stdin, stdout, pid, returncode, ... of the holder
        return getattr(self._holder, name)

    def _kernel_ended(self) -> bool:
        if self._pidfd is None:
            return True
        return bool(select.select([self._pidfd], [], [], 0)[0])

    def poll(self):
        code = self._holder.poll()
        if code is None and self._kernel_ended():
            self.kill()
            code = self._holder.wait()
        if code is not None and self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        return code

    def wait(self, timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self._holder.args, timeout)
            time.sleep(0.02)
        return code

    def send_signal(self, signum: int) -> None:
        self._holder.send_signal(signum)

    def kill(self) -> None:
        try:
            os.killpg(self._holder.pid, signal.SIGKILL)
        except OSError:
            self._holder.kill()

    def terminate(self) -> None:
        self.kill()  # the sandbox has nothing to save


async def _holder_target(holder: subprocess.Popen) -> int:
    """The pid of the placeholder inside the sandbox, once bwrap has set the sandbox up."""
    import psutil

    deadline = time.monotonic() + HOLDER_TIMEOUT
    while time.monotonic() < deadline:
        if holder.poll() is not None:
            raise RuntimeError(f"the sandbox ended before its kernel started (exit status {holder.returncode})")
        try:
            for proc in psutil.Process(holder.pid).children(recursive=True):
                try:
                    if proc.cmdline() == HOLD:
                        return proc.pid
                except psutil.Error:
                    continue
        except psutil.Error:
            pass
        await asyncio.sleep(0.005)
    raise RuntimeError("the sandbox did not start in time")


def _fork_zygotes(target: int) -> str | None:
    """The commands' zygotes forked into the sandbox of process `target`, waiting in a folder of
    its /tmp for the kernel to adopt them (labkit/fastcli/launcher.py: adopt). Returns that
    folder's path inside, or None (none forked: the kernel starts its own, as before)."""
    if not CLI_TEMPLATES or SANDBOX is None or SANDBOX.tmp is None:
        return None
    import shutil

    outside = Path(SANDBOX.tmp) / ADOPT_FOLDER
    inside = f"/tmp/{ADOPT_FOLDER}"
    try:
        shutil.rmtree(outside, ignore_errors=True)  # a kernel started again: the last sandbox's, now dead
        outside.mkdir(mode=0o700)
    except OSError as exc:
        print(f"zygotes not forked: {exc}", file=sys.stderr, flush=True)
        return None
    forked = 0
    for name, template in CLI_TEMPLATES.items():
        if template is None or not template.alive():
            continue
        try:
            template.fork_zygote(target, inside)
            forked += 1
        except Exception as exc:  # that command's zygote starts the plain way
            print(f"{name} zygote not forked: {exc}", file=sys.stderr, flush=True)
    return inside if forked else None


READY_RETRY_S = 0.02  # jupyter_client waits 0.2 s for the first IOPub message before asking again
SHUTDOWN_POLL_S = 0.01  # and looks every 0.1 s whether a kernel that was asked to stop has


class QuickReadyClient(AsyncKernelClient):
    """jupyter_client's client, whose wait for a new kernel asks again after 20 ms instead of 200
    when the kernel's reply came but no IOPub message yet: ZeroMQ drops what a kernel publishes
    before the client's subscription reaches it, so the first kernel_info's IOPub status is often
    lost. The same checks in the same order (jupyter_client/client.py: _async_wait_for_ready, for a
    client its KernelManager made): ~0.2 s less per submission, a few more kernel_info requests."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        from queue import Empty

        deadline = time.time() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=READY_RETRY_S)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.time() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:  # flush what the retries left on IOPub, as jupyter_client does
            try:
                await self.iopub_channel.get_msg(timeout=0.01)
            except Empty:
                break

    wait_for_ready = _async_wait_for_ready


class SandboxedKernelManager(AsyncKernelManager):
    client_class = DottedObjectName("grader.sandbox.kernel.QuickReadyClient")
    client_factory = Type(QuickReadyClient, klass=AsyncKernelClient)

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        await super()._async_wait(pollinterval=min(pollinterval, SHUTDOWN_POLL_S))

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if SANDBOX is not None and KERNEL_DIR is not None:
            self.transport = "ipc"
            self.ip = os.path.join(KERNEL_DIR, "kernel")
            self.connection_file = os.path.join(KERNEL_DIR, "kernel.json")

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None and SANDBOX is not None:
            # a signal to the sandbox's process group reaches bwrap, not the kernel inside: interrupt
            # through the kernel's control channel (ipykernel then signals itself)
            spec.interrupt_mode = "message"
        return spec

    def format_kernel_cmd(self, extra_arguments=None):
        argv = super().format_kernel_cmd(extra_arguments)
        self._joined = None
        if SANDBOX is None:
            return argv
        cwd = (self._launch_args or {}).get("cwd") or os.getcwd()
        env = (self._launch_args or {}).get("env") or os.environ
        if TEMPLATE is not None and TEMPLATE.alive() and argv[:3] == [sys.executable, "-m", "ipykernel_launcher"]:
            cmd, kept = SANDBOX.plan(HOLD, env=dict(env), chdir=str(cwd))
            self._joined = {"env": kept, "cwd": str(cwd), "argv": argv[3:]}
            return cmd
        return SANDBOX.wrap(argv, env=dict(env), chdir=str(cwd))

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        await super()._async_launch_kernel(kernel_cmd, **kw)
        joined, self._joined = getattr(self, "_joined", None), None
        if joined is None:
            return
        holder = self.provisioner.process
        try:
            target = await _holder_target(holder)
            adopt = _fork_zygotes(target)
            if adopt is not None:
                joined["env"] = {**joined["env"], "LABKIT_FASTCLI_ADOPT": adopt}
            reply = TEMPLATE.fork_kernel(target, **joined)
        except Exception:
            try:
                os.killpg(holder.pid, signal.SIGKILL)
            except OSError:
                holder.kill()
            raise
        self.provisioner.process = JoinedKernel(holder, reply["pidfd"], reply["kernel"])

    _launch_kernel = _async_launch_kernel
