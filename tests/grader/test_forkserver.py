"""The fork server (`grader autograde --fork-server`): the `aws` and `labkit` zygotes of every kernel
forked into its sandbox from templates the worker made before any submission (grader/sandbox/
template.py, labkit/fastcli/zygote.py Prepared), then adopted by the kernel's launcher
(labkit/fastcli/launcher.py adopt). A forked zygote has the sandbox's walls and nothing more (no
capabilities, the sandbox's files and processes, no secret), ends with the sandbox, and is used
only when it is what the kernel would have started; a dead template or a kernel whose environment
differs gets its own zygotes, as without the fork server. The templates stay single-threaded."""
from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shutil
import signal
import time
from pathlib import Path

import psutil
import pytest

from grader.cli import main
from grader.sandbox import kernel as sandboxed
from grader.sandbox import probe
from grader.sandbox.bwrap import Sandbox, sandbox_environment
from grader.sandbox.template import KernelTemplate
from labkit.fastcli.launcher import COMMANDS, interpreter_of
from tests.grader import fakelab
from tests.grader.conftest import copy_course, student_version, submit

pytestmark = pytest.mark.skipif(not probe()[0], reason=f"no sandbox here: {probe()[1]}")

ZERO = "0000000000000000"
# In the kernel: adopt (or start) the zygotes, run a command through each, report what the zygotes are.
ADOPT = r'''
import json, os
from labkit.fastcli import launcher
# what labkit.start() sets before it starts the zygotes (the job's labkit home is beside its HOME)
os.environ["CLOUDSDK_CONFIG"] = os.path.join(os.path.dirname(os.environ["HOME"]), "labkit", "gcloud")
fp = launcher.enable()
def status(pid):
    return {l.split(":")[0]: l.split(":", 1)[1].strip() for l in open(f"/proc/{pid}/status")}
report = {}
for name, z in fp.zygotes.items():
    s = status(z.pid)
    report[name] = {"kind": type(z).__name__, "pid": z.pid,
                    "cap": [s["CapEff"], s["CapPrm"], s["CapBnd"], s["CapInh"]], "nnp": s["NoNewPrivs"],
                    "threads": int(s["Threads"]), "root": sorted(os.listdir(f"/proc/{z.pid}/root")),
                    "environ": open(f"/proc/{z.pid}/environ", "rb").read().decode(errors="replace"),
                    "fds": sorted(os.readlink(f"/proc/{z.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{z.pid}/fd"))}
print("REPORT " + json.dumps({"zygotes": report, "root": sorted(os.listdir("/")), "folder": str(fp.folder),
                              "procs": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}))
'''
COMMANDS_RUN = "!aws --version\n!labkit docker images"
LOGS = "print('LOGS ' + json.dumps({n: open(fp.folder / f'{n}.log').read() for n in ('aws', 'labkit')}))"


def _job(root: Path):
    """A job's folders at `root` (emptied first), as the worker makes them (grader/worker.py: Job)."""
    shutil.rmtree(root, ignore_errors=True)
    for name in ("run", "home", "tmp", "kernel", "labkit"):
        (root / name).mkdir(parents=True)
    return root, Sandbox(root, writable=[root / "run", root / "kernel", root / "labkit"], home=root / "home",
                         tmp=root / "tmp")


def _templates(secret_env: dict, root: Path) -> tuple[KernelTemplate, dict]:
    """A kernel template and the commands' templates, for jobs at `root` (what the worker makes
    for its jobs' stable folders: grader/worker.py cli_templates)."""
    env = sandbox_environment(secret_env)
    env.update(HOME="/nonexistent", TMPDIR="/tmp")
    kernel = KernelTemplate(env)
    cli_env = sandbox_environment(secret_env)
    cli_env.update(HOME=str(root / "home"), TMPDIR="/tmp", CLOUDSDK_CONFIG=str(root / "labkit" / "gcloud"))
    cli = {}
    for name in COMMANDS:
        script = shutil.which(name, path=cli_env["PATH"])
        cli[name] = KernelTemplate(cli_env, command=(name, script, interpreter_of(script)))
    return kernel, cli


@pytest.fixture(scope="module")
def stable_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("forkserver") / "job"


@pytest.fixture(scope="module")
def templates(stable_root):
    kernel, cli = _templates(dict(os.environ, LABKIT_CONTROL_TOKEN="secret-token"), stable_root)
    yield kernel, cli
    for template in (kernel, *cli.values()):
        template.close()


def _kernel_run(root: Path, box: Sandbox, kernel_template, cli: dict, cells: list[str], inside: list | None = None):
    """Start a kernel in `box` (as the worker does), run `cells`, shut it down. Returns the
    kernel's output and the outer pids of every process that was in the sandbox."""
    sandboxed.SANDBOX, sandboxed.KERNEL_DIR = box, str(root / "kernel")
    sandboxed.TEMPLATE, sandboxed.CLI_TEMPLATES = kernel_template, cli

    async def go():
        km = sandboxed.SandboxedKernelManager(kernel_name="python3")
        await km.start_kernel(cwd=str(root / "run"), env=dict(os.environ))
        out: list[str] = []
        try:
            kc = km.client()
            kc.start_channels()
            await kc.wait_for_ready(timeout=60)

            def hook(msg):
                if msg["msg_type"] == "stream":
                    out.append(msg["content"]["text"])
                elif msg["msg_type"] == "error":
                    out.append("\n".join(msg["content"]["traceback"]))
            for code in cells:
                await kc.execute_interactive(code, timeout=60, output_hook=hook)
            if inside is not None:
                holder = km.provisioner.process
                inside.extend(p.pid for p in psutil.Process(holder.pid).children(recursive=True))
            kc.stop_channels()
        finally:
            await km.shutdown_kernel(now=True)
        return "".join(out)
    try:
        return asyncio.run(go())
    finally:
        sandboxed.SANDBOX = sandboxed.KERNEL_DIR = sandboxed.TEMPLATE = sandboxed.CLI_TEMPLATES = None


def _line(out: str, tag: str) -> dict:
    return json.loads(next(line for line in out.splitlines() if line.startswith(tag + " "))[len(tag) + 1:])


def test_forked_zygotes_have_the_sandbox_and_nothing_more(tmp_path, stable_root, templates):
    kernel_template, cli = templates
    root, box = _job(stable_root)
    inside: list[int] = []
    out = _kernel_run(root, box, kernel_template, cli, [ADOPT, COMMANDS_RUN, LOGS], inside)
    report, logs = _line(out, "REPORT"), _line(out, "LOGS")
    assert "aws-cli/" in out and "REPOSITORY" in out, out
    for name in COMMANDS:
        z = report["zygotes"][name]
        assert z["kind"] == "Adopted", (name, logs[name])
        assert z["cap"] == [ZERO] * 4 and z["nnp"] == "1"
        assert z["threads"] == 1
        assert z["root"] == report["root"]  # the sandbox's root, as the kernel sees it
        assert "secret-token" not in z["environ"] and "LABKIT_CONTROL_TOKEN" not in z["environ"]
        # nothing of the template's or the worker's: its stdio, its log, its socket, its selector
        assert all(fd.startswith(("/dev/null", "socket:", "pipe:", "anon_inode:", report["folder"])) for fd in z["fds"]), z
        assert len(z["fds"]) <= 10, z["fds"]
        assert "adopted by the kernel" in logs[name] and "served as pid" in logs[name], logs[name]
    assert max(report["procs"]) < 80  # the sandbox's own process namespace
    assert str(tmp_path) not in report["root"]
    # nothing of the sandbox outlives it: zygotes, their commands, the kernel
    time.sleep(0.2)
    assert inside and not [pid for pid in inside if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]


def test_the_templates_stay_single_threaded(stable_root, templates):
    kernel_template, cli = templates
    root, box = _job(stable_root)
    _kernel_run(root, box, kernel_template, cli, [ADOPT, COMMANDS_RUN])
    for template in (kernel_template, *cli.values()):
        assert template.alive()
        assert len(os.listdir(f"/proc/{template.process.pid}/task")) == 1
        environ = Path(f"/proc/{template.process.pid}/environ").read_bytes()
        assert b"secret-token" not in environ


def test_a_dead_template_leaves_that_command_to_the_kernel(tmp_path):
    kernel_template, cli = _templates(dict(os.environ), tmp_path / "job")
    try:
        os.kill(cli["aws"].process.pid, signal.SIGKILL)
        cli["aws"].process.wait()
        root, box = _job(tmp_path / "job")
        out = _kernel_run(root, box, kernel_template, cli, [ADOPT, COMMANDS_RUN])
    finally:
        for template in (kernel_template, *cli.values()):
            template.close()
    report = _line(out, "REPORT")
    assert report["zygotes"]["aws"]["kind"] == "Popen"  # started by the kernel, as without the fork server
    assert report["zygotes"]["labkit"]["kind"] == "Adopted"
    assert "aws-cli/" in out and "REPOSITORY" in out, out


def test_a_kernel_whose_environment_differs_starts_its_own(tmp_path, templates):
    kernel_template, cli = templates
    root, box = _job(tmp_path / "other-job")  # its HOME is not the one the templates started with
    out = _kernel_run(root, box, kernel_template, cli, [ADOPT, COMMANDS_RUN, LOGS])
    report, logs = _line(out, "REPORT"), _line(out, "LOGS")
    assert {z["kind"] for z in report["zygotes"].values()} == {"Popen"}
    assert "not adopted: HOME differs" in logs["aws"], logs["aws"]
    assert "aws-cli/" in out and "REPOSITORY" in out, out


CAPS_CELL = r'''
import json
from labkit.fastcli import launcher
status = {l.split(":")[0]: l.split(":", 1)[1].strip() for l in open("/proc/self/status")}
zygotes = {n: type(z).__name__ for n, z in (launcher._current.zygotes.items() if launcher._current else [])}
print("CAPS=" + json.dumps([status["CapEff"], status["CapPrm"], status["CapBnd"], status["NoNewPrivs"]]))
print("ZYGOTES=" + json.dumps(zygotes))
logs = {n: open(launcher._current.folder / f"{n}.log").read() for n in zygotes}
print("LOGS=" + json.dumps(logs))
'''


@pytest.mark.parametrize("fork_server", [True, False], ids=["default", "no-fork-server"])
def test_a_graded_notebook_has_no_capabilities(fake_course_template, tmp_path, fork_server, monkeypatch):
    from nbformat.v4 import new_code_cell

    monkeypatch.delenv("GRADER_FORK_SERVER", raising=False)
    course = copy_course(fake_course_template, tmp_path / "course")
    nb = fakelab.submissions(student_version(course, "en"), student_version(course, "ko"))["good"]
    nb["cells"].insert(2, new_code_cell(CAPS_CELL + "\n!aws --version"))
    submit(course, "probe", nb)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["autograde", fakelab.LAB_ID, "--course", str(course.root), "--jobs", "1",
                     *([] if fork_server else ["--no-fork-server"])])
    assert code == 0, buffer.getvalue()
    res = json.loads(course.results_file("probe", fakelab.LAB_ID).read_text())
    assert res["status"] == "graded" and res["score"] == 4, res
    graded = json.loads((course.autograded("probe", fakelab.LAB_ID) / f"{fakelab.LAB_ID}.ipynb").read_text())
    printed = "".join("".join(o.get("text", "")) for c in graded["cells"] if c["cell_type"] == "code"
                      for o in c.get("outputs", []))
    assert json.loads(printed.split("CAPS=", 1)[1].splitlines()[0]) == [ZERO, ZERO, ZERO, "1"]
    zygotes = json.loads(printed.split("ZYGOTES=", 1)[1].splitlines()[0])
    logs = json.loads(printed.split("LOGS=", 1)[1].splitlines()[0])
    assert zygotes == ({"aws": "Adopted", "labkit": "Adopted"} if fork_server else {"aws": "Popen", "labkit": "Popen"}), logs
    assert "aws-cli/" in printed
