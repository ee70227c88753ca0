"""What every template process shares: the grader's kernel and command templates
(grader/sandbox/template.py), the cloud template (labkit/cloud/template.py) and the command
servers' zygotes (labkit/fastcli/zygote.py). A template is a clean process that did its imports
once and forks a fresh program per request; this module is both sides of that.

The template's side (standard library only: grader/sandbox/template.py loads this file by path,
so a command's template imports nothing of labkit's for it):
    pdeathsig(sig)            end with the process that started us
    single_threaded()         safe to fork (no lock another thread may hold)
    max_fd()                  for closing everything inherited
    reaped()                  the children that have ended, without waiting
    exit_as_program(run)      be a program: run(), its SystemExit's code, flushed, os._exit

The owner's side:
    Template(argv, env, ...)  start it on a socket pair, wait for its {"ready": true}; alive(),
                              close() (ends it and waits)
"""
from __future__ import annotations

import os
import socket
import sys

PR_SET_PDEATHSIG = 1


def pdeathsig(sig: int) -> None:
    import ctypes

    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)


def single_threaded() -> bool:
    """Forking is safe only while this process has one thread (a lock held by another thread
    would stay locked in the fork forever)."""
    import threading

    try:
        tasks = len(os.listdir("/proc/self/task"))
    except OSError:
        tasks = 1
    return threading.active_count() == 1 and tasks == 1


def max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (OSError, ValueError):
        return 4096


def reaped():
    """(pid, wait status) of each child that has ended, until none is left to reap now."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, status


def exit_as_program(run) -> None:
    """Run `run()` as a fresh interpreter would run a program's main, then exit this process with
    its code (SystemExit's code, 1 for an exception, whose traceback goes to stderr), output
    flushed, without the template's atexit handlers or buffers: never returns."""
    code = 1
    try:
        code = run()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os._exit(code if isinstance(code, int) else 0)


class TemplateUnavailable(RuntimeError):
    pass


class Template:
    """A template process started on a SOCK_SEQPACKET socket pair: `argv` is followed by the
    template's end of it (a descriptor number), this process's pid (the template checks it is
    still its parent, and ends with it) and `extra`. Ready once it sends {"ready": ...}; `unavailable` is the
    error raised when it does not start. Not thread-safe."""

    def __init__(self, argv: list[str], env: dict, what: str, ready_timeout: float = 60.0,
                 extra: list[str] = (), unavailable: type[Exception] = TemplateUnavailable):
        import subprocess

        self.what, self.unavailable = what, unavailable
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [*argv, str(theirs.fileno()), str(os.getpid()), *extra], env=dict(env),
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, close_fds=True,
                start_new_session=True, cwd="/")
        finally:
            theirs.close()
        self.conn = ours
        self.conn.settimeout(ready_timeout)
        try:
            ready = self.conn.recv(256)
        except OSError as exc:
            self.close()
            raise unavailable(f"{what} did not start ({exc})") from None
        if not ready.startswith(b'{"ready"'):
            self.close()
            said = ready.decode(errors="replace")
            raise unavailable(f"{what} did not start" + (f": {said}" if said else ""))
        self.conn.settimeout(30.0)

    def alive(self) -> bool:
        return self.process.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise self.unavailable(f"{self.what} has ended")

    def close(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
