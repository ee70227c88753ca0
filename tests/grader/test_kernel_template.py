"""A kernel forked from the worker's template into a submission's sandbox (grader/sandbox/template.py)
has exactly what a kernel bwrap started would have: the sandbox's files, its process namespace, no
capabilities, the sandbox's environment and working folder; the template's imports are there
already; its end is seen at once; and the template itself holds nothing a kernel could use."""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import pytest

from grader.sandbox import kernel as sandboxed
from grader.sandbox import probe
from grader.sandbox.bwrap import Sandbox, sandbox_environment
from grader.sandbox.template import KernelTemplate

pytestmark = pytest.mark.skipif(not probe()[0], reason=f"no sandbox here: {probe()[1]}")

INSIDE = r'''
import json, os, sys
status = {l.split(":")[0]: l.split(":", 1)[1].strip() for l in open("/proc/self/status")}
print("REPORT " + json.dumps({
    "pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(), "root": sorted(os.listdir("/")),
    "cap": [status["CapEff"], status["CapPrm"], status["CapBnd"], status["CapInh"]], "nnp": status["NoNewPrivs"],
    "env": dict(os.environ), "preloaded": "boto3" in sys.modules,
    "procs": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "home": os.path.expanduser("~"), "argv0": sys.argv[0],
    "comm": "ipywidgets" in sys.modules,
}))
'''


# what ipykernel and IPython put into a kernel's environment themselves, however it was started
SET_BY_IPYKERNEL = {"CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "GIT_PAGER", "MPLBACKEND", "PAGER", "TERM",
                    "JPY_PARENT_PID", "PYDEVD_USE_FRAME_EVAL"}


def _job(tmp_path: Path):
    root = tmp_path / "job"
    for name in ("run", "home", "tmp", "kernel"):
        (root / name).mkdir(parents=True)
    return root, Sandbox(root, writable=[root / "run", root / "kernel"], home=root / "home", tmp=root / "tmp")


async def _run(km, code: str, timeout: float = 60) -> list[str]:
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=timeout)
        out: list[str] = []

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
        await kc.execute_interactive(code, timeout=timeout, output_hook=hook)
        return "".join(out).splitlines()
    finally:
        kc.stop_channels()


@pytest.fixture
def template():
    env = sandbox_environment(dict(os.environ, LABKIT_CONTROL_TOKEN="secret-token"))
    env.update(HOME="/nonexistent", TMPDIR="/tmp")
    tpl = KernelTemplate(env)
    yield tpl
    tpl.close()


def _use(root: Path, box: Sandbox, tpl):
    sandboxed.SANDBOX, sandboxed.KERNEL_DIR, sandboxed.TEMPLATE = box, str(root / "kernel"), tpl


def _clear():
    sandboxed.SANDBOX = sandboxed.KERNEL_DIR = sandboxed.TEMPLATE = None


def test_a_forked_kernel_has_the_sandbox_and_nothing_more(tmp_path, template):
    root, box = _job(tmp_path)
    _use(root, box, template)
    try:
        async def go():
            km = sandboxed.SandboxedKernelManager(kernel_name="python3")
            await km.start_kernel(cwd=str(root / "run"), env=dict(os.environ, LABKIT_LANG="ko"))
            try:
                assert isinstance(km.provisioner.process, sandboxed.JoinedKernel)
                lines = await _run(km, INSIDE)
            finally:
                await km.shutdown_kernel(now=True)
            return lines
        lines = asyncio.run(go())
    finally:
        _clear()
    report = json.loads(next(line for line in lines if line.startswith("REPORT "))[7:])
    assert report["cwd"] == str(root / "run")
    assert report["ppid"] == 1  # the sandbox's init, as when bwrap starts the kernel
    assert report["cap"] == ["0000000000000000"] * 4 and report["nnp"] == "1"
    # its own process namespace: bwrap's init, the placeholder, the kernel and what it runs
    assert report["procs"][0] == 1 and max(report["procs"]) < 50
    assert str(tmp_path) not in report["root"] and "job" not in report["root"]
    expected = box.plan(sandboxed.HOLD, env=dict(os.environ, LABKIT_LANG="ko"), chdir=str(root / "run"))[1]
    env = report["env"]
    assert {k: env.get(k) for k in expected} == expected
    assert env.keys() - expected.keys() <= SET_BY_IPYKERNEL, env.keys() - expected.keys()
    assert "LABKIT_CONTROL_TOKEN" not in report["env"]
    assert report["home"] == str(root / "home")
    assert report["preloaded"], "the template's imports are in the kernel"
    assert report["argv0"].endswith("ipykernel_launcher.py")


def test_the_kernels_end_is_seen_at_once(tmp_path, template):
    root, box = _job(tmp_path)
    _use(root, box, template)
    try:
        async def go():
            km = sandboxed.SandboxedKernelManager(kernel_name="python3")
            await km.start_kernel(cwd=str(root / "run"))
            kc = km.client()
            kc.start_channels()
            await kc.wait_for_ready(timeout=60)
            kc.execute("import os; os._exit(3)")
            started = time.monotonic()
            while await km.is_alive() and time.monotonic() - started < 10:
                await asyncio.sleep(0.05)
            alive = await km.is_alive()
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
            return alive, time.monotonic() - started
        alive, seconds = asyncio.run(go())
    finally:
        _clear()
    assert not alive and seconds < 3


def test_the_template_holds_no_secret_and_is_out_of_the_kernels_reach(template):
    environ = Path(f"/proc/{template.process.pid}/environ").read_bytes()
    assert b"secret-token" not in environ and b"LABKIT_CONTROL_TOKEN" not in environ
    # nothing open but its stdio and its line to the worker
    fds = sorted(int(fd) for fd in os.listdir(f"/proc/{template.process.pid}/fd"))
    assert fds[:3] == [0, 1, 2] and len(fds) == 4, fds
    assert os.readlink(f"/proc/{template.process.pid}/fd/{fds[3]}").startswith("socket:")
    assert os.readlink(f"/proc/{template.process.pid}/fd/0") == "/dev/null"


def test_without_the_template_the_kernel_starts_as_before(tmp_path):
    root, box = _job(tmp_path)
    _use(root, box, None)
    try:
        async def go():
            km = sandboxed.SandboxedKernelManager(kernel_name="python3")
            await km.start_kernel(cwd=str(root / "run"))
            try:
                assert not isinstance(km.provisioner.process, sandboxed.JoinedKernel)
                return await _run(km, "import sys; print('REPORT', 'boto3' in sys.modules)")
            finally:
                await km.shutdown_kernel(now=True)
        lines = asyncio.run(go())
    finally:
        _clear()
    assert "REPORT False" in lines
