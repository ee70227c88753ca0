"""A container's published port reaches the cloud through sockets of the container's network that
the agent hands over unconnected, a batch at a time (SCM_RIGHTS; labkit/cloud/runtime/agent.py
`_hand_over`, network.py `Relay.open`): the cloud connects each to the app itself and talks to it.
Only TCP sockets are taken; nothing listening is a refused connection, as before."""
from __future__ import annotations

import socket
import threading

import pytest

from labkit.cloud.runtime import agent, network


def _handed(count: int = 0) -> list[socket.socket]:
    """What the cloud gets from one exchange with the agent."""
    cloud, inner = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    threading.Thread(target=agent._hand_over, args=(inner, count), daemon=True).start()
    with cloud:
        _, fds, _, _ = socket.recv_fds(cloud, 1, network.MAX_SPARES)
    return network._received_sockets(fds)


def test_the_agent_hands_over_unconnected_tcp_sockets_a_batch_at_a_time():
    taken = _handed()
    try:
        assert len(taken) == agent.SPARES
        assert {(s.family, s.type) for s in taken} == {(socket.AF_INET, socket.SOCK_STREAM)}
        with pytest.raises(OSError):
            taken[0].getpeername()  # not connected: the cloud connects it
    finally:
        for sock in taken:
            sock.close()


def test_the_cloud_connects_a_handed_socket_to_the_app():
    app = socket.create_server(("127.0.0.1", 0))
    (sock,) = _handed(1)
    with sock, app:
        sock.connect(app.getsockname())
        accepted, _ = app.accept()
        with accepted:
            sock.sendall(b"ping")
            assert accepted.recv(4) == b"ping"


def test_only_tcp_sockets_are_taken():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        with pytest.raises(ConnectionRefusedError):
            network._received_sockets([a.detach()])
    with pytest.raises(ConnectionRefusedError):
        network._received_sockets([])


@pytest.fixture
def relay(tmp_path):
    """A Relay to an app on 127.0.0.1 whose 'agent' is agent.py's own accept loop on a unix socket."""
    path = tmp_path / "p.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(8)
    threading.Thread(target=agent._serve, args=(listener, agent._hand_over), kwargs={"threaded": False},
                     daemon=True).start()
    app = socket.create_server(("127.0.0.1", 0), backlog=128)
    made = network.Relay("127.0.0.1", 0, path, port=app.getsockname()[1])
    yield made, app
    made.close()
    app.close()
    listener.close()


def test_a_relay_opens_connections_past_one_batch_and_refuses_when_nothing_listens(relay):
    made, app = relay
    for _ in range(agent.SPARES + 3):  # a second exchange when the first batch is used up
        conn = made.open(timeout=2.0)
        accepted, _ = app.accept()
        with conn, accepted:
            conn.sendall(b"x")
            assert accepted.recv(1) == b"x"
    app.close()
    with pytest.raises(ConnectionRefusedError):
        made.open(timeout=2.0)
    made.close()
    with pytest.raises(ConnectionRefusedError):  # a stopped container's relay hands out nothing
        made.open(timeout=2.0)
