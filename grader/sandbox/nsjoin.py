"""Moving the calling process into a running bubblewrap sandbox (standard library only: it runs in
the kernel template, see template.py).

bwrap makes an outer user namespace that owns the sandbox's mount, network, IPC, UTS and process
namespaces, sets up the mounts, then makes a nested user namespace for the sandboxed process (so
the mounts are locked). To join, a process of the same user, outside, enters the outer user
namespace (reached from the inner one with NS_GET_PARENT), then the other namespaces, then the
inner user namespace, takes the sandbox's root, gives up every capability the user namespaces
granted it (bounding, ambient, effective, permitted, inheritable) and sets no_new_privs: after
that it has what a process bwrap started has, no more. Its children are in the sandbox's process
namespace (setns of a pid namespace applies to children), so the caller forks next.
Tried unprivileged (as `nobody`) on Linux 5.x/6.x with bubblewrap 0.8.
"""
from __future__ import annotations

import ctypes
import fcntl
import os

NS_GET_USERNS = 0xB701  # ioctl on a namespace fd: the user namespace that owns it
JOINED = ("mnt", "net", "ipc", "uts", "pid")
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522


class JoinError(OSError):
    pass


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


_libc = None


def _c():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise JoinError(err, f"{what}: {os.strerror(err)}")


def open_target(pid: int) -> dict[str, int]:
    """File descriptors of the namespaces and root of process `pid` (a process inside the sandbox)."""
    fds: dict[str, int] = {}
    try:
        for name in JOINED:
            fds[name] = os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
        own = os.stat("/proc/self/ns/user").st_ino
        # The user namespace that owns the mounts (bwrap's outer one; the caller's own when bwrap
        # ran as root and made a single one), then the process's own, each only if not ours.
        outer = fcntl.ioctl(fds["mnt"], NS_GET_USERNS)
        if os.fstat(outer).st_ino != own:
            fds["outer"] = outer
        else:
            os.close(outer)
        inner = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        owner = os.fstat(fds["outer"]).st_ino if "outer" in fds else own
        if os.fstat(inner).st_ino != owner:
            fds["inner"] = inner
        else:
            os.close(inner)
        fds["root"] = os.open(f"/proc/{pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        _last_capability()  # read now: after the join, /proc is the sandbox's
    except OSError:
        close(fds)
        raise
    return fds


def close(fds: dict[str, int]) -> None:
    for fd in fds.values():
        try:
            os.close(fd)
        except OSError:
            pass


def join(fds: dict[str, int]) -> None:
    """Enter the sandbox that `fds` (open_target) describe. Single-threaded callers only."""
    libc = _c()
    if "outer" in fds:
        _check(libc.setns(fds["outer"], 0), "setns(outer user namespace)")
    for name in JOINED:
        _check(libc.setns(fds[name], 0), f"setns({name})")
    if "inner" in fds:
        _check(libc.setns(fds["inner"], 0), "setns(inner user namespace)")
    os.fchdir(fds["root"])
    os.chroot(".")
    os.chdir("/")
    close(fds)
    drop_capabilities()  # also in the caller, which stays outside the process namespace


def drop_capabilities() -> None:
    """Every capability gone, verified with the syscalls (the caller's /proc/self may not resolve:
    it is outside the sandbox's process namespace)."""
    libc = _c()
    last = _last_capability()
    for cap in range(last + 1):
        _check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap} from the bounding set")
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # EINVAL on kernels without ambient caps
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(libc.capset(ctypes.byref(header), data), "capset(none)")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    left = (_CapData * 2)()
    _check(libc.capget(ctypes.byref(_CapHeader(LINUX_CAPABILITY_VERSION_3, 0)), left), "capget")
    if any(d.effective or d.permitted or d.inheritable for d in left):
        raise JoinError(0, "capabilities left after dropping them")
    if any(libc.prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 for cap in range(last + 1)):
        raise JoinError(0, "the bounding set kept a capability")


_LAST_CAP: int | None = None


def _last_capability() -> int:
    global _LAST_CAP
    if _LAST_CAP is None:
        try:
            with open("/proc/sys/kernel/cap_last_cap") as f:
                _LAST_CAP = int(f.read())
        except (OSError, ValueError):
            _LAST_CAP = 40
    return _LAST_CAP
