"""The shim a kernel finds first on PATH as `aws` or `labkit` (the template; launcher.py writes a
copy per kernel with the marked constants filled in, behind `#!PYTHON -IS`).

It runs the command through its zygote when it can, and otherwise execs the real command, so
behaviour never depends on the fast path: the real command is the next one on PATH (as the shell
would have found without the shim), and the zygote is used only if that is the script it serves.
Standard library builtins only (`-I -S`, no site, no enum): it starts in ~15 ms.
"""
import os
import sys

import _signal
import _socket
import array

NAME = "aws"  # FILLED
SOCKET = "/nonexistent/sock"  # FILLED
TARGET = "/nonexistent/aws"  # FILLED: os.path.realpath of the script the zygote serves
MAGIC = b"LKZ1"
READY_TIMEOUT_S = 10.0
FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGUSR1, _signal.SIGUSR2)

sock = None
child = None
pending = []


def find_real():
    """The first `NAME` on PATH that is not this shim (an empty entry is the current folder)."""
    me = os.stat(__file__)
    for entry in os.environ.get("PATH", "").split(":"):
        path = os.path.join(entry or ".", NAME)
        try:
            st = os.stat(path)
        except OSError:
            continue
        if st.st_mode & 0o170000 != 0o100000 or not os.access(path, os.X_OK):
            continue
        if (st.st_dev, st.st_ino) == (me.st_dev, me.st_ino):
            continue
        return path
    return None


def exec_real(real):
    for sig in FORWARDED + (_signal.SIGPIPE, _signal.SIGXFSZ):
        _signal.signal(sig, _signal.SIG_DFL)
    if sock is not None:
        sock.close()
    for sig in pending:  # what would have reached the real command had it started
        os.kill(os.getpid(), sig)
    if real is None:
        os.write(2, b"%s: not found\n" % NAME.encode())
        os._exit(127)
    os.execv(real, [NAME, *sys.argv[1:]])


def on_signal(sig, frame):
    if child is None:
        pending.append(sig)
        return
    try:
        sock.send(b"K%d" % sig)
    except OSError:
        pass


def request(real):
    mask = os.umask(0)
    os.umask(mask)
    std = [0, 1, 2]
    parts = [MAGIC, NAME.encode(), os.fsencode(real), b"%d" % mask, "".join(map(str, std)).encode(),
             b"%d" % (len(sys.argv) - 1), *map(os.fsencode, sys.argv[1:])]
    parts += [k + b"=" + v for k, v in os.environb.items()]
    cwd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    return b"\0".join(parts), [cwd, *std], cwd


def _is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def finish(message):
    if message[1:2] == b"s":
        sig = int(message[2:])
        _signal.signal(sig, _signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(int(message[2:]))


def main():
    global sock, child
    std_open = all(_is_open(fd) for fd in (0, 1, 2))  # first: any file opened later could take a closed one's number
    real = find_real()
    if (not std_open or os.environ.get("LABKIT_FASTCLI") == "0" or real is None
            or os.path.realpath(real) != TARGET):
        exec_real(real)
    for sig in FORWARDED:
        _signal.signal(sig, on_signal)
    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        sock.settimeout(READY_TIMEOUT_S)
        sock.connect(SOCKET)
        if sock.recv(16) != b"R":  # the zygote is serving (it may still be warming up until then)
            raise OSError("not ready")
        sock.settimeout(None)
        data, fds, cwd = request(real)
        sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, array.array("i", fds).tobytes())])
        os.close(cwd)
    except OSError:
        exec_real(real)
    while True:
        try:
            message = sock.recv(64)
        except InterruptedError:
            continue
        except OSError:
            message = b""
        if message.startswith(b"S"):
            child = int(message[1:])
            for sig in pending:
                sock.send(b"K%d" % sig)
            pending.clear()
        elif message.startswith(b"X") and child is not None:
            finish(message)
        elif child is None:  # declined, or the zygote (or the child) died before starting anything
            exec_real(real)
        else:  # the zygote died while the command ran: the command died with it
            os._exit(137)


main()
