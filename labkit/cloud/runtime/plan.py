"""From an image config and a ContainerSpec to what the container's first process is: argv,
environment, working folder, user and stop signal, with docker's rules (paths as the container
sees them)."""
from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path

from labkit.cloud.runtime.rootfs import inside
from labkit.cloud.runtime.spec import CannotStart, ContainerSpec

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # docker's, when the image has none
# `USER app` after a `RUN useradd app` that labkit only recorded: the user the Dockerfile meant
# (a new user's usual uid) instead of docker's "unable to find user"
UNKNOWN_USER_ID = 1000


@dataclass
class Plan:
    argv: list[str]
    env: dict[str, str]
    workdir: str
    uid: int
    gid: int
    stop_signal: int


def image_env(config: dict) -> dict[str, str]:
    env = {}
    for item in config.get("Env") or []:
        key, sep, value = str(item).partition("=")
        if key:
            env[key] = value if sep else ""
    return env


def command(config: dict, spec: ContainerSpec) -> list[str]:
    """Entrypoint + Cmd. As with `docker run --entrypoint`, an entrypoint override drops the
    image's Cmd."""
    entrypoint = spec.entrypoint if spec.entrypoint is not None else list(config.get("Entrypoint") or [])
    if spec.command is not None:
        cmd = spec.command
    elif spec.entrypoint is not None:
        cmd = []
    else:
        cmd = list(config.get("Cmd") or [])
    argv = [str(a) for a in [*entrypoint, *cmd]]
    if not argv:
        raise CannotStart("No command specified")
    return argv


def _table(root: Path, name: str) -> list[list[str]]:
    path = inside(root, f"etc/{name}", follow_last=True)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def user_ids(root: Path, user: str) -> tuple[int, int, str]:
    """(uid, gid, home) of docker's USER forms: "", "name", "uid", "name:group", "uid:gid"."""
    name, _, group = (user or "").partition(":")
    if not name:
        return 0, 0, "/root"
    passwd = _table(root, "passwd")
    entry = next((e for e in passwd if len(e) >= 6 and (e[0] == name or e[2] == name)), None)
    if entry is not None:
        uid, gid, home = int(entry[2]), int(entry[3]), entry[5] or "/"
    elif name.isdigit():
        uid, gid, home = int(name), 0, "/"  # docker: no passwd entry, group root
    else:
        uid, gid, home = UNKNOWN_USER_ID, UNKNOWN_USER_ID, "/"
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            found = next((e for e in _table(root, "group") if len(e) >= 3 and e[0] == group), None)
            if found is None:
                raise CannotStart(f"unable to find group {group}: no matching entries in group file")
            gid = int(found[2])
    return uid, gid, ("/root" if uid == 0 and entry is None else home)


def stop_signal(config: dict) -> int:
    value = str(config.get("StopSignal") or "SIGTERM").upper()
    if value.isdigit():
        return int(value)
    name = value if value.startswith("SIG") else "SIG" + value
    return int(getattr(signal, name, signal.SIGTERM))


def make_plan(spec: ContainerSpec, root: Path, hostname: str) -> Plan:
    config = spec.image.config.get("config") or {}
    env = image_env(config)
    env.setdefault("PATH", DEFAULT_PATH)
    env["HOSTNAME"] = hostname
    env.update({str(k): str(v) for k, v in (spec.environment or {}).items()})
    uid, gid, home = user_ids(root, spec.user if spec.user is not None else str(config.get("User") or ""))
    env.setdefault("HOME", home)
    workdir = spec.working_dir or config.get("WorkingDir") or "/"
    if not workdir.startswith("/"):
        workdir = "/" + workdir
    return Plan(argv=command(config, spec), env=env, workdir=workdir, uid=uid, gid=gid,
                stop_signal=stop_signal(config))
