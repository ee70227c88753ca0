"""A container's published port reaches the cloud as a socket the agent hands over (SCM_RIGHTS;
labkit/cloud/runtime/agent.py `_hand_over`, network.py `Relay.open`): the cloud then talks to the app
itself. Only a TCP socket is taken; nothing listening means no socket, as a refused connection."""
from __future__ import annotations

import socket
import threading

import pytest

from labkit.cloud.runtime import agent, network


def _agent_side(listening_port: int) -> socket.socket:
    """The cloud's end of a unix socket whose other end the agent answered."""
    cloud, inner = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    threading.Thread(target=agent._hand_over, args=(inner, listening_port), daemon=True).start()
    return cloud


def test_the_agent_hands_over_a_connection_to_the_app():
    app = socket.create_server(("127.0.0.1", 0))
    cloud = _agent_side(app.getsockname()[1])
    _, fds, _, _ = socket.recv_fds(cloud, 1, 4)
    conn = network._received_socket(fds)
    accepted, _ = app.accept()
    with conn, accepted, app, cloud:
        conn.sendall(b"ping")
        assert accepted.recv(4) == b"ping" and conn.getpeername() == app.getsockname()


def test_nothing_listening_hands_over_nothing():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    cloud = _agent_side(dead)
    with cloud:
        _, fds, _, _ = socket.recv_fds(cloud, 1, 4)
        with pytest.raises(ConnectionRefusedError):
            network._received_socket(fds)


def test_only_a_tcp_socket_is_taken():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        with pytest.raises(ConnectionRefusedError):
            network._received_socket([a.detach()])
