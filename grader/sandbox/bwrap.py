"""The bubblewrap command line for one submission's kernel (see grader/sandbox/__init__.py)."""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

RELAY = Path(__file__).with_name("relay.py")
# Inside, the relay and the socket to the cloud have neutral names of their own (nothing there
# names the grader or its folders).
RELAY_INSIDE = "/run/labkit/relay.py"
SOCKET_INSIDE = "/run/labkit/cloud.sock"
# Where `grader sandbox install` puts the project's own copy when the machine has no bwrap.
OWN_COPY = Path(sys.prefix) / "libexec" / "grader" / "bwrap"
SYSTEM = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What the kernel's environment may keep of the worker's: the rest (an instructor's tokens, their
# real cloud credentials, paths into the course) never reaches student code.
ENV_KEEP_PREFIXES = ("LABKIT_", "AWS_", "LC_", "NBGRADER_", "JPY_", "GRADER_SUBMISSION")
ENV_KEEP = ("LANG", "LANGUAGE", "TZ", "PYTHONHASHSEED", "PYDEVD_DISABLE_FILE_VALIDATION")
ENV_DROP = ("LABKIT_CONTROL_TOKEN", "LABKIT_BASE_HOME")


class SandboxUnavailable(RuntimeError):
    pass


def find_bwrap() -> str | None:
    found = shutil.which("bwrap")
    if found:
        return found
    return str(OWN_COPY) if OWN_COPY.is_file() and os.access(OWN_COPY, os.X_OK) else None


@functools.lru_cache(maxsize=1)
def probe() -> tuple[bool, str]:
    """(True, how) if this machine can run a sandbox here and now, else (False, why not)."""
    if os.environ.get("GRADER_SANDBOX", "").lower() in ("0", "no", "none", "off"):
        return False, "switched off (GRADER_SANDBOX=none)"
    if not sys.platform.startswith("linux"):
        return False, f"needs Linux namespaces; this is {sys.platform}"
    bwrap = find_bwrap()
    if bwrap is None:
        return False, "bubblewrap (bwrap) is not installed: run `grader sandbox install`"
    box = Sandbox(Path("/nonexistent"), writable=[], bwrap=bwrap)
    argv = box.wrap([sys.executable, "-I", "-S", "-c", "import os; print(os.getpid())"], env={}, chdir="/")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bwrap does not run here ({exc})"
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return False, f"bwrap cannot make namespaces here ({reason})"
    if done.stdout.strip() not in ("1", "2"):  # a pid of a new pid namespace
        return False, "bwrap ran without a process namespace"
    return True, f"bubblewrap ({bwrap})"


def readable_paths() -> list[Path]:
    """The Python installation and the one package a kernel imports, nothing around them."""
    import labkit

    paths = [Path(sys.base_prefix), Path(sys.prefix)]
    # An editable install maps packages to folders of the repository: bind labkit's folder only
    # (the repository also holds solutions/, the labs' sources and the grader's samples).
    paths.extend(Path(p) for p in labkit.__path__)
    found = []
    for path in paths:
        path = path.resolve()
        if not any(path == p or p in path.parents for p in found) and not path.as_posix().startswith(SYSTEM):
            found = [p for p in found if path not in p.parents] + [path]
    return found


@dataclass
class Sandbox:
    """One submission's walls. `writable` folders are bound read-write at their own paths;
    `home` and `tmp` become HOME and /tmp; `relay` = (port, unix socket) makes 127.0.0.1:port
    inside reach the socket outside."""

    root: Path
    writable: list[Path] = field(default_factory=list)
    home: Path | None = None
    tmp: Path | None = None
    relay: tuple[int, Path] | None = None
    bwrap: str | None = None

    def wrap(self, argv: list[str], env: dict[str, str], chdir: str) -> list[str]:
        return self.plan(argv, env, chdir)[0]

    def plan(self, argv: list[str], env: dict[str, str], chdir: str) -> tuple[list[str], dict[str, str]]:
        """The command line that runs `argv` in the sandbox, and the environment it gets there."""
        bwrap = self.bwrap or find_bwrap()
        if bwrap is None:
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed")
        cmd = [bwrap, "--unshare-all", "--die-with-parent", "--proc", "/proc", "--dev", "/dev"]
        for name in SYSTEM:
            if os.path.islink(name):
                cmd += ["--symlink", os.readlink(name), name]
            elif os.path.isdir(name):
                cmd += ["--ro-bind", name, name]
        # /tmp first: the installation or the job's folders may live under the real /tmp, and a
        # later mount over /tmp would hide them
        cmd += ["--tmpfs", "/tmp"] if self.tmp is None else ["--bind", str(self.tmp), "/tmp"]
        for path in readable_paths():
            cmd += ["--ro-bind", str(path), str(path)]
        for path in self.writable:
            cmd += ["--bind", str(path), str(path)]
        kept = sandbox_environment(env)
        if self.home is not None:
            cmd += ["--bind", str(self.home), str(self.home)]
            kept["HOME"] = str(self.home)
            kept["IPYTHONDIR"] = str(self.home / ".ipython")
            kept["JUPYTER_CONFIG_DIR"] = str(self.home / ".jupyter")
            kept["JUPYTER_DATA_DIR"] = str(self.home / ".local" / "share" / "jupyter")
            kept["JUPYTER_RUNTIME_DIR"] = str(self.home / ".local" / "share" / "jupyter" / "runtime")
        kept["TMPDIR"] = "/tmp"
        if self.relay is not None:
            port, socket_path = self.relay
            cmd += ["--ro-bind", str(RELAY), RELAY_INSIDE, "--bind", str(socket_path), SOCKET_INSIDE]
        cmd += ["--chdir", chdir, "--"]
        if self.relay is not None:
            cmd += [sys.executable, "-I", "-S", RELAY_INSIDE, "inside", str(port), SOCKET_INSIDE, "--"]
        # bwrap itself starts with the kept environment only: inside, it is the sandbox's init,
        # whose /proc/1/environ the kernel can read
        return ["/usr/bin/env", "-i", *(f"{k}={v}" for k, v in sorted(kept.items())), *cmd, *argv], kept


def sandbox_environment(env: dict[str, str]) -> dict[str, str]:
    kept = {k: v for k, v in env.items()
            if (k in ENV_KEEP or k.startswith(ENV_KEEP_PREFIXES)) and k not in ENV_DROP}
    # PATH keeps only folders that exist inside: the venv's bin first, then the system's.
    inside = [str(Path(sys.executable).parent)]
    for folder in env.get("PATH", "").split(os.pathsep):
        if folder.startswith(SYSTEM) and folder not in inside:
            inside.append(folder)
    kept["PATH"] = os.pathsep.join(inside)
    return kept
