"""The runtime's agent inside a container (standard library only; run as
`python -I -S agent.py --control-fd FD [--port N=FD]... [--parent-fd FD] -- ARGV...`).

Its sockets come from the runtime already listening (unix sockets in a folder of the cloud's
that the container never sees, handed over as file descriptors): nothing the container can
rename or link to decides where the cloud connects. The agent starts the container's command
(its environment is the agent's own: the container's), then
- forwards the stop signal the runtime asks for to it (`{"op": "signal", "signal": 15}` on the
  control socket) and any signal it gets itself; `{"op": "ping"}` says it is up;
- runs `{"op": "exec", "argv": [...], "timeout": 30}` requests in the container (ECS Exec), with
  the container's files, environment and working folder, answering the exit code and output;
- with --port N=FD (bubblewrap: the container has its own network), answers each connection to
  that socket with SPARES new TCP sockets of the container's network, not yet connected, handed
  over as file descriptors (SCM_RIGHTS): a socket belongs to the network it was made in, so the
  cloud connects each to 127.0.0.1:N there itself and talks to the app, no byte passes through here,
  and one exchange serves SPARES connections (the lesson's Flask closes every connection);
- with --parent-fd, kills the command's process group when that pipe closes: the cloud process
  died, even by SIGKILL (a plain process has nothing else; under bubblewrap it backs up
  --die-with-parent, which misses a cloud that dies before bwrap has set it).
It exits with the command's exit status (128 + N when a signal N ended it), as docker reports it.
"""
from __future__ import annotations

import base64
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading

CHUNK = 1 << 16
SPARES = 32  # sockets handed over per exchange (network.py connects them, one per connection)
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
             signal.SIGWINCH)
PR_SET_PDEATHSIG = 1

app_pid = 0
exec_groups: set[int] = set()
try:  # resolved now: after a fork, in a process with threads, only the call itself is safe
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def pump(src: socket.socket, dst: socket.socket) -> None:
    """Copy src to dst until src ends, then end dst's writing side (the relay's one byte pump:
    network.py uses this one too)."""
    try:
        while True:
            data = src.recv(CHUNK)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


def _hand_over(conn: socket.socket, count: int = 0) -> None:
    """Hand the cloud on `conn` SPARES (or `count`) unconnected TCP sockets of this network."""
    made = []
    try:
        for _ in range(count or SPARES):
            made.append(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        socket.send_fds(conn, [b"\x01"], [s.fileno() for s in made])
    except OSError:  # out of file descriptors, or the cloud went: it sees none, as a refused connection
        pass
    finally:
        for sock in made:
            sock.close()
        conn.close()


def _listener(fd: int) -> socket.socket:
    os.set_inheritable(fd, False)  # the container's command never gets it
    return socket.socket(fileno=fd)


def _serve(listener: socket.socket, handle, *args, threaded: bool = True) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        if threaded:
            threading.Thread(target=handle, args=(conn, *args), daemon=True).start()
        else:
            handle(conn, *args)


def _pdeathsig() -> None:
    """In a process the agent starts: die with the agent (Linux; elsewhere the parent pipe does it)."""
    if _prctl is not None and sys.platform.startswith("linux"):
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _run_exec(request: dict) -> dict:
    argv = [str(a) for a in request.get("argv") or []]
    if not argv:
        return {"code": 126, "stdout": "", "stderr": _b64(b"exec: no command given\n")}
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                process_group=0, preexec_fn=_pdeathsig, close_fds=True)
    except FileNotFoundError:
        message = f'exec: "{argv[0]}": executable file not found in $PATH\n'
        return {"code": 127, "stdout": "", "stderr": _b64(message.encode())}
    except OSError as exc:
        return {"code": 126, "stdout": "", "stderr": _b64(f'exec: "{argv[0]}": {exc.strerror}\n'.encode())}
    exec_groups.add(proc.pid)
    try:
        out, err = proc.communicate(timeout=float(request.get("timeout") or 30))
        code = proc.returncode
    except subprocess.TimeoutExpired:
        _killpg(proc.pid)
        out, err = proc.communicate()
        code = 137
    finally:
        exec_groups.discard(proc.pid)
    if code < 0:
        code = 128 - code
    return {"code": code, "stdout": _b64(out), "stderr": _b64(err)}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _control(conn: socket.socket) -> None:
    with conn:
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(CHUNK)
            if not chunk:
                break
            data += chunk
        try:
            request = json.loads(data.decode() or "{}")
        except ValueError:
            return
        op = request.get("op")
        if op == "ping":
            answer = {"ok": True}
        elif op == "signal":
            _forward(int(request.get("signal", signal.SIGTERM)))
            answer = {"ok": True}
        elif op == "kill":
            _kill_all()
            answer = {"ok": True}
        elif op == "exec":
            answer = _run_exec(request)
        else:
            answer = {"error": f"unknown op {op!r}"}
        try:
            conn.sendall(json.dumps(answer).encode() + b"\n")
        except OSError:
            pass


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def _kill_all() -> None:
    for pgid in [app_pid, *exec_groups]:
        if pgid:
            _killpg(pgid)


def _forward(signum: int, _frame=None) -> None:
    if app_pid:
        try:
            os.kill(app_pid, signum)
        except OSError:
            pass


def _watch_parent(fd: int) -> None:
    """Block on the pipe from the cloud process: end of file means it is gone."""
    try:
        while os.read(fd, 1):
            pass
    except OSError:
        pass
    _kill_all()
    os._exit(137)


def main(argv: list[str]) -> int:
    global app_pid
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    control, relays, parent_fd = None, [], None
    for name, value in zip(options[::2], options[1::2]):
        if name == "--control-fd":
            control = _listener(int(value))
        elif name == "--port":
            port, _, fd = value.partition("=")
            relays.append((int(port), _listener(int(fd))))
        elif name == "--parent-fd":
            parent_fd = int(value)
            os.set_inheritable(parent_fd, False)
    for signum in FORWARDED:
        signal.signal(signum, _forward)
    try:
        pid = os.fork()
    except OSError as exc:
        print(f"cannot start the container's process: {exc}", file=sys.stderr, flush=True)
        return 126
    if pid == 0:
        try:
            for signum in FORWARDED:
                signal.signal(signum, signal.SIG_DFL)
            os.setpgid(0, 0)
            _pdeathsig()
            os.execvp(command[0], command)
        except OSError as exc:
            if isinstance(exc, FileNotFoundError):
                message = f'exec: "{command[0]}": executable file not found in $PATH'
            else:
                message = f'exec: "{command[0]}": {exc.strerror}'
            os.write(2, (message + "\n").encode())
            os._exit(127 if isinstance(exc, FileNotFoundError) else 126)
    app_pid = pid
    if parent_fd is not None:
        threading.Thread(target=_watch_parent, args=(parent_fd,), daemon=True).start()
    threading.Thread(target=_serve, args=(control, _control), daemon=True).start()
    for port, listener in relays:
        threading.Thread(target=_serve, args=(listener, _hand_over), kwargs={"threaded": False},
                         daemon=True).start()
    listeners = [control] + [listener for _, listener in relays]
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    for listener in listeners:
        listener.close()
    _killpg(pid)  # whatever the command left in its process group goes with it
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
