"""The command line of a container's first process: the agent (agent.py) that runs the image's
command, either inside bubblewrap (the image's files as `/`, its own pid, network, ipc and uts
namespaces, dying with the cloud) or, where bubblewrap cannot run, as a plain process in its own
session (isolating nothing but its environment; see docs/fidelity.md, Runtime).

LABKIT_RUNTIME_ISOLATION: unset/"auto" = bubblewrap where it works, else plain; "none" = always
plain; "bwrap" = bubblewrap or refuse to start containers (for graders).
"""
from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from labkit.cloud.runtime.plan import Plan
from labkit.cloud.runtime.rootfs import inside
from labkit.cloud.runtime.spec import CannotStart
from labkit.cloud.runtime.standin import StandIn, local_python, python_home

AGENT = Path(__file__).with_name("agent.py")
PLAIN_SITE = Path(__file__).with_name("plainpath")
AGENT_INSIDE = "/run/labkit/agent.py"
OWN_COPY = Path(sys.prefix) / "libexec" / "grader" / "bwrap"  # where `grader sandbox install` puts one
TOP_LEVEL = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
USR_LIBS = ("/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32")
USR_PROGRAMS = ("/usr/bin", "/usr/sbin", "/usr/libexec")
HOST_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"  # a plain process's OS programs, after the image's folders


@dataclass(frozen=True)
class Isolation:
    bwrap: str | None          # None: plain processes
    overlay: bool              # bwrap >= 0.9: --overlay-src/--tmp-overlay instead of a copy per container
    how: str                   # a sentence: which, and why


def find_bwrap() -> str | None:
    found = shutil.which("bwrap")
    if found:
        return found
    return str(OWN_COPY) if OWN_COPY.is_file() and os.access(OWN_COPY, os.X_OK) else None


def _minimal(bwrap: str, extra: list[str], code: str) -> subprocess.CompletedProcess:
    argv = [bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", *extra, "--proc", "/proc",
            "--dev", "/dev", "--", str(local_python()), "-I", "-S", "-c", code]
    return subprocess.run(argv, capture_output=True, text=True, timeout=20, env={})


@functools.lru_cache(maxsize=1)
def isolation() -> Isolation:
    switch = os.environ.get("LABKIT_RUNTIME_ISOLATION", "auto").strip().lower()
    if switch in ("none", "0", "off", "no", "plain"):
        return Isolation(None, False, "plain processes (LABKIT_RUNTIME_ISOLATION=none)")
    if not sys.platform.startswith("linux"):
        why = f"plain processes: bubblewrap needs Linux namespaces, this is {sys.platform}"
    elif (bwrap := find_bwrap()) is None:
        why = "plain processes: bubblewrap (bwrap) is not installed"
    else:
        try:
            done = _minimal(bwrap, ["--ro-bind", "/", "/"], "import os; print(os.getpid())")
            ok, detail = done.returncode == 0 and done.stdout.strip() in ("1", "2"), done.stderr.strip()
        except (OSError, subprocess.TimeoutExpired) as exc:
            ok, detail = False, str(exc)
        if ok:
            return Isolation(bwrap, _overlay_works(bwrap), f"bubblewrap ({bwrap})")
        why = f"plain processes: bwrap cannot make namespaces here ({(detail.splitlines() or ['?'])[-1]})"
    if switch == "bwrap":
        raise CannotStart(f"LABKIT_RUNTIME_ISOLATION=bwrap, but: {why}")
    return Isolation(None, False, why)


def _overlay_works(bwrap: str) -> bool:
    """bwrap 0.9 can lay a tmpfs over a read-only lower folder: no copy per container. Tried once
    for real, with the very command line a container gets (bwrap_launch), over an empty image."""
    try:
        if "--tmp-overlay" not in subprocess.run([bwrap, "--help"], capture_output=True, text=True,
                                                 timeout=10).stdout:
            return False
        with tempfile.TemporaryDirectory() as tmp:
            lower, etc_dir = Path(tmp, "lower"), Path(tmp, "etc")
            for folder in (lower, etc_dir):
                folder.mkdir()
            (lower / "seen").write_text("yes")
            (etc_dir / "hosts").write_text("127.0.0.1\tlocalhost\n")
            (etc_dir / "hostname").write_text("probe\n")
            code = "open('/new', 'w').write('x'); print(open('/seen').read())"
            plan = Plan(argv=[str(local_python()), "-I", "-S", "-c", code], env={"PATH": "/usr/bin:/bin"},
                        workdir="/", uid=0, gid=0, stop_signal=15)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as control:
                control.bind(str(Path(tmp, "agent.sock")))
                control.listen(1)
                how = bwrap_launch(Isolation(bwrap, True, "probe"), plan, host_view(lower, None), lower=lower,
                                   etc_dir=etc_dir, hostname="probe", control_fd=control.fileno(), relay_fds={},
                                   standin=None)
                done = subprocess.run(how.argv, env=how.env, cwd=how.cwd, capture_output=True, text=True,
                                      timeout=20, pass_fds=how.pass_fds)
            return done.returncode == 0 and done.stdout.strip() == "yes" and not (lower / "new").exists()
    except (OSError, subprocess.TimeoutExpired, CannotStart):
        return False


def python_paths() -> list[Path]:
    """What must be visible for the local Python to run: its installation, or, when it lives
    in /usr (a system Python), just its executable, standard library and shared library."""
    home = python_home()
    if not str(home).startswith("/usr"):
        return [home]
    paths = [local_python()]
    for key in ("stdlib", "platstdlib"):
        found = Path(os.path.realpath(sysconfig.get_path(key)))
        if found not in paths:
            paths.append(found)
    library = sysconfig.get_config_var("LDLIBRARY")
    libdir = sysconfig.get_config_var("LIBDIR")
    if library and libdir and sysconfig.get_config_var("Py_ENABLE_SHARED") and Path(libdir, library).exists():
        paths.append(Path(os.path.realpath(Path(libdir, library))))
    return paths


@dataclass
class View:
    """What a container sees: its rootfs, plus host paths shown read-only at the same place."""

    root: Path
    binds: list[str] = field(default_factory=list)            # host folders/files, bound read-only
    links: list[tuple[str, str]] = field(default_factory=list)  # (target, path): the host's /bin -> usr/bin ...

    def shows_host(self, path: str) -> bool:
        return any(path == b or path.startswith(b.rstrip("/") + "/") for b in self.binds + [p for _, p in self.links])

    def exists(self, path: str, hops: int = 0) -> bool:
        if hops > 40:
            return False
        if self.shows_host(path):
            return os.path.exists(path)
        host = inside(self.root, path)
        if host.is_symlink():
            target = os.readlink(host)
            following = target if target.startswith("/") else os.path.join(os.path.dirname(path), target)
            return self.exists(os.path.normpath(following), hops + 1)
        return host.exists()


def host_view(root: Path, standin: StandIn | None) -> View:
    """The host paths a container needs: the OS's libraries (and, on a stand-in, its programs)
    where the image has no folder of its own, the local Python, and the course's site-packages."""
    view = View(root)
    usr = USR_LIBS + (USR_PROGRAMS if standin is not None else ())
    for name in TOP_LEVEL:
        if os.path.lexists(root / name.lstrip("/")) or not os.path.lexists(name):
            continue
        if os.path.islink(name):
            view.links.append((os.readlink(name), name))
        elif name in ("/lib", "/lib32", "/lib64", "/libx32") or standin is not None:
            view.binds.append(name)
    for name in usr:
        if os.path.isdir(name) and not os.path.lexists(inside(root, name)):
            view.binds.append(name)
    for path in python_paths() + [Path(p) for p in (standin.course_paths if standin else [])]:
        if not view.shows_host(str(path)):
            view.binds.append(str(path))
    return view


def python_path(plan: Plan, standin: StandIn | None, inner=lambda p: p) -> str | None:
    """PYTHONPATH: the image's own, then its site-packages, then the course's (for a stand-in)."""
    parts = [p for p in plan.env.get("PYTHONPATH", "").split(":") if p]
    parts = [inner(p) for p in parts]
    if standin is not None and standin.site_packages:
        parts.append(inner(standin.site_packages))
        parts.extend(standin.course_paths)
    return ":".join(dict.fromkeys(parts)) or None


def check_command(argv0: str, search: str, exists) -> None:
    """Raise CannotStart as docker words it when the command cannot be found."""
    if "/" in argv0:
        if exists(argv0):
            return
        raise CannotStart(f'exec: "{argv0}": stat {argv0}: no such file or directory')
    for folder in search.split(":"):
        if folder and exists(os.path.join(folder, argv0)):
            return
    raise CannotStart(f'exec: "{argv0}": executable file not found in $PATH')


@dataclass
class Launch:
    argv: list[str]
    env: dict[str, str]
    cwd: str
    pass_fds: tuple[int, ...] = ()


def agent_options(control_fd: int, relay_fds: dict[int, int],
                  parent_fd: int | None = None) -> tuple[list[str], tuple[int, ...]]:
    """The agent's socket options and the file descriptors to hand it (see agent.py)."""
    options = ["--control-fd", str(control_fd)]
    for port, fd in relay_fds.items():
        options += ["--port", f"{port}={fd}"]
    fds = (control_fd, *relay_fds.values())
    if parent_fd is not None:
        options += ["--parent-fd", str(parent_fd)]
        fds += (parent_fd,)
    return options, fds


def bwrap_launch(iso: Isolation, plan: Plan, view: View, *, lower: Path | None, etc_dir: Path, hostname: str,
                 control_fd: int, relay_fds: dict[int, int], standin: StandIn | None,
                 parent_fd: int | None = None) -> Launch:
    """bubblewrap over the image: `view.root` bound writable as `/` (a container's own copy), or,
    with `lower`, a tmpfs overlay on the cached rootfs. `relay_fds`: container port -> a listening
    unix socket the agent relays to that port. `parent_fd`: the read end of a pipe the cloud holds
    open; the agent ends the container when it closes. --die-with-parent alone misses a cloud that
    dies while bwrap starts (before its prctl), which left a container running under pid 1."""
    env = dict(plan.env)
    path = python_path(plan, standin)
    if path:
        env["PYTHONPATH"] = path
    check_command(plan.argv[0], env.get("PATH", ""), view.exists)
    cmd = [iso.bwrap, "--unshare-all", "--unshare-user", "--die-with-parent",
           "--uid", str(plan.uid), "--gid", str(plan.gid), "--hostname", hostname]
    cmd += ["--overlay-src", str(lower), "--tmp-overlay", "/"] if lower is not None else ["--bind", str(view.root), "/"]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    for target, link in view.links:
        cmd += ["--symlink", target, link]
    for host in view.binds:
        cmd += ["--ro-bind", host, host]
    for name in ("hosts", "hostname"):
        cmd += ["--ro-bind", str(etc_dir / name), f"/etc/{name}"]
    cmd += ["--ro-bind", str(AGENT), AGENT_INSIDE, "--dir", plan.workdir, "--chdir", plan.workdir, "--"]
    options, fds = agent_options(control_fd, relay_fds, parent_fd)
    cmd += [str(local_python()), "-I", "-S", AGENT_INSIDE, *options]
    return Launch(argv=[*cmd, "--", *plan.argv], env=env, cwd="/", pass_fds=fds)


def plain_launch(plan: Plan, root: Path, *, address: str, ports: dict[int, int], standin: StandIn | None,
                 control_fd: int, parent_fd: int) -> Launch:
    """A plain process: paths of the image's folders point into `root` (its own copy), the OS's
    programs are the host's, and sitecustomize maps its binds to the container's address."""
    def outer(path: str) -> str:
        return str(root / path.lstrip("/"))

    def mapped(arg: str) -> str:  # an absolute path the image holds: the copy's
        return outer(arg) if arg.startswith("/") and os.path.lexists(inside(root, arg)) else arg

    env = dict(plan.env)
    env["PATH"] = ":".join([outer(p) for p in plan.env.get("PATH", "").split(":") if p.startswith("/")] + [HOST_PATH])
    env["HOME"] = outer(plan.env.get("HOME", "/"))
    env["PYTHONPATH"] = ":".join(filter(None, [str(PLAIN_SITE), python_path(plan, standin, outer)]))
    env["LABKIT_CONTAINER_NET"] = address + " " + ",".join(f"{p}={h}" for p, h in ports.items())
    argv = [mapped(a) for a in plan.argv]
    check_command(argv[0], env["PATH"], lambda p: os.path.isfile(p) and os.access(p, os.X_OK))
    cwd = root / plan.workdir.lstrip("/")
    cwd.mkdir(parents=True, exist_ok=True)
    options, fds = agent_options(control_fd, {})
    cmd = [str(local_python()), "-I", "-S", str(AGENT), *options, "--parent-fd", str(parent_fd)]
    return Launch(argv=[*cmd, "--", *argv], env=env, cwd=str(cwd), pass_fds=(*fds, parent_fd))


def map_exec_args(argv: list[str], root: Path | None) -> list[str]:
    """ECS Exec's argv for a plain process: absolute paths the image holds point into its copy."""
    if root is None:
        return argv
    return [str(root / a.lstrip("/")) if a.startswith("/") and os.path.lexists(inside(root, a)) else a for a in argv]
