"""A cloud template: one process that has imported the local cloud's code once, and forks each new
cloud from it (the grader's clouds: one per submission, `start_cloud(..., template=...)`).

A cloud started the plain way (`python -m labkit.cloud.server`) spends ~0.2-0.3 CPU-s on its
interpreter and imports (werkzeug, the cloud's state, every service layer, protobuf for the Google
APIs) before its first request; a grader starts one per submission. The template imports them once
and, per request, forks: the fork is a fresh cloud (a new Gateway and CloudState made after the
fork: the template never served a request, so nothing of another cloud is in it), with its own
home, port, log, control token and owner, and runs `labkit.cloud.server.main` as the plain start
would. What it does not share with a plain start: its command line and /proc environment are the
template's (the token is given through the template's socket, not the environment: nothing of it
is in /proc at all).

The template is single-threaded (a fork of a process with threads could inherit a held lock); it
ends with its owner (a parent-death signal), and each cloud ends with the template, and with its
owner (labkit/cloud/owner.py). moto is imported in a cloud on its first request that needs it, as
in a plain start; `preload_moto` (asked once a cloud needed it) imports it in the template, so
later clouds have it.

Run as `python -m labkit.cloud.template FD OWNER_PID`: FD is a SOCK_SEQPACKET socket to its owner.
"""
from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import sys

from labkit import forkserver

MAX_REQUEST = 1 << 16
# what a cloud imports before or at its first requests (gateway.py imports the service layers on
# first use; the Google APIs' layers and tables come with rest.warm_up, in _preload)
PRELOAD = ("werkzeug.serving", "labkit.cloud.server", "labkit.cloud.state", "labkit.cloud.gateway",
           "labkit.cloud.gcp.rest", "labkit.cloud.registry.api", "labkit.cloud.gcp.grpc_server")
MOTO = ("moto.moto_server.werkzeug_app", "moto.moto_api._internal.models")

_ended: dict[int, int] = {}  # pid of a cloud -> its wait status, once reaped


def _import(names) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # a cloud without it imports it itself, as it always did
            pass


def _preload() -> None:
    _import(PRELOAD)
    from labkit.cloud import botocore_loader, gateway

    botocore_loader.share()
    _import(spec.split(":")[0] for table in (gateway.AWS_JSON_SERVICES, gateway.AWS_QUERY_SERVICES,
                                             gateway.SERVICE_PATHS) for spec in table.values())
    try:  # the Google APIs' tables (pure data: every cloud's are the same); their servers start per cloud
        from labkit.cloud.gcp import rest

        rest.warm_up()
    except Exception:  # a cloud loads them itself on its first Google request, as it always did
        pass


def _reap(signum, frame) -> None:
    for pid, status in forkserver.reaped():
        _ended[pid] = status
        if len(_ended) > 1000:  # the owner asks soon after a cloud's end, if at all
            for old in list(_ended)[:500]:
                del _ended[old]


single_threaded = forkserver.single_threaded


def serve(conn: socket.socket) -> None:
    """One request per message: {"start": {"home", "port", "env"}} -> {"pid"} (in the fork, the
    cloud runs and never returns here); {"status": pid} -> {"running"} or {"ended", "signal"};
    {"preload_moto": true} -> {"ok"}."""
    signal.signal(signal.SIGCHLD, _reap)
    while True:
        try:
            data = conn.recv(MAX_REQUEST)
        except InterruptedError:
            continue
        if not data:
            return
        try:
            request = json.loads(data)
            if "start" in request:
                reply = _fork_cloud(conn, request["start"])
            elif "status" in request:
                reply = _status(int(request["status"]))
            elif request.get("preload_moto"):
                signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
                try:
                    _import(MOTO)
                finally:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
                reply = {"ok": single_threaded()}
            else:
                reply = {"error": "unknown request"}
        except Exception as exc:  # never take the template down: this request fails, said so
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        conn.send(json.dumps(reply).encode())


def _status(pid: int) -> dict:
    status = _ended.get(pid)
    if status is None:
        return {"running": True}
    return {"ended": True, "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None}


def _fork_cloud(conn: socket.socket, request: dict) -> dict:
    if not single_threaded():
        raise RuntimeError("the cloud template is not single-threaded: it does not fork")
    home, port, env = str(request["home"]), int(request["port"]), dict(request.get("env") or {})
    log = os.open(os.path.join(home, "cloud.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        pid = os.fork()
        if pid == 0:
            _run_cloud(conn, home, port, env, log)  # never returns
    finally:
        os.close(log)
    return {"pid": pid}


def _run_cloud(conn: socket.socket, home: str, port: int, env: dict, log: int) -> None:
    """Be the cloud `python -m labkit.cloud.server --port PORT --home HOME` would have been, started
    as labkit.cloud.process starts one: its own session, cwd HOME, stdin /dev/null, output to its log."""
    forkserver.exit_as_program(lambda: _cloud_main(conn, home, port, env, log))


def _cloud_main(conn: socket.socket, home: str, port: int, env: dict, log: int) -> int:
    conn.close()
    os.setsid()
    forkserver.pdeathsig(signal.SIGKILL)  # the template's end (its owner's) ends it
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL if sig != signal.SIGPIPE else signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.closerange(3, forkserver.max_fd())
    os.chdir(home)
    os.environ.update(env)
    import random

    random.seed()  # not the template's sequence (ids moto makes with random)
    sys.path[0] = home  # as `python -m` in HOME sets it
    sys.argv = [sys.argv[0], "--port", str(port), "--home", home]
    from labkit.cloud import server

    return server.main(sys.argv[1:]) or 0


def main(argv: list[str]) -> None:
    forkserver.pdeathsig(signal.SIGKILL)  # it ends with its owner
    conn = socket.socket(fileno=int(argv[0]))
    if os.getppid() != int(argv[1]):
        return
    _preload()
    if not single_threaded():
        conn.send(b'{"error": "not single-threaded after its imports"}')
        return
    conn.send(b'{"ready": true}')
    serve(conn)


if __name__ == "__main__":
    main(sys.argv[1:])
