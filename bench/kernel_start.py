"""A graded kernel's start and end as the grader's worker sees them: a sandbox per kernel, the
kernel forked from the worker's kernel template (grader/sandbox/template.py), the grader's kernel
manager and client (grader/sandbox/kernel.py). Per kernel, wall and CPU seconds (every process of
the run: a cgroup's CPU accounting where the machine allows one, else this process's own) of

    start      the sandbox up and the kernel forked into it
    ready      wait_for_ready: the kernel answers kernel_info and IOPub is connected
    shutdown   asked to stop until its manager sees it has ended

    .venv/bin/python bench/kernel_start.py [--kernels 5]

Wall minus CPU is what the worker waits for: what a second worker can use, a lone one cannot. Each
kernel is measured twice, with the grader's client and manager and with jupyter_client's own waits
(its AsyncKernelClient and a 100 ms poll for the kernel's end), in the same run.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.sandbox import kernel as sandboxed  # noqa: E402
from grader.sandbox import probe  # noqa: E402
from grader.sandbox.bwrap import Sandbox, sandbox_environment  # noqa: E402
from grader.sandbox.template import KernelTemplate  # noqa: E402

CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def cpu_meter():
    """A function giving the CPU seconds used so far by this process and all it starts."""
    group = CPUACCT / f"bench-kernel-start-{os.getpid()}"
    try:
        group.mkdir()
        (group / "tasks").write_text(str(os.getpid()))
        return lambda: int((group / "cpuacct.usage").read_text()) / 1e9, "cgroup"
    except OSError:
        return time.process_time, "this process only (no cgroup here)"


class JupyterClientWaits(sandboxed.SandboxedKernelManager):
    """The grader's kernel manager with jupyter_client's client and shutdown poll (the waits before)."""

    from jupyter_client.asynchronous import AsyncKernelClient
    from traitlets import Type

    client_factory = Type(AsyncKernelClient, klass=AsyncKernelClient)

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        await sandboxed.AsyncKernelManager._async_wait(self, pollinterval=pollinterval)


async def one(template, cpu, root: Path, manager=sandboxed.SandboxedKernelManager) -> dict:
    for name in ("run", "home", "tmp", "kernel"):
        (root / name).mkdir(parents=True)
    sandboxed.SANDBOX = Sandbox(root, writable=[root / "run", root / "kernel"], home=root / "home", tmp=root / "tmp")
    sandboxed.KERNEL_DIR, sandboxed.TEMPLATE = str(root / "kernel"), template
    km = manager(kernel_name="python3")
    marks = [(time.monotonic(), cpu())]
    await km.start_kernel(cwd=str(root / "run"), env=dict(os.environ, HOME=str(root / "home")))
    marks.append((time.monotonic(), cpu()))
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=60)
    marks.append((time.monotonic(), cpu()))
    kc.stop_channels()
    await km.shutdown_kernel(now=False)
    marks.append((time.monotonic(), cpu()))
    return {name: (marks[i + 1][0] - marks[i][0], marks[i + 1][1] - marks[i][1])
            for i, name in enumerate(("start", "ready", "shutdown"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernels", type=int, default=5)
    args = parser.parse_args()
    ok, why = probe()
    if not ok:
        sys.exit(f"no sandbox on this machine: {why}")
    cpu, how = cpu_meter()
    env = sandbox_environment(dict(os.environ))
    env.update(HOME="/nonexistent", TMPDIR="/tmp")  # as the worker starts its template
    template = KernelTemplate(env)
    tmp = Path(tempfile.mkdtemp(prefix="bench-kernel-"))
    runs: dict[str, list] = {"grader's client": [], "jupyter_client's waits": []}
    try:
        for i in range(args.kernels + 1):  # the first of each warms caches and is not counted
            for name, manager in (("grader's client", sandboxed.SandboxedKernelManager),
                                  ("jupyter_client's waits", JupyterClientWaits)):
                run = asyncio.run(one(template, cpu, tmp / f"{i}-{len(runs[name])}-{manager.__name__}", manager))
                if i:
                    runs[name].append(run)
    finally:
        template.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{args.kernels} kernels each way (CPU: {how}), medians:")
    for name, measured in runs.items():
        parts = []
        for phase in ("start", "ready", "shutdown"):
            walls = sorted(r[phase][0] for r in measured)
            cpus = sorted(r[phase][1] for r in measured)
            parts.append(f"{phase} {walls[len(walls) // 2]:.3f} s ({cpus[len(cpus) // 2]:.3f} CPU-s)")
        print(f"  {name:24s} " + ", ".join(parts))


if __name__ == "__main__":
    main()
