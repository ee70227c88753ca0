"""The kernel template: a clean process that has already imported what every kernel imports, and
forks each submission's kernel straight into that submission's sandbox.

Starting a kernel costs ~0.6-0.8 CPU-seconds of imports (ipykernel, IPython, zmq, tornado,
jupyter_client; boto3 and botocore for the lab's own cells and checks) before it runs a cell; on
2 cores that is a large part of a submission. The worker starts one template (standard library +
those imports, an allow-listed environment, no course data: it never sees the run's inputs, so a
kernel forked from it holds nothing of the instructor's in its memory) and, per submission:

1. starts the submission's sandbox as before (bwrap with the job's folders, its relay), running a
   placeholder (`sleep`) instead of the kernel: the *holder*;
2. asks the template for a kernel in it: the template forks; the fork joins the holder's
   namespaces and root, drops every capability (nsjoin.py) and, through a starter that exits
   once it is running, forks the kernel, which is then in
   the sandbox's process namespace, sees only the sandbox's files and loopback, with the
   environment, working folder and argv the sandbox would have given it, and runs
   `python -m ipykernel_launcher -f CONNECTION_FILE` from the already imported modules;
3. watches it: the worker's handle (JoinedKernel in kernel.py) is the holder, so killing it ends
   the sandbox and everything in it, and the kernel's end (seen through a pidfd of the kernel,
   handed back by the process that started it) ends the holder. The kernel's parent is the
   sandbox's init, as when bwrap starts it.

Modules that act on the environment or on a running kernel at import time (ipywidgets registers
its comm target when imported in a kernel) are not preloaded. Run as `python -c BOOT FD`.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sys

try:  # in a template: loaded by path by BOOT, so a command's template imports nothing of labkit's
    import grader_sandbox_forkserver as forkserver
except ImportError:  # in the worker
    from labkit import forkserver

PRELOAD = (
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.iostream",
    "IPython.core.interactiveshell", "IPython.core.completer", "jupyter_client.session", "zmq.asyncio",
    "tornado.ioloop", "tornado.queues", "boto3", "botocore.session", "botocore.client", "botocore.endpoint",
    "botocore.httpsession", "botocore.parsers", "botocore.serialize", "botocore.regions",
    # every kernel imports the debugger at its start (debugpy: ~0.05 CPU-s), and a graded lab's
    # kernel labkit and its checks, and the Google clients its Check my progress cells use (~0.3)
    "ipykernel.debugger", "labkit", "labkit.session", "labkit.checks.progress", "labkit.gcp",
    "google.cloud.artifactregistry_v1", "google.cloud.run_v2",
)
PRELOAD_PACKAGES = ("labkit.checks",)  # and every module in these: each lab's checks
# What those imports read from the environment where a kernel's may differ from the template's
# (the job's folders, the cloud's endpoints; every other variable is the allow-listed one both
# have, grader/sandbox/bwrap.py), and why each kernel makes the same of it as its own import would
# (tests/grader/test_template_preload.py fails on a read not listed here):
# HOME, USER: IPython and Jupyter look their folders up when asked, not at import; debugpy's path
#   tables and google.auth's mTLS probe (a certificate config under HOME or CLOUDSDK_CONFIG?) are
#   made at import: there is none under the template's HOME nor under a job's fresh one, and a
#   kernel has GOOGLE_API_USE_CLIENT_CERTIFICATE=false besides (labkit/env.py);
# JPY_PARENT_PID, JPY_INTERRUPT_EVENT: read by the kernel app when it starts, after the fork;
# PATH: debugpy's table of where the standard library is (the same interpreter either way).
PRELOAD_READS_PER_KERNEL = ("HOME", "USER", "PATH", "JPY_PARENT_PID", "JPY_INTERRUPT_EVENT", "CLOUDSDK_CONFIG",
                            "GOOGLE_API_USE_CLIENT_CERTIFICATE", "GOOGLE_API_CERTIFICATE_CONFIG")
MAX_REQUEST = 1 << 20


def _preload() -> None:
    import importlib
    import pkgutil

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # a kernel without it imports it itself, as it always did
            pass
    for package in PRELOAD_PACKAGES:
        try:
            found = [f"{package}.{m.name}" for m in pkgutil.iter_modules(importlib.import_module(package).__path__)]
        except Exception:
            continue
        for name in found:
            try:
                importlib.import_module(name)
            except Exception:
                pass


def _reap(signum, frame) -> None:
    for _ in forkserver.reaped():
        pass


single_threaded = forkserver.single_threaded


def serve(conn: socket.socket):
    """One request per message: {"target", "env", "cwd", "argv"} -> {"kernel": its pid in the
    sandbox} with a pidfd of the kernel attached, or {"error"}. A command template (PREPARED set)
    takes {"target", "folder"} and forks the command's zygote there instead; in that zygote's
    children, serve returns the job they run (main runs it at the top, as the zygote's own
    main does)."""
    signal.signal(signal.SIGCHLD, _reap)
    while True:
        try:
            data = conn.recv(MAX_REQUEST)
        except InterruptedError:
            continue
        if not data:
            return None
        pidfd = None
        try:
            request = json.loads(data)
            if not single_threaded():
                raise RuntimeError("the template is not single-threaded: it does not fork")
            if PREPARED is not None:
                reply, pidfd = _fork_zygote(conn, request)
                if reply == "job":  # we are a command the zygote forked
                    return pidfd
            else:
                reply, pidfd = _fork_kernel(conn, request)
        except Exception as exc:  # never take the template down: this request fails, said so
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        if pidfd is None:
            conn.send(json.dumps(reply).encode())
        else:
            socket.send_fds(conn, [json.dumps(reply).encode()], [pidfd])
            os.close(pidfd)


def _fork_kernel(conn: socket.socket, request: dict) -> tuple[dict, int | None]:
    """template -> joiner (joins the sandbox) -> starter (the first process inside its process
    namespace) -> kernel. The starter hands a pidfd of the kernel back and exits, so the kernel's
    parent is the sandbox's init, as when bwrap starts it (what `os.getppid()` says, and what a
    signal to it does, are the same either way)."""
    return _fork_joined(conn, request, _join_and_start, "kernel", "the kernel's start ended before the kernel ran")


def _fork_zygote(conn: socket.socket, request: dict):
    """template -> joiner -> starter -> the command's zygote, listening on FOLDER/COMMAND.sock in
    the sandbox (labkit/fastcli/zygote.py: serve_adopted) before it is reported. Returns (reply,
    pidfd) in the template; ("job", the ChildJob) in a command the zygote forked."""
    return _fork_joined(conn, request, _join_and_start_zygote, "zygote", "the zygote's start ended before it listened")


def _fork_joined(conn: socket.socket, request: dict, join_and_start, name: str, ended: str):
    """Fork the joiner, which enters the sandbox of process request["target"] and runs
    `join_and_start(fds, request, there)`; it says `K<pid>` with a pidfd of what it started, or
    `E why`. Returns ({name: pid}, pidfd) or ({"error"}, None) in the template, and ("job", job) in
    a command that a zygote started there forked (join_and_start returned it)."""
    from grader_sandbox_nsjoin import close, open_target  # loaded by BOOT under this name

    fds = open_target(int(request["target"]))
    back, there = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    pid = os.fork()
    if pid == 0:  # the joiner
        job = None
        try:
            back.close()
            conn.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            forkserver.pdeathsig(signal.SIGKILL)
            job = join_and_start(fds, request, there)
        except BaseException:
            job = None
        if job is None:
            os._exit(0)
        return "job", job
    there.close()
    close(fds)
    try:
        back.settimeout(30)
        said, pidfds, _, _ = socket.recv_fds(back, 4096, 1)
    finally:
        back.close()
    said = said.decode(errors="replace")
    if not said.startswith("K") or not pidfds:
        for fd in pidfds:
            os.close(fd)
        return {"error": said.strip() or ended}, None
    return {name: int(said[1:])}, pidfds[0]


def _join_and_start_zygote(fds: dict, request: dict, there: socket.socket):
    from grader_sandbox_nsjoin import join

    try:
        join(fds)
    except OSError as exc:
        there.send(f"E cannot enter the sandbox: {exc}".encode())
        return None
    starter = os.fork()
    if starter == 0:  # inside the sandbox's process namespace
        try:
            ready_r, ready_w = os.pipe()
            zygote = os.fork()
        except BaseException as exc:
            there.send(f"E the zygote did not start: {exc}".encode())
            os._exit(0)
        if zygote == 0:
            os.close(ready_r)
            return _run_zygote(request, there, ready_w)  # returns only in the zygote's children
        try:
            os.close(ready_w)
            ok = os.read(ready_r, 1)
            if ok != b"1":
                raise RuntimeError("it ended before listening")
            pidfd = os.pidfd_open(zygote)
            socket.send_fds(there, [f"K{zygote}".encode()], [pidfd])
        except BaseException as exc:
            try:
                there.send(f"E the zygote did not start: {exc}".encode())
            except OSError:
                pass
        finally:
            os._exit(0)
    os.waitpid(starter, 0)
    return None


def _run_zygote(request: dict, there: socket.socket, ready: int):
    """Be the command's zygote for the kernel about to start in this sandbox, as the kernel's
    launcher would have started it (its folder as cwd, stdout to /dev/null, stderr to its log).
    Returns the job of a command it forked; exits when it is done or refused."""
    zygote_module = sys.modules["_labkit_fastcli_zygote"]
    try:
        there.close()
        os.setsid()  # not the template's group; the sandbox's end ends it
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        folder = str(request["folder"])
        devnull = os.open(os.devnull, os.O_RDWR)
        log = os.open(os.path.join(folder, f"{PREPARED.command}.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(log, 2)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind(os.path.join(folder, f"{PREPARED.command}.sock"))
        listener.listen(64)
        keep = sorted({listener.fileno(), ready})
        low = 3
        for fd in keep:  # nothing of the template's but the socket it listens on
            os.closerange(low, fd)
            low = fd + 1
        os.closerange(low, forkserver.max_fd())
        os.chdir(folder)
        os.umask(0o022)
        for name in [n for n in sys.modules if n.startswith("grader_sandbox_")]:
            del sys.modules[name]
        os.write(ready, b"1")
        os.close(ready)
    except BaseException:
        os._exit(1)
    job = zygote_module.serve_adopted(PREPARED, listener, folder)
    if job is None:
        os._exit(0)
    return job


def _join_and_start(fds: dict, request: dict, there: socket.socket) -> None:
    from grader_sandbox_nsjoin import join

    try:
        join(fds)
    except OSError as exc:
        there.send(f"E cannot enter the sandbox: {exc}".encode())
        return
    starter = os.fork()
    if starter == 0:  # inside the sandbox's process namespace
        try:
            kernel = os.fork()
            if kernel == 0:
                there.close()
                _run_kernel(request)  # never returns
            pidfd = os.pidfd_open(kernel)
            socket.send_fds(there, [f"K{kernel}".encode()], [pidfd])
        except BaseException as exc:
            try:
                there.send(f"E the kernel did not start: {exc}".encode())
            except OSError:
                pass
        finally:
            os._exit(0)
    os.waitpid(starter, 0)


def _run_kernel(request: dict) -> None:
    """`python -m ipykernel_launcher ARGS` in this process, as a fresh interpreter would run it."""
    forkserver.exit_as_program(lambda: _kernel_main(request))


def _kernel_main(request: dict) -> int:
    os.setsid()  # as jupyter_client starts a kernel: its own session and process group
    # no parent-death signal: its parent (the starter) exits at once; it ends with the sandbox
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL if sig != signal.SIGPIPE else signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.closerange(3, forkserver.max_fd())
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    os.umask(0o022)
    import random
    import runpy
    import tempfile

    random.seed()  # not the template's sequence
    tempfile.tempdir = None
    for name in [n for n in sys.modules if n.startswith("grader_sandbox_")]:
        del sys.modules[name]
    sys.path[:] = [os.getcwd()] + [p for p in sys.path[1:] if p != TEMPLATE_DIR]  # as `python -m` sets it
    argv = list(request["argv"])
    sys.argv = ["-m", *argv]
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
    return 0


TEMPLATE_DIR = os.path.dirname(os.path.abspath(__file__))
PREPARED = None  # in a command's template: labkit.fastcli's zygote, warmed (zygote.Prepared)


def main(argv: list[str]) -> None:
    """argv: FD WORKER_PID [cli COMMAND SCRIPT]: a kernel template, or a command's template."""
    global PREPARED
    forkserver.pdeathsig(signal.SIGKILL)  # it ends with its worker
    conn = socket.socket(fileno=int(argv[0]))
    if os.getppid() != int(argv[1]):
        return
    if argv[2:3] == ["cli"]:
        command, script = argv[3], argv[4]
        sys.path[0] = os.path.dirname(os.path.realpath(script))  # as for `python SCRIPT`
        PREPARED = sys.modules["_labkit_fastcli_zygote"].Prepared(
            command, script, sys.executable,
            loaded_by_caller=("_labkit_fastcli_zygote", "grader_sandbox_forkserver", "grader_sandbox_nsjoin",
                              "grader_sandbox_template"))
    else:
        _preload()
    if not single_threaded():
        conn.send(b'{"error": "not single-threaded after its imports"}')
        return
    conn.send(b'{"ready": true}')
    job = serve(conn)
    if job is not None:  # a command the zygote forked: the script's end is this process's end
        job.run()


if __name__ == "__main__":
    main(sys.argv[1:])


# -- the worker's side -------------------------------------------------------------------------
BOOT = ("import sys, importlib.util as u\n"
        "def load(name, path):\n"
        "    s = u.spec_from_file_location(name, path); m = u.module_from_spec(s)\n"
        "    sys.modules[name] = m; s.loader.exec_module(m); return m\n"
        "load('grader_sandbox_forkserver', {forkserver!r})\n"
        "load('grader_sandbox_nsjoin', {nsjoin!r})\n"
        "load('grader_sandbox_template', {template!r}).main(sys.argv[1:])\n")


# A command's template: labkit's zygote loaded by path under the name its launcher gives it, so
# the zygote imports what a real command imports and nothing of the grader (its own modules are
# dropped in the fork). The marker argument names it for the leftover count (nbexec.py).
CLI_BOOT = ("import sys, importlib.util as u\n"
            "def load(name, path):\n"
            "    s = u.spec_from_file_location(name, path); m = u.module_from_spec(s)\n"
            "    sys.modules[name] = m; s.loader.exec_module(m); return m\n"
            "load('_labkit_fastcli_zygote', {zygote!r})\n"
            "load('grader_sandbox_forkserver', {forkserver!r})\n"
            "load('grader_sandbox_nsjoin', {nsjoin!r})\n"
            "load('grader_sandbox_template', {template!r}).main(sys.argv[1:])\n")
CLI_MARKER = "labkit.fastcli"


TemplateUnavailable = forkserver.TemplateUnavailable


class KernelTemplate:
    """A worker's template process (see the module's docstring). Not thread-safe: one worker."""

    def __init__(self, env: dict[str, str], ready_timeout: float = 60.0, command: tuple[str, str, str] | None = None):
        """`command`: (name, script, interpreter) makes the template of that command's zygote
        (labkit/fastcli) instead of a kernel template."""
        here = os.path.dirname(os.path.abspath(__file__))
        paths = {"forkserver": os.path.abspath(forkserver.__file__), "nsjoin": os.path.join(here, "nsjoin.py"),
                 "template": os.path.join(here, "template.py")}
        boot, python, extra = BOOT.format(**paths), sys.executable, []
        if command is not None:
            import labkit.fastcli

            zygote = os.path.join(os.path.dirname(os.path.abspath(labkit.fastcli.__file__)), "zygote.py")
            boot = CLI_BOOT.format(zygote=zygote, **paths)
            python, extra = command[2], ["cli", command[0], command[1], CLI_MARKER]
        self.command = command[0] if command else None
        self._process = forkserver.Template([python, "-c", boot], env, "the kernel template", ready_timeout, extra)
        self.process, self.conn = self._process.process, self._process.conn

    def alive(self) -> bool:
        return self._process.alive()

    def fork_kernel(self, target: int, env: dict[str, str], cwd: str, argv: list[str]) -> dict:
        """A kernel in the sandbox that process `target` is in: {"kernel": its pid there, "pidfd": a
        pidfd of it (the caller closes it)}."""
        self._process.check_alive()
        self.conn.send(json.dumps({"target": target, "env": env, "cwd": cwd, "argv": argv}).encode())
        data, pidfds, _, _ = socket.recv_fds(self.conn, MAX_REQUEST, 1)
        reply = json.loads(data)
        if "error" in reply or not pidfds:
            for fd in pidfds:
                os.close(fd)
            raise TemplateUnavailable(reply.get("error", "no kernel"))
        reply["pidfd"] = pidfds[0]
        return reply

    def fork_zygote(self, target: int, folder: str) -> int:
        """The command's zygote in the sandbox that process `target` is in, listening on
        FOLDER/COMMAND.sock there (FOLDER: its path inside). Returns its pid there."""
        self._process.check_alive()
        self.conn.send(json.dumps({"target": target, "folder": folder}).encode())
        data, pidfds, _, _ = socket.recv_fds(self.conn, MAX_REQUEST, 1)
        for fd in pidfds:
            os.close(fd)
        reply = json.loads(data)
        if "error" in reply or not pidfds:
            raise TemplateUnavailable(reply.get("error", "no zygote"))
        return int(reply["zygote"])

    def close(self) -> None:
        self._process.close()
