"""A fork server ("zygote") for one command (`aws` or `labkit`) of one kernel.

Started by `labkit.fastcli.launcher` with the kernel's interpreter and environment, it imports
what the command imports once, then forks a child per request from a shim (`shim.py`): the child
takes the shim's argv, cwd, umask, environment and stdin/stdout/stderr (passed as file
descriptors) and runs the command's real script, exactly as `python SCRIPT ARGS` would, while
the zygote relays signals to it and its exit status back to the shim.

Loaded by file path under a private module name (never as part of the `labkit` package), so the
zygote of `aws` imports nothing a real `aws` process would not import.

Protocol (SOCK_SEQPACKET, one message each):
  zygote -> shim  b"R"                       ready: send the request
  shim -> zygote  request (see shim.py), fds [cwd, std fds present]
  zygote -> shim  b"D"                       declined: the shim execs the real command
  child  -> shim  b"S<pid>"                  started (sent by the child before it does anything)
  shim -> zygote  b"K<signum>"               forward this signal to the child
  zygote -> shim  b"Xe<code>" | b"Xs<sig>"   the child exited / was killed by a signal
"""
from __future__ import annotations

import gc
import io
import os
import selectors
import signal
import socket
import sys
import threading
import time

MAGIC = b"LKZ1"
MAX_REQUEST = 1 << 20
PR_SET_PDEATHSIG = 1
PARENT_POLL_S = 1.0

# What each command imports, so its children find it in sys.modules (measured on the lab
# commands: `python -X importtime` of each, see bench/notebook_time.py).
WARM = {
    "aws": ["awscli.clidriver", "awscli.handlers", "pkgutil"],
    "labkit": ["labkit.cli", "labkit.docker.cli", "labkit.docker.auth", "labkit.docker.bases",
               "labkit.docker.build", "labkit.docker.context", "labkit.docker.dockerfile", "labkit.docker.layers",
               "labkit.docker.reference", "labkit.docker.registry_client", "labkit.docker.store", "labkit.messages",
               "tarfile", "pwd", "grp", "pkgutil"],
}
# `labkit gcloud`'s imports, warmed when the zygote is first idle (so `labkit docker` is served as
# soon as before): labkit.gcloud.run first, whose import installs labkit/gcloud/lazy.py (run_v2
# without its __init__, which would import all seven Cloud Run clients); then the two clients,
# grpc and the api_core pieces the clients load when first called. Imports only: no channel, no
# thread (gRPC's core starts its threads with the first channel, in the child; gRPC does not
# survive a fork that has them, and GRPC_ENABLE_FORK_SUPPORT is not needed when there are none).
WARM_LATER = {
    "labkit": ["labkit.gcloud.run", "labkit.gcloud.cli", "labkit.gcloud.errors", "labkit.gcloud.config",
               "labkit.gcloud.formats", "labkit.gcloud.run_shape", "labkit.gcloud.traffic",
               "labkit.gcloud.services", "labkit.gcloud.auth", "labkit.gcloud.artifacts", "labkit.gcloud.source",
               "labkit.gcloud.logs",
               "labkit.gcp", "labkit.config", "configparser", "uuid",
               "grpc", "google.auth.credentials", "google.api_core.client_options", "google.api_core.exceptions",
               "google.api_core.grpc_helpers", "google.api_core.operation", "google.api_core.operations_v1",
               "google.api_core.future.polling", "google.api_core.gapic_v1", "google.iam.v1.policy_pb2",
               "google.protobuf.duration_pb2", "google.protobuf.json_format",
               "google.cloud.run_v2.services.services", "google.cloud.run_v2.services.revisions",
               "google.cloud.run_v2.types", "google.cloud.artifactregistry_v1"],
}

# Variables a fresh interpreter or the C libraries read at start-up: a request whose values differ
# from the zygote's own is declined (the shim then runs the real command).
STARTUP_PREFIXES = (b"PYTHON", b"LC_", b"LD_", b"OPENSSL_", b"MALLOC_", b"GLIBC_")
STARTUP_NAMES = (b"LANG", b"LANGUAGE", b"HOME", b"TZ", b"TMPDIR")


def log(message: str) -> None:
    try:
        sys.stderr.write(f"[zygote {os.getpid()}] {message}\n")
        sys.stderr.flush()
    except Exception:
        pass


def set_parent_death_signal(sig: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except Exception:
        pass  # the zygote also polls its parent


# -- warm-up: imports, with the environment reads and writes they make ---------------------------

class EnvTrace:
    """Which variables the warm-up's imports read, and what they wrote: a child must see the
    writes (e.g. awscli sets AWS_DATA_PATH at import), and a request may differ from the zygote's
    environment only in variables no import read."""

    def __init__(self):
        self.reads: set[bytes] = set()
        self.read_all = False
        self.writes: list[tuple[bytes, bytes | None]] = []
        self._saved = None

    @staticmethod
    def _key(mapping, key) -> bytes:
        return key if isinstance(key, bytes) else os.fsencode(key)

    def __enter__(self):
        cls = type(os.environ)
        self._saved = {name: cls.__dict__[name] for name in ("__getitem__", "__setitem__", "__delitem__", "__iter__")}
        trace = self
        get, put, delete, iterate = (self._saved[n] for n in ("__getitem__", "__setitem__", "__delitem__", "__iter__"))

        def traced_get(mapping, key):
            trace.reads.add(trace._key(mapping, key))
            return get(mapping, key)

        def traced_set(mapping, key, value):
            put(mapping, key, value)
            trace.writes.append((trace._key(mapping, key), os.environb[trace._key(mapping, key)]))

        def traced_del(mapping, key):
            delete(mapping, key)
            trace.writes.append((trace._key(mapping, key), None))

        def traced_iter(mapping):
            trace.read_all = True
            return iterate(mapping)

        cls.__getitem__, cls.__setitem__, cls.__delitem__, cls.__iter__ = traced_get, traced_set, traced_del, traced_iter
        return self

    def __exit__(self, *exc):
        cls = type(os.environ)
        for name, function in self._saved.items():
            setattr(cls, name, function)


def startup_hook_keys(not_hooks: tuple[str, ...] = ()) -> set[bytes]:
    """Variables the interpreter's start-up hooks may read (.pth files, sitecustomize, the
    modules they loaded, e.g. coverage's COVERAGE_PROCESS_START): upper-case string literals in
    their sources. They ran before any trace could see them. `not_hooks`: names of modules loaded
    after start-up, by the process's own code (their literals are not start-up reads)."""
    import glob
    import re
    import site
    import sysconfig

    sources = []
    try:
        folders = [*site.getsitepackages(), site.getusersitepackages()]
    except Exception:
        folders = []
    for folder in folders:
        sources.extend(glob.glob(os.path.join(folder, "*.pth")))
    stdlib = sysconfig.get_paths().get("stdlib", "/nonexistent")
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and not path.startswith(stdlib) and path.endswith(".py") and name not in not_hooks:
            sources.append(path)
    keys = set()
    for path in sources:
        try:
            with open(path, "rb") as f:
                keys.update(re.findall(rb"[\"']([A-Z][A-Z0-9_]{2,})[\"']", f.read(1 << 20)))
        except OSError:
            pass
    return keys


def forkserver():
    """labkit/forkserver.py, loaded by path like this file (a zygote imports nothing of labkit's
    but what its command does)."""
    return sys.modules.get("_labkit_forkserver") or load_by_path(
        "_labkit_forkserver", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "forkserver.py"))


def load_by_path(name: str, path: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def imported_by(script: str) -> set[str]:
    """The modules a script imports at its top level (its own import-time effects happen in a real
    run too, so the zygote may have them happen ahead)."""
    import ast

    try:
        with open(script, "rb") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def warm_up(command: str, script: str) -> tuple[EnvTrace, list]:
    """Import what the command imports, if the script is the command's (its first module of WARM
    is among the script's imports); a stand-in script gets nothing ahead. Returns the trace and
    the work left for when the zygote is idle (parsing awscli's models, `labkit gcloud`'s imports)."""
    modules = WARM.get(command, [])
    if not modules or modules[0] not in imported_by(script):
        modules = []
    idle = []
    with EnvTrace() as trace:
        _import_all(modules)
        if command == "aws" and modules:
            try:
                fill = load_by_path("_labkit_fastcli_awscli",
                                    os.path.join(os.path.dirname(__file__), "awscli_cache.py")).install()
                if fill is not None:
                    idle.append(fill)
            except Exception as error:
                log(f"warm-up: awscli cache: {error!r}")
    if modules and WARM_LATER.get(command):
        idle.append(AfterFirst(b"gcloud", lambda: warm_more(trace, WARM_LATER[command])))
    return trace, idle


class AfterFirst:
    """Idle work that waits until the zygote has been asked for `subcommand` once: `labkit gcloud`'s
    imports cost 1.5-4 CPU-s, which a kernel that never runs gcloud (an AWS lab, a graded lab 03)
    should not pay. The first `labkit gcloud` then runs as before the zygote knew it; the rest fast."""

    def __init__(self, subcommand: bytes, work):
        self.subcommand = subcommand
        self.work = work

    def __call__(self):
        self.work()


def _import_all(modules: list[str]) -> None:
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:  # a module this version lacks: the child imports what it needs
            log(f"warm-up: {name}: {error!r}")


def warm_more(trace: EnvTrace, modules: list[str]) -> None:
    """More imports, later (idle work), traced into the same EnvTrace: a request then differs from
    the zygote's start-up only in variables none of them read either."""
    with EnvTrace() as more:
        _import_all(modules)
    trace.reads |= more.reads
    trace.read_all = trace.read_all or more.read_all
    trace.writes.extend(more.writes)
    log(f"warmed {len(modules)} more modules; import-time reads {sorted(k.decode(errors='replace') for k in more.reads)}"
        f", writes {[k.decode(errors='replace') for k, _ in more.writes]}")


def signature(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def installation_files(script: str) -> list[str]:
    """The files whose change would make a fresh process differ from a child: the script, every
    module the warm-up imported, and the folders on sys.path (a package installed since)."""
    files = [script]
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str):
            files.append(path)
    files.extend(p for p in sys.path if p)
    return files


# -- the server ---------------------------------------------------------------------------------

class Request:
    def __init__(self, data: bytes, fds: list[int]):
        parts = data.split(b"\0")
        if len(parts) < 6 or parts[0] != MAGIC:
            raise ValueError("not a request")
        self.name = parts[1].decode()
        self.script = parts[2]  # the path the shell would have run (found on PATH)
        self.umask = int(parts[3])
        self.std = parts[4].decode()  # e.g. "012": which of stdin/stdout/stderr were open
        argc = int(parts[5])
        self.args = parts[6:6 + argc]
        if len(self.args) != argc or len(fds) != 1 + len(self.std):
            raise ValueError("bad request")
        self.env = {}
        for item in parts[6 + argc:]:
            key, sep, value = item.partition(b"=")
            if sep and key:
                self.env[key] = value
        self.cwd_fd = fds[0]
        self.std_fds = dict(zip((int(c) for c in self.std), fds[1:]))

    def close_fds(self) -> None:
        for fd in [self.cwd_fd, *self.std_fds.values()]:
            try:
                os.close(fd)
            except OSError:
                pass


class Zygote:
    def __init__(self, command: str, script: str, listener: socket.socket, parent: int, interpreter: str,
                 startup_keys: set[bytes] | None = None):
        self.command = command
        self.script = script
        self.script_real = os.path.realpath(script)
        self.interpreter = interpreter
        self.listener = listener
        self.parent = parent
        self.startup_env = dict(os.environb)
        self.startup_keys = startup_hook_keys() if startup_keys is None else startup_keys
        self.shim_dir: bytes | None = None
        self.trace: EnvTrace | None = None
        self.idle: list = []  # work for when no request waits
        self.asked: set[bytes] = set()  # the subcommands requested so far (AfterFirst work waits for one)
        self.fingerprint: dict[str, object] = {}
        self.selector = None
        self.wake_r = self.wake_w = None
        self.conns: dict[int, dict] = {}  # fd -> {"sock", "pid"}
        self.children: dict[int, dict] = {}  # pid -> the conn's record
        self.stopping = False
        self.kernel_pidfd: int | None = None  # an adopted zygote watches its kernel through this

    # -- deciding ------------------------------------------------------------------------------
    def sensitive_keys(self, env: dict) -> set[bytes]:
        keys = set(self.trace.reads) | set(STARTUP_NAMES) | self.startup_keys
        for mapping in (env, self.startup_env):
            keys.update(k for k in mapping if k.startswith(STARTUP_PREFIXES))
        return keys

    def decline_reason(self, req: Request) -> str | None:
        if req.name != self.command:
            return "another command"
        if os.path.realpath(os.fsdecode(req.script)) != self.script_real:
            return "another script"
        if self.trace.read_all:
            return "the warm-up read the whole environment"
        for key in self.sensitive_keys(req.env):
            if self._comparable(key, req.env.get(key)) != self._comparable(key, self.startup_env.get(key)):
                return f"{os.fsdecode(key)} differs from the zygote's"
        # A child has no controlling terminal (the shell's pty belongs to the shell's session):
        # whatever may open /dev/tty (a pager, a password prompt) runs for real.
        if self.command == "aws" and (b"help" in req.args or _mentions_mfa(_aws_config(req.env))):
            return "help pages and MFA prompts use the terminal"
        if self.command == "labkit" and (not req.args or req.args[0] not in (b"docker", b"gcloud")):
            return "only `labkit docker` and `labkit gcloud` are served"
        if self.command == "labkit" and b"login" in req.args and b"--password-stdin" not in req.args:
            return "an interactive login prompts on the terminal"
        for path, sig in self.fingerprint.items():
            if signature(path) != sig:
                return f"{path} changed since the zygote started"
        if threading.active_count() != 1 or _task_count() not in (None, 1):
            return "the zygote is not single-threaded"
        return None

    def _comparable(self, key: bytes, value: bytes | None) -> bytes | None:
        return _comparable(key, value, self.shim_dir)

    # -- the loop ------------------------------------------------------------------------------
    def serve(self):
        """Serve until the kernel is gone. Returns a ChildJob in a forked child."""
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGHUP, self._stop)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the kernel's interrupts are for the kernel
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "wake")
        while not self.stopping:
            if not self.kernel_alive():
                break
            ready = self._ready_idle()
            events = self.selector.select(0 if ready is not None else PARENT_POLL_S)
            if not events and ready is not None:
                self._idle_work(ready)
                continue
            for key, _ in events:
                if key.data == "accept":
                    self._accept()
                elif key.data == "wake":
                    self._drain_wake()
                    self._reap()
                else:
                    job = self._readable(key.data)
                    if job is not None:
                        return job
            self._reap()
        return None

    def kernel_alive(self) -> bool:
        """Started by its kernel: its parent. Adopted (see `Prepared`): the kernel that adopted it."""
        if self.kernel_pidfd is None:
            return os.getppid() == self.parent
        import select

        return not select.select([self.kernel_pidfd], [], [], 0)[0]

    def _ready_idle(self) -> int | None:
        """The index of the first idle work that may run now."""
        for i, work in enumerate(self.idle):
            if not isinstance(work, AfterFirst) or work.subcommand in self.asked:
                return i
        return None

    def _idle_work(self, index: int = 0):
        work = self.idle.pop(index)
        t0 = time.monotonic()
        try:
            work()
        except Exception as error:
            log(f"idle work failed: {error!r}")
        gc.collect()
        gc.freeze()
        for path in installation_files(self.script):  # what it imported: a change since runs for real
            self.fingerprint.setdefault(path, signature(path))
        log(f"idle work done in {time.monotonic() - t0:.2f} s")

    def _stop(self, *_):
        self.stopping = True

    def _accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if not _same_user(sock):
                sock.close()
                continue
            sock.setblocking(False)
            record = {"sock": sock, "pid": None, "fd": sock.fileno()}
            try:
                sock.send(b"R")
            except OSError:
                sock.close()
                continue
            self.conns[record["fd"]] = record
            self.selector.register(sock, selectors.EVENT_READ, record["fd"])

    def _close(self, record):
        self.conns.pop(record["fd"], None)
        try:
            self.selector.unregister(record["sock"])
        except (KeyError, ValueError):
            pass
        record["sock"].close()
        record["closed"] = True

    def _readable(self, fd):
        record = self.conns.get(fd)
        if record is None:
            return None
        sock = record["sock"]
        if record["pid"] is None:  # the request
            try:
                data, ancdata, flags, _ = sock.recvmsg(MAX_REQUEST, socket.CMSG_SPACE(64 * 4))
            except (BlockingIOError, InterruptedError):
                return None
            except OSError:
                self._close(record)
                return None
            fds = _fds_from(ancdata)
            if not data or flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                _close_all(fds)
                self._close(record)
                return None
            try:
                req = Request(data, fds)
            except (ValueError, UnicodeDecodeError):
                _close_all(fds)
                self._close(record)
                return None
            if req.args:
                self.asked.add(req.args[0])  # served or not: the next ones may be served warm
            reason = self.decline_reason(req)
            if reason is not None:
                log(f"declined: {reason}")  # never the arguments: they may hold a password
                req.close_fds()
                try:
                    sock.send(b"D")
                except OSError:
                    pass
                self._close(record)
                return None
            pid = os.fork()
            if pid == 0:
                return ChildJob(self, req, sock)
            req.close_fds()  # the shell waits for EOF on these: only the child may hold them
            log(f"served as pid {pid}")
            record["pid"] = pid
            self.children[pid] = record
            return None
        try:  # a running child's shim: a signal to forward, or gone
            data = sock.recv(64)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            data = b""
        if not data:  # the shim died (e.g. SIGKILL): so does the command it stood for
            _kill(record["pid"], signal.SIGKILL)
            try:
                self.selector.unregister(sock)
            except (KeyError, ValueError):
                pass
            return None
        if data.startswith(b"K"):
            try:
                _kill(record["pid"], int(data[1:]))
            except ValueError:
                pass
        return None

    def _drain_wake(self):
        try:
            while os.read(self.wake_r, 256):
                pass
        except (BlockingIOError, InterruptedError, OSError):
            pass

    def _reap(self):
        if not self.children:
            return
        for pid, status in forkserver().reaped():
            record = self.children.pop(pid, None)
            if record is None:
                continue
            if os.WIFSIGNALED(status):
                message = b"Xs%d" % os.WTERMSIG(status)
            else:
                message = b"Xe%d" % os.waitstatus_to_exitcode(status)
            if not record.get("closed"):
                try:
                    record["sock"].setblocking(True)
                    record["sock"].send(message)
                except OSError:
                    pass
                self._close(record)
            if not self.children:
                return

    def close_in_child(self, keep: socket.socket):
        signal.set_wakeup_fd(-1)
        for record in list(self.conns.values()):
            if record["sock"] is not keep:
                record["sock"].close()
        self.selector.close()
        self.listener.close()
        os.close(self.wake_r)
        os.close(self.wake_w)


def _comparable(key: bytes, value: bytes | None, shim_dir: bytes | None) -> bytes | None:
    """PATH without the shims' own folder, which the launcher puts first once its zygotes run: a
    command found through a shim has it, the zygote's start-up did not."""
    if key != b"PATH" or value is None or shim_dir is None:
        return value
    return os.pathsep.encode().join(p for p in value.split(os.pathsep.encode()) if p != shim_dir)


def _aws_config(env: dict) -> bytes | None:
    if env.get(b"AWS_CONFIG_FILE"):
        return env[b"AWS_CONFIG_FILE"]
    return env[b"HOME"] + b"/.aws/config" if env.get(b"HOME") else None


def _mentions_mfa(config: bytes | None) -> bool:
    try:
        with open(config, "rb") as f:
            return b"mfa_serial" in f.read(1 << 20)
    except (OSError, TypeError, ValueError):
        return False


def _task_count():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def _same_user(sock: socket.socket) -> bool:
    import struct

    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return False
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


def _fds_from(ancdata) -> list[int]:
    import array

    fds = array.array("i")
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
    return list(fds)


def _close_all(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _kill(pid, sig):
    if pid:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


# -- the child: become `python SCRIPT ARGS` -----------------------------------------------------

class ChildJob:
    def __init__(self, zygote: Zygote, req: Request, sock: socket.socket):
        self.z = zygote
        self.req = req
        self.sock = sock

    def run(self):
        """Never returns normally: the script's end is this process's end."""
        z, req = self.z, self.req
        zygote_pid = os.getppid()
        set_parent_death_signal(signal.SIGKILL)  # the zygote gone = the kernel gone
        if os.getppid() != zygote_pid:
            os._exit(137)
        z.close_in_child(self.sock)
        try:
            self.sock.setblocking(True)
            self.sock.send(b"S%d" % os.getpid())
        except OSError:
            os._exit(137)  # the shim is gone: nobody waits for this command
        self.sock.close()
        try:
            self._become(z, req)
            code = compile(self._source, self.script, "exec", dont_inherit=True)
        except BaseException:  # anything unusual: be the real command, exactly (and say nothing:
            self._exec_real()  # stderr may already be the student's)
        main = self._main_module()
        try:
            exec(code, main.__dict__)
        except SystemExit:
            raise
        except BaseException as exc:
            self._uncaught(exc)

    def _become(self, z: Zygote, req: Request):
        # Out of the kernel's process group: Jupyter interrupts a kernel with killpg(SIGINT), which
        # never reaches a real command (it runs in the shell's session); the shim forwards the ^C
        # the terminal sends.
        os.setpgid(0, 0)
        _restore_signals()
        os.fchdir(req.cwd_fd)
        os.umask(req.umask)
        env = os.environb
        env.clear()
        env.update(req.env)
        for key, value in z.trace.writes:  # what the warm-up's imports did to the environment
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        time.tzset()
        if "tempfile" in sys.modules:
            sys.modules["tempfile"].tempdir = None
        for target in (0, 1, 2):
            if target in req.std_fds:
                os.dup2(req.std_fds[target], target, inheritable=True)
            else:
                try:
                    os.close(target)
                except OSError:
                    pass
        _make_stdio(req.std_fds)
        for fd in [req.cwd_fd, *req.std_fds.values()]:
            if fd > 2:
                os.close(fd)
        self.script = os.fsdecode(req.script)
        args = [os.fsdecode(a) for a in req.args]
        sys.argv = [self.script, *args]
        sys.orig_argv = [z.interpreter, self.script, *args]
        with open(self.script, "rb") as f:
            self._source = f.read()

    def _main_module(self):
        import builtins
        import importlib.machinery
        import types

        main = types.ModuleType("__main__")
        main.__file__ = self.script
        main.__cached__ = None
        main.__builtins__ = builtins
        main.__loader__ = importlib.machinery.SourceFileLoader("__main__", self.script)
        main.__spec__ = None
        main.__package__ = None
        main.__annotations__ = {}
        sys.modules["__main__"] = main
        return main

    def _uncaught(self, exc: BaseException):
        """As the interpreter does for an exception a script lets out: sys.excepthook with the
        script's frames only, exit status 1 (a KeyboardInterrupt: killed by SIGINT)."""
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
        exc = exc.with_traceback(tb)
        sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, tb
        try:
            sys.excepthook(type(exc), exc, tb)
        except BaseException:
            pass
        if isinstance(exc, KeyboardInterrupt):
            import atexit

            threading._shutdown()
            atexit._run_exitfuncs()
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        raise SystemExit(1)

    def _exec_real(self):
        req, env = self.req, dict(self.req.env)
        # the request's cwd, umask and stdio, whatever _become got to (each step may be done already)
        steps = [lambda: os.fchdir(req.cwd_fd), lambda: os.umask(req.umask),
                 lambda: signal.signal(signal.SIGPIPE, signal.SIG_DFL),
                 lambda: signal.signal(signal.SIGXFSZ, signal.SIG_DFL)]
        steps += [lambda t=t, fd=fd: os.dup2(fd, t, inheritable=True) for t, fd in req.std_fds.items() if fd != t]
        for step in steps:
            try:
                step()
            except (OSError, ValueError):
                pass
        try:
            os.execve(self.z.interpreter, [self.z.interpreter, os.fsdecode(self.req.script),
                                          *[os.fsdecode(a) for a in self.req.args]], env)
        except OSError:
            os._exit(127)


def _restore_signals():
    """A fresh interpreter's dispositions, and nothing blocked."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
                signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _make_stdio(present: dict):
    """sys.stdin/stdout/stderr as the interpreter makes them at start-up (Python/pylifecycle.c,
    create_stdio), on the shim's descriptors, with the zygote's own encoding and error handlers
    (the start-up variables are equal, or the request was declined)."""
    buffered = not isinstance(getattr(sys.__stdout__, "buffer", None), io.FileIO)
    streams = []
    for fd, write, name, model in ((0, False, "<stdin>", sys.__stdin__), (1, True, "<stdout>", sys.__stdout__),
                                   (2, True, "<stderr>", sys.__stderr__)):
        if fd not in present:
            streams.append(None)
            continue
        buffering = -1 if (buffered or not write) else 0
        buf = io.open(fd, "wb" if write else "rb", buffering=buffering, closefd=False)
        raw = buf.raw if buffering else buf
        raw.name = name
        isatty = raw.isatty()
        stream = io.TextIOWrapper(buf, encoding=model.encoding, errors=model.errors, newline="\n",
                                  line_buffering=buffered and (isatty or fd == 2), write_through=not buffered)
        stream.mode = "w" if write else "r"
        streams.append(stream)
    sys.stdin = sys.__stdin__ = streams[0]
    sys.stdout = sys.__stdout__ = streams[1]
    sys.stderr = sys.__stderr__ = streams[2]


# -- warmed ahead, adopted by a kernel (the grader's fork server) --------------------------------

ADOPT_MAGIC = b"LKA1"


def _user_site_present() -> bool:
    import site

    try:
        return bool(site.ENABLE_USER_SITE) and os.path.isdir(site.getusersitepackages())
    except Exception:
        return True  # unknown: never adopt


class Prepared:
    """A zygote's start-up done once, before any kernel exists, in a clean process: the grader's
    template for this command (grader/sandbox/template.py), which forks one zygote into each
    submission's sandbox from it; that kernel's launcher then adopts it (launcher.py) instead of
    starting its own. All a started zygote does ahead is done here: the traced imports, every idle
    work (awscli's parsed models; `labkit gcloud`'s imports too, paid once per template instead of
    once per kernel), the gc freeze.
    What only the kernel knows is checked when it adopts the fork (`refusal`): its environment must
    agree with this process's start-up environment in every variable the interpreter's start-up or
    an import read, and every imported file must be the one the sandbox shows; else the kernel
    starts a zygote of its own, as without the grader."""

    def __init__(self, command: str, script: str, interpreter: str, loaded_by_caller: tuple[str, ...] = ()):
        """`loaded_by_caller`: the modules the caller loaded by path before this (this one among
        them): they ran after the interpreter's start-up, so what they read is no start-up read."""
        self.command, self.script, self.interpreter = command, script, interpreter
        self.startup_env = dict(os.environb)
        self.startup_keys = startup_hook_keys()  # for the requests, as a started zygote has them
        self.hook_keys = startup_hook_keys(not_hooks=loaded_by_caller)  # for the adoption
        self.user_site = _user_site_present()
        self.trace, idle = warm_up(command, script)
        for work in idle:  # `labkit gcloud`'s imports too (AfterFirst): once per template, not per kernel
            try:
                work()
            except Exception as error:
                log(f"warm-up ahead: {error!r}")
        gc.collect()
        gc.freeze()
        self.fingerprint = {path: signature(path) for path in installation_files(script)}

    def refusal(self, data: bytes, shim_dir: bytes) -> tuple[str | None, dict]:
        """(None, the kernel's environment) if this zygote is what the kernel would have started;
        else (why not, {})."""
        parts = data.split(b"\0")
        if len(parts) < 3 or parts[0] != ADOPT_MAGIC:
            return "not an adoption request", {}
        env = {}
        for item in parts[3:]:
            key, sep, value = item.partition(b"=")
            if sep and key:
                env[key] = value
        if os.path.realpath(os.fsdecode(parts[1])) != os.path.realpath(self.script):
            return "another script", {}
        if os.fsdecode(parts[2]) != self.interpreter:
            return "another interpreter", {}
        if self.trace.read_all:
            return "the warm-up read the whole environment", {}
        keys = set(self.trace.reads) | set(STARTUP_NAMES) | self.hook_keys
        for mapping in (env, self.startup_env):
            keys.update(k for k in mapping if k.startswith(STARTUP_PREFIXES))
        for key in sorted(keys):
            if _comparable(key, env.get(key), shim_dir) != _comparable(key, self.startup_env.get(key), shim_dir):
                return f"{os.fsdecode(key)} differs from the zygote's start-up", {}
        if self.user_site or _user_site_present():
            return "a user site-packages folder", {}
        for module in list(sys.modules.values()):  # what the zygote's children will run
            path = getattr(module, "__file__", None)
            if isinstance(path, str) and signature(path) != self.fingerprint.get(path, signature(path)):
                return f"{path} is not the same in the sandbox", {}
        if threading.active_count() != 1 or _task_count() not in (None, 1):
            return "the zygote is not single-threaded", {}
        return None, env


def serve_adopted(prepared: Prepared, listener: socket.socket, folder: str):
    """In a fork of the template, inside the kernel's sandbox, listening on FOLDER/COMMAND.sock:
    wait for the kernel to adopt it, then serve it as the zygote it would have started. Returns a
    ChildJob in a forked child, None when refused or the kernel is gone (the caller exits)."""
    import struct

    shim_dir = os.fsencode(os.path.join(folder, "bin"))
    while True:
        try:
            sock, _ = listener.accept()
        except InterruptedError:
            continue
        if _same_user(sock):
            break
        sock.close()
    with sock:
        sock.settimeout(10)
        try:
            data = sock.recv(MAX_REQUEST)
            pid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[0]
            reason, env = prepared.refusal(data, shim_dir)
            pidfd = os.pidfd_open(pid) if reason is None else None
        except OSError as error:
            reason, pidfd = f"the kernel's request: {error}", None
        try:
            sock.send(b"N" + reason.encode(errors="replace") if reason else b"Y%d" % os.getpid())
        except OSError:
            return None
    if reason is not None:
        log(f"not adopted: {reason}")
        return None
    zygote = Zygote(prepared.command, prepared.script, listener, os.getppid(), prepared.interpreter,
                    startup_keys=prepared.startup_keys)
    os.environb.clear()
    os.environb.update(env)
    for key, value in prepared.trace.writes:  # as the imports left a started zygote's environment
        if value is None:
            os.environb.pop(key, None)
        else:
            os.environb[key] = value
    zygote.startup_env = env
    zygote.shim_dir = shim_dir
    zygote.trace = prepared.trace
    zygote.kernel_pidfd = pidfd
    # what it imported, as the sandbox shows it (the modules were checked at adoption; the folders
    # on sys.path are the sandbox's own)
    zygote.fingerprint = {path: signature(path) for path in installation_files(prepared.script)}
    log(f"{prepared.command}: adopted by the kernel (pid {pid})")
    job = zygote.serve()
    if job is None:  # the kernel is gone: so are its shims (as a started zygote does)
        import shutil

        log("stopping")
        shutil.rmtree(folder, ignore_errors=True)
    return job


# -- entry point --------------------------------------------------------------------------------

def main(argv: list[str]) -> None:
    """argv: COMMAND SCRIPT INTERPRETER SOCKET_FD PARENT_PID FOLDER"""
    command, script, interpreter, sock_fd, parent, folder = (argv[0], argv[1], argv[2], int(argv[3]), int(argv[4]),
                                                            argv[5])
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent:
        return
    sys.path[0] = os.path.dirname(os.path.realpath(script))  # as for `python SCRIPT`
    listener = socket.socket(fileno=sock_fd)
    zygote = Zygote(command, script, listener, parent, interpreter)
    zygote.shim_dir = os.fsencode(os.path.join(folder, "bin"))  # launcher.py: FOLDER/bin holds the shims
    t0 = time.monotonic()
    zygote.trace, zygote.idle = warm_up(command, script)
    gc.collect()
    gc.freeze()  # children do not walk (and copy) the zygote's objects at every collection
    zygote.fingerprint = {path: signature(path) for path in installation_files(script)}
    log(f"{command}: ready in {time.monotonic() - t0:.2f} s; import-time reads "
        f"{sorted(k.decode(errors='replace') for k in zygote.trace.reads)}, writes "
        f"{[k.decode(errors='replace') for k, _ in zygote.trace.writes]}")
    job = zygote.serve()
    if job is None:  # the kernel is gone (or we were told to stop): so are its shims
        import shutil

        log("stopping")
        shutil.rmtree(folder, ignore_errors=True)
        return
    job.run()
