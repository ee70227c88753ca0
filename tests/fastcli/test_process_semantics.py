"""A child of the zygote is the process `python SCRIPT ARGS` would be: argv, paths, environment,
cwd, umask, stdio, exit codes, uncaught exceptions, signals, atexit. Tested with a stand-in
`aws` script first on PATH (the zygote serves whichever `aws` labkit.start() finds), compared
byte for byte with the same script run for real (LABKIT_FASTCLI=0)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labkit.fastcli import launcher
from tests.fastcli.conftest import Runner

SCRIPT = r'''#!{python}
import os, signal, sys, time
mode = sys.argv[1]
if mode == "argv":
    print(sys.argv, sys.orig_argv, sys.path[0], __file__, __name__, __package__, __spec__, __cached__,
          type(__loader__).__name__, sorted(globals()))
elif mode == "env":
    print(os.environ.get("FOO"), os.getcwd(), oct(os.umask(0)), "PWD" in os.environ)
elif mode == "stdin":
    data = sys.stdin.read()
    print(len(data), data.upper())
    sys.stderr.write("to stderr\n")
elif mode == "stdio":
    print([(s.isatty(), s.line_buffering, s.write_through, s.encoding, s.errors, s.mode, s.buffer.raw.name)
           for s in (sys.stdin, sys.stdout, sys.stderr)], sys.__stdout__ is sys.stdout)
elif mode == "exit":
    sys.exit(int(sys.argv[2]))
elif mode == "exit-text":
    sys.exit("leaving with a message")
elif mode == "raise":
    def inner():
        raise ValueError("boom")
    inner()
elif mode == "signals":
    print([signal.getsignal(s) for s in (signal.SIGINT, signal.SIGPIPE, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD)],
          signal.pthread_sigmask(signal.SIG_BLOCK, []))
elif mode == "kill-self":
    sys.stdout.write("partial")
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGTERM)
elif mode == "atexit":
    import atexit
    atexit.register(print, "from atexit")
    sys.stdout.write("no newline, flushed at exit")
elif mode == "sleep":
    print("ready", os.getpid(), flush=True)
    time.sleep(60)
elif mode == "stdout-closed":
    sys.stderr.write(repr(sys.stdout) + "\n")
'''


@pytest.fixture
def fake(kernel_env, tmp_path, monkeypatch):
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    script = bin_dir / "aws"
    script.write_text(SCRIPT.replace("{python}", str(Path(sys.executable).parent / "python")))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), os.environ["PATH"]]))
    fp = launcher.start()
    assert fp is not None and fp.wait_ready(60)
    yield Runner(fp)
    fp.stop()


def same(runner, line, env=None, **kw):
    before = runner.count("served")
    fast, real = runner.both(line, env, **kw)
    assert runner.count("served") - before >= 1, f"{line}: not served by the zygote"
    assert (fast.returncode, fast.stdout.decode(), fast.stderr.decode()) == \
           (real.returncode, real.stdout.decode(), real.stderr.decode()), line
    return fast


@pytest.mark.parametrize("line", [
    "aws argv 'with space' '' ünïcödé",
    "aws stdio",
    "aws stdio < /dev/null 2>&1 | cat",
    "aws signals",
    "aws exit 0", "aws exit 3", "aws exit 255", "aws exit-text",
    "aws raise",
    "aws kill-self",
    "aws atexit",
])
def test_same_process(fake, line):
    same(fake, line)


def test_closed_stdout_runs_the_real_command(fake):
    """A closed stdin/stdout/stderr (`>&-`) is rare and hard to hand over: the shim execs the script."""
    before = fake.count("served")
    fast, real = fake.both("aws stdout-closed >&-")
    assert (fast.returncode, fast.stderr) == (real.returncode, real.stderr) == (0, b"None\n")
    assert fake.count("served") == before


def test_environment_cwd_umask_of_the_request(fake, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    out = same(fake, "cd ../elsewhere && umask 027 && FOO=bar aws env")
    assert out.stdout.decode().split() == ["bar", str(tmp_path / "elsewhere"), "0o27", "True"]


def test_stdin_pipe_and_file(fake, tmp_path):
    out = same(fake, "printf 'a\\nb' | aws stdin")
    assert out.stdout == b"3 A\nB\n" and out.stderr == b"to stderr\n"
    (tmp_path / "in.txt").write_text("x" * 100000)
    same(fake, f"aws stdin < {tmp_path / 'in.txt'} | wc -c")


def _start(line: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(line, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    ready = proc.stdout.readline().split()
    assert ready[0] == b"ready", ready
    return proc, int(ready[1])


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie of ours counts as gone
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_reaches_the_command(fake, sig):
    """The kernel's interrupt reaches the command (the terminal sends ^C to the shim's group):
    the same traceback and the same death by signal as the real command."""
    results = []
    for fast in (True, False):
        env = dict(os.environ, **({} if fast else {"LABKIT_FASTCLI": "0"}))
        proc = subprocess.Popen(["aws", "sleep"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ready = proc.stdout.readline().split()
        assert ready[0] == b"ready"
        time.sleep(0.3)  # into time.sleep(): the traceback then names the same line both times
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
        results.append((proc.returncode, err.decode()))
        assert _gone(int(ready[1]))
    assert results[0] == results[1]
    assert results[0][0] == -sig


def test_command_is_out_of_the_kernels_process_group(fake):
    """Jupyter interrupts a kernel with killpg(SIGINT) on the kernel's group, where the zygotes
    are: a command must not get that one (a real command runs in the shell's session and gets
    only the ^C its terminal sends, which the shim forwards)."""
    proc, pid = _start("exec aws sleep")
    try:
        zygote = fake.fp.zygotes["aws"].pid
        assert os.getpgid(pid) == pid != os.getpgid(zygote)
    finally:
        proc.kill()
        proc.wait()


def test_killed_shim_takes_the_command_with_it(fake):
    proc, pid = _start("exec aws sleep")
    assert pid != proc.pid  # the command is the zygote's child
    proc.kill()
    proc.wait()
    assert _gone(pid), "the command outlived its shim"


def test_fallback_when_the_zygote_is_gone(fake):
    for proc in fake.fp.zygotes.values():
        proc.kill()
        proc.wait()
    fast, real = fake.both("aws argv x")
    assert fast.returncode == 0 and (fast.stdout, fast.stderr) == (real.stdout, real.stderr)


def test_fallback_when_another_aws_comes_first(fake, tmp_path, monkeypatch):
    """A student who puts another `aws` on PATH (after the shims) gets that one."""
    other = tmp_path / "other-bin"
    other.mkdir()
    (other / "aws").write_text("#!/bin/sh\necho other aws \"$@\"\n")
    (other / "aws").chmod(0o755)
    parts = os.environ["PATH"].split(os.pathsep)
    monkeypatch.setenv("PATH", os.pathsep.join([parts[0], str(other), *parts[1:]]))
    before = fake.count("served")
    assert fake.run("aws x y").stdout == b"other aws x y\n"
    assert fake.count("served") == before


def test_zygote_dies_with_its_kernel(kernel_env, tmp_path):
    """A stand-in kernel starts the fast path and is SIGKILLed: its zygotes follow and remove the folder."""
    code = ("import os, sys, time; sys.path.insert(0, %r)\n"
            "from labkit.fastcli import launcher\n"
            "fp = launcher.start(); fp.wait_ready(60)\n"
            "print(fp.folder, *[p.pid for p in fp.zygotes.values()], flush=True)\n"
            "time.sleep(120)\n") % str(Path(__file__).resolve().parents[2])
    kernel = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    folder, *pids = kernel.stdout.readline().decode().split()
    assert len(pids) == 2
    kernel.kill()
    kernel.wait()
    for pid in pids:
        assert _gone(int(pid)), "a zygote outlived its kernel"
    deadline = time.monotonic() + 5
    while Path(folder).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(folder).exists()


def test_private_folder(fake):
    folder = fake.fp.folder
    assert folder.stat().st_mode & 0o777 == 0o700
    assert folder.stat().st_uid == os.getuid()
    assert (folder / "bin").stat().st_mode & 0o077 == 0
    assert os.environ["PATH"].split(os.pathsep)[0] == str(folder / "bin")


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
def test_another_user_cannot_reach_the_zygote(fake):
    sock = next(iter(fake.fp.sockets.values()))
    code = ("import os, socket, sys\n"
            "os.setgid(65534); os.setuid(65534)\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
            "try:\n    s.connect(sys.argv[1])\nexcept PermissionError:\n    print('refused')\n"
            "else:\n    print('connected', s.recv(4))\n")
    out = subprocess.run([sys.executable, "-c", code, str(sock)], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "refused", out.stderr


def test_peer_of_another_user_is_dropped(fake, tmp_path):
    """Even with the folder opened up, the zygote answers only its own user (SO_PEERCRED)."""
    if os.getuid() != 0:
        pytest.skip("needs root to act as another user")
    folder = fake.fp.folder
    folder.chmod(0o755)
    sock = next(iter(fake.fp.sockets.values()))
    sock.chmod(0o777)
    try:
        code = ("import os, socket, sys\n"
                "os.setgid(65534); os.setuid(65534)\n"
                "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.settimeout(10)\n"
                "s.connect(sys.argv[1]); print(repr(s.recv(4)))\n")
        out = subprocess.run([sys.executable, "-c", code, str(sock)], capture_output=True, text=True, timeout=30)
        assert out.stdout.strip() == "b''", out.stderr  # closed without a word
    finally:
        folder.chmod(0o700)


def test_a_script_changed_since_the_start_runs_for_real(fake, tmp_path):
    script = tmp_path / "fake-bin" / "aws"
    script.write_text(script.read_text() + "\nprint('added later'\n")  # now a SyntaxError
    before = fake.count("declined")
    fast, real = fake.both("aws exit 0")
    assert (fast.returncode, fast.stdout, fast.stderr) == (real.returncode, real.stdout, real.stderr)
    assert fast.returncode == 1 and b"SyntaxError" in fast.stderr
    assert fake.count("declined") == before + 1
