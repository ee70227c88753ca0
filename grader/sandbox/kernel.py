"""A Jupyter kernel manager whose kernel starts inside the submission's sandbox.

The sandbox has no network but its own loopback, so the kernel talks to nbclient over ZeroMQ's
`ipc` transport: unix sockets in the job's kernel folder, the one folder both sides see. The
connection file (with its HMAC key) lives there too. `SANDBOX` is set by the worker for the
submission being graded; None runs the kernel as plain nbgrader would.
"""
from __future__ import annotations

import os

from jupyter_client.manager import AsyncKernelManager

from grader.sandbox.bwrap import RELAY_INSIDE, Sandbox

SANDBOX: Sandbox | None = None
KERNEL_DIR: str | None = None  # the job's folder for the kernel's sockets and connection file
RELAY_PATH = RELAY_INSIDE


class SandboxedKernelManager(AsyncKernelManager):
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
        if SANDBOX is None:
            return argv
        cwd = (self._launch_args or {}).get("cwd") or os.getcwd()
        env = (self._launch_args or {}).get("env") or os.environ
        return SANDBOX.wrap(argv, env=dict(env), chdir=str(cwd))
