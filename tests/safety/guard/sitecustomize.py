"""Installed on PYTHONPATH by the safety tests: every Python process started under it (JupyterLab,
the kernel, `aws`, `labkit`, the local cloud, the image's command of a container the cloud runs as
a plain process) records each outgoing connection and refuses any that is not loopback
(127.0.0.0/8, ::1). Lines in $LABKIT_NET_LOG:

    PID guard CMDLINE           a process started under the guard (tests tell who was covered)
    PID ok HOST:PORT            a connection to loopback
    PID BLOCKED HOST:PORT       a connection (or a datagram) refused: it would have left the machine
    PID BLOCKED dns NAME        a name only DNS knows: the query itself would leave the machine
    PID udp-connect HOST:PORT   a UDP connect: sends nothing (werkzeug asks the route to a private
                                address for the URL it prints); a datagram sent on it is refused

A child started with an environment of its own (the cloud's containers) gets the guard added to
it, except bubblewrap's: those run in a network namespace of their own, where only loopback
exists. The next sitecustomize on sys.path (a plain container's address mapping) still runs.
With bin/ first on PATH, `curl` is checked by the same rules before the real one runs (bin/curl).
"""
import ipaddress
import os
import socket
import subprocess
import sys

_LOG = os.environ.get("LABKIT_NET_LOG")
_HERE = os.path.dirname(os.path.abspath(__file__))
_BIN = os.path.join(_HERE, "bin")  # programs that are not Python, under the same rules (curl)
_INET = (socket.AF_INET, socket.AF_INET6)
_real = {name: getattr(socket.socket, name) for name in ("connect", "connect_ex", "sendto", "sendmsg", "send",
                                                        "sendall")}
_real_lookup = {name: getattr(socket, name) for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex",
                                                        "gethostbyaddr")}
_real_popen_init = subprocess.Popen.__init__


def _log(line: str) -> None:
    if _LOG:
        with open(_LOG, "a") as f:
            f.write(f"{os.getpid()} {line}\n")


def is_loopback(host) -> bool:
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def check(address) -> None:
    """Log a connection to `address` (host, port, ...) and refuse it unless it is loopback."""
    host, port = address[0], address[1] if len(address) > 1 else ""
    loopback = is_loopback(host)
    _log(f"{'ok' if loopback else 'BLOCKED'} {host}:{port}")
    if not loopback:
        raise ConnectionRefusedError(f"labkit safety guard: connection to {host} refused (not 127.0.0.1)")


def _inet(sock, address) -> bool:
    return sock.family in _INET and isinstance(address, tuple) and bool(address)


def _connect_checked(sock, address) -> None:
    if not _inet(sock, address):
        return  # unix sockets, netlink
    if sock.type == socket.SOCK_DGRAM and not is_loopback(address[0]):
        _log(f"udp-connect {address[0]}:{address[1]}")  # checked when something is sent on it
        return
    check(address)


def _connect(self, address):
    _connect_checked(self, address)
    return _real["connect"](self, address)


def _connect_ex(self, address):
    _connect_checked(self, address)
    return _real["connect_ex"](self, address)


def _peer_checked(sock) -> None:
    if sock.family in _INET and sock.type == socket.SOCK_DGRAM:
        try:
            peer = sock.getpeername()
        except OSError:
            return  # not connected: the send fails by itself
        check(peer)


def _send(self, data, *flags):
    _peer_checked(self)
    return _real["send"](self, data, *flags)


def _sendall(self, data, *flags):
    _peer_checked(self)
    return _real["sendall"](self, data, *flags)


def _sendto(self, data, *args):
    if _inet(self, args[-1]):
        check(args[-1])
    return _real["sendto"](self, data, *args)


def _sendmsg(self, buffers, *args):
    if len(args) >= 3 and args[2] is not None:
        if _inet(self, args[2]):
            check(args[2])
    else:
        _peer_checked(self)
    return _real["sendmsg"](self, buffers, *args)


def _hosts_file_names() -> set:
    try:
        with open("/etc/hosts") as f:
            return {name.lower() for line in f for name in line.split("#")[0].split()[1:]}
    except OSError:
        return set()


_LOCAL_NAMES = _hosts_file_names() | {"localhost"}


def _lookup_checked(host, reverse: bool = False) -> None:
    """A name that is neither an address nor in /etc/hosts is a DNS query to the resolver (and so
    is the reverse lookup of an address that is not loopback)."""
    if host is None or host in ("", b""):
        return
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        address = ipaddress.ip_address(name.split("%")[0])
        if not reverse or address.is_loopback:
            return
    except ValueError:
        if name.lower().rstrip(".") in _LOCAL_NAMES:
            return
    _log(f"BLOCKED dns {name}")
    raise socket.gaierror(socket.EAI_NONAME, f"labkit safety guard: DNS lookup of {name} refused")


def _guarded_lookup(name):
    real = _real_lookup[name]

    def lookup(host, *args, **kwargs):
        _lookup_checked(host, reverse=name == "gethostbyaddr")
        return real(host, *args, **kwargs)

    return lookup


def _guarded_environment(args, env):
    """`env` with the guard on it, for a child started with an environment of its own."""
    program = args if isinstance(args, (str, bytes)) else (args[0] if args else "")
    if os.path.basename(os.fsdecode(program)).split()[0:1] == ["bwrap"]:
        return env  # a network namespace of its own: only loopback exists in there
    env = dict(env)
    paths = [p for p in str(env.get("PYTHONPATH", "")).split(os.pathsep) if p and p != _HERE]
    env["PYTHONPATH"] = os.pathsep.join([_HERE, *paths])
    if _LOG:
        env["LABKIT_NET_LOG"] = _LOG
    child_path = str(env.get("PATH", "")).split(os.pathsep)
    if _BIN in os.environ.get("PATH", "").split(os.pathsep) and _BIN not in child_path:
        # the guard's curl, where the test asked for it; a PATH that has it already is left as it is
        # (labkit's fast `!aws` serves only commands whose PATH is the one its zygote started with)
        env["PATH"] = os.pathsep.join([_BIN, *[p for p in child_path if p]])
    return env


def _popen_init(self, args, *rest, **kwargs):
    if kwargs.get("env") is not None:
        kwargs["env"] = _guarded_environment(args, kwargs["env"])
    return _real_popen_init(self, args, *rest, **kwargs)


def _chain_next_sitecustomize() -> None:
    """Run the sitecustomize this one hides (the first one after this folder on sys.path)."""
    from importlib.machinery import PathFinder
    from importlib.util import module_from_spec

    here = [i for i, p in enumerate(sys.path) if os.path.abspath(p or ".") == _HERE]
    later = sys.path[here[0] + 1:] if here else []
    spec = PathFinder.find_spec("sitecustomize", later)
    if spec is not None and spec.loader is not None:
        module = module_from_spec(spec)
        sys.modules["_labkit_chained_sitecustomize"] = module
        spec.loader.exec_module(module)


def _cmdline() -> str:
    try:
        with open("/proc/self/cmdline", "rb") as f:
            text = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        text = " ".join(sys.argv)
    return " ".join(text.split())[:400]  # one line: a `python -c` script has newlines


_log(f"guard {_cmdline()}")
socket.socket.connect = _connect
socket.socket.connect_ex = _connect_ex
socket.socket.send = _send
socket.socket.sendall = _sendall
socket.socket.sendto = _sendto
socket.socket.sendmsg = _sendmsg
for _name in _real_lookup:
    setattr(socket, _name, _guarded_lookup(_name))
subprocess.Popen.__init__ = _popen_init
_chain_next_sitecustomize()
