"""Installed on PYTHONPATH by the safety tests: every Python process started under it (the
kernel, `aws`, `labkit`) records each outgoing connection and refuses any that is not loopback."""
import ipaddress
import os
import socket

_LOG = os.environ.get("LABKIT_NET_LOG")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check(address):
    if not isinstance(address, tuple) or not address:
        return  # unix sockets
    host = address[0]
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if _LOG:
        with open(_LOG, "a") as f:
            f.write(f"{os.getpid()} {'ok' if loopback else 'BLOCKED'} {host}:{address[1] if len(address) > 1 else ''}\n")
    if not loopback:
        raise ConnectionRefusedError(f"labkit safety guard: connection to {host} refused (not 127.0.0.1)")


def _connect(self, address):
    _check(address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    _check(address)
    return _real_connect_ex(self, address)


socket.socket.connect = _connect
socket.socket.connect_ex = _connect_ex
