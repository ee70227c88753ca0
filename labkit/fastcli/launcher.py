"""Turning the fast path on for this kernel: a private folder, a zygote per command, the shims.

`enable()` is what `labkit.start()` calls: in a Jupyter kernel (or with LABKIT_FASTCLI=1) it makes
a folder of its own in $TMPDIR (mode 0700: no other user can reach the sockets), starts one
zygote per command (`aws`, `labkit`) as a child of this kernel with the kernel's environment,
writes the shims into FOLDER/bin and puts that first on PATH. The sockets are bound here, before
the zygotes start, so a command run right after `labkit.start()` waits for its zygote rather
than missing it. LABKIT_FASTCLI=0 turns it all off (also for a single command: the shims read it).
It also drops a useless 0.1 s sleep per `!` line (ptyclose.py).
Nothing here may break `labkit.start()`: any failure leaves the real commands on PATH.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PREFIX = "labkit-fastcli-"
COMMANDS = ("aws", "labkit")
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes
HERE = Path(__file__).resolve().parent
BOOT = ("import sys, importlib.util as u\n"
        "s = u.spec_from_file_location('_labkit_fastcli_zygote', {path!r})\n"
        "m = u.module_from_spec(s); sys.modules[s.name] = m; s.loader.exec_module(m)\n"
        "m.main(sys.argv[1:])\n")
STALE_AFTER_S = 30.0


class FastPath:
    def __init__(self, folder: Path, zygotes: dict[str, subprocess.Popen], sockets: dict[str, Path]):
        self.folder = folder
        self.bin = folder / "bin"
        self.zygotes = zygotes
        self.sockets = sockets

    def alive(self) -> bool:
        return self.bin.is_dir() and all(p.poll() is None for p in self.zygotes.values())

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Until every zygote has warmed up (it says "R" to a connection). For tests and benchmarks."""
        deadline = time.monotonic() + timeout
        for path in self.sockets.values():
            with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    s.connect(str(path))
                    if s.recv(16) != b"R":
                        return False
                except OSError:
                    return False
        return True

    def stop(self) -> None:
        for proc in self.zygotes.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.zygotes.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        remove_from_path(self.bin)
        shutil.rmtree(self.folder, ignore_errors=True)


_current: FastPath | None = None


def wanted() -> bool:
    setting = os.environ.get("LABKIT_FASTCLI", "")
    if setting == "0" or not sys.platform.startswith("linux"):  # SEQPACKET unix sockets, O_PATH, prctl
        return False
    return setting == "1" or "ipykernel" in sys.modules


def enable() -> FastPath | None:
    """Start this kernel's fast path (once; again if its zygotes died). Never raises."""
    global _current
    if not wanted():
        return None
    try:
        from labkit.fastcli import ptyclose

        ptyclose.install()
    except Exception:
        pass
    try:
        if _current is not None and _current.alive():
            put_first_on_path(_current.bin)
            return _current
        if _current is not None:
            _current.stop()
        _current = start()
    except Exception:
        _current = None
    return _current


def interpreter_of(script: str) -> str | None:
    """The script's `#!` interpreter when it is a plain absolute path (what the zygote must be)."""
    try:
        with open(script, "rb") as f:
            first = f.readline(300)
    except OSError:
        return None
    match = re.fullmatch(rb"#!(/\S+)\s*", first)
    if not match:
        return None
    path = os.fsdecode(match.group(1))
    return path if os.access(path, os.X_OK) else None


def start(parent_pid: int | None = None) -> FastPath | None:
    parent_pid = parent_pid or os.getpid()
    scripts = {}
    for name in COMMANDS:
        script = shutil.which(name)
        interpreter = interpreter_of(script) if script else None
        if interpreter and " " not in interpreter and len(interpreter) < 200:
            scripts[name] = (script, interpreter)
    adopt_from = os.environ.pop(ADOPT, None)  # never seen by the commands: a started zygote's kernel has none
    if not scripts:
        return None
    remove_stale()
    folder = _adoption_folder(adopt_from) or Path(tempfile.mkdtemp(prefix=PREFIX))  # mode 0700
    try:
        if os.statvfs(folder).f_flag & os.ST_NOEXEC or len(str(folder / "labkit.sock")) > MAX_SOCKET_PATH:
            raise OSError("no shims here")
        (folder / "kernel.pid").write_text(str(parent_pid))
        bin_dir = folder / "bin"
        bin_dir.mkdir(mode=0o700, exist_ok=True)
        zygotes, sockets = {}, {}
        for name, (script, interpreter) in scripts.items():
            sockets[name] = folder / f"{name}.sock"
            zygotes[name] = adopt(name, script, interpreter, sockets[name]) if adopt_from else None
            if zygotes[name] is None:
                zygotes[name] = _spawn(name, script, interpreter, sockets[name], folder, parent_pid)
            _write_shim(bin_dir / name, name, interpreter, sockets[name], script)
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    put_first_on_path(bin_dir)
    return FastPath(folder, zygotes, sockets)


# -- adopting zygotes started ahead (the grader's fork server: grader/sandbox/template.py) ---------

ADOPT = "LABKIT_FASTCLI_ADOPT"  # a folder of this kernel's holding zygotes forked for it, ready
ADOPT_MAGIC = b"LKA1"


class Adopted:
    """A zygote this kernel did not start (not its child): watched through a pidfd."""

    def __init__(self, pid: int):
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.returncode = None

    def poll(self):
        import select

        if self.returncode is None and select.select([self.pidfd], [], [], 0)[0]:
            self.returncode = 0
            os.close(self.pidfd)
        return self.returncode

    def wait(self, timeout: float | None = None):
        import select

        if self.returncode is None:
            if not select.select([self.pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"zygote {self.pid}", timeout)
        return self.poll()

    def terminate(self):
        self._signal(15)

    def kill(self):
        self._signal(9)

    def _signal(self, sig: int):
        if self.returncode is None:
            try:
                signal_pidfd = getattr(os, "pidfd_send_signal", None)
                signal_pidfd(self.pidfd, sig) if signal_pidfd else os.kill(self.pid, sig)
            except OSError:
                pass


def _adoption_folder(path: str | None) -> Path | None:
    """The folder named by LABKIT_FASTCLI_ADOPT, if it is this user's own and private."""
    if not path:
        return None
    try:
        st = os.lstat(path)
    except OSError:
        return None
    import stat

    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return Path(path)


def adopt(name: str, script: str, interpreter: str, path: Path, timeout: float = 10.0) -> Adopted | None:
    """Adopt the zygote waiting on `path` if it is the one this kernel would start (it checks: the
    same script and interpreter, this environment where its start-up and imports read it). None:
    none there, or it refused (the socket is gone; the caller starts its own)."""
    if not path.is_socket():
        return None
    env = b"\0".join(k + b"=" + v for k, v in os.environb.items())
    message = b"\0".join([ADOPT_MAGIC, os.fsencode(script), os.fsencode(interpreter), env])
    answer = b""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.send(message)
            answer = s.recv(4096)
        if answer.startswith(b"Y"):
            return Adopted(int(answer[1:]))
    except (OSError, ValueError):
        pass
    try:
        path.unlink()
    except OSError:
        pass
    try:
        with open(path.parent / f"{name}.log", "ab") as log:
            log.write(b"[launcher] not adopted: " + (answer[1:] or b"no answer") + b"\n")
    except OSError:
        pass
    return None


def _spawn(name: str, script: str, interpreter: str, path: Path, folder: Path, parent_pid: int) -> subprocess.Popen:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        listener.bind(str(path))
        listener.listen(64)
        with open(folder / f"{name}.log", "ab") as log:
            return subprocess.Popen(
                [interpreter, "-c", BOOT.format(path=str(HERE / "zygote.py")), name, script, interpreter,
                 str(listener.fileno()), str(parent_pid), str(folder)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, cwd=folder,
                env=dict(os.environ), pass_fds=(listener.fileno(),), close_fds=True)
    finally:
        listener.close()


def _write_shim(target: Path, name: str, interpreter: str, sock: Path, script: str) -> None:
    text = (HERE / "shim.py").read_text()
    filled = {"NAME": name, "SOCKET": str(sock), "TARGET": os.path.realpath(script)}
    for constant, value in filled.items():
        text, count = re.subn(rf"^{constant} = .*# FILLED.*$", f"{constant} = {value!r}", text, flags=re.M)
        if count != 1:
            raise RuntimeError(f"shim template: {constant} not found")
    target.write_text(f"#!{interpreter} -IS\n{text}")
    target.chmod(0o700)


def put_first_on_path(bin_dir: Path) -> None:
    parts = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p != str(bin_dir)]
    os.environ["PATH"] = os.pathsep.join([str(bin_dir), *parts])


def remove_from_path(bin_dir: Path) -> None:
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if str(bin_dir) in parts:
        os.environ["PATH"] = os.pathsep.join(p for p in parts if p != str(bin_dir))


def remove_stale() -> None:
    """Folders of kernels that died without their zygotes cleaning up (e.g. SIGKILL of the group)."""
    root = Path(tempfile.gettempdir())
    try:
        candidates = [p for p in root.iterdir() if p.name.startswith(PREFIX)]
    except OSError:
        return
    for folder in candidates:
        try:
            st = folder.lstat()
            if st.st_uid != os.getuid() or time.time() - st.st_mtime < STALE_AFTER_S:
                continue
            pid = int((folder / "kernel.pid").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
            continue  # its kernel still runs
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            continue
