"""free_loopback_ports: distinct, bindable ports on 127.0.0.1, and a clear error for a bad count."""

import socket

import pytest

from keras_transfer.testing import free_loopback_ports


def test_ports_are_distinct_and_bindable():
    ports = free_loopback_ports(3)
    assert len(set(ports)) == 3
    sockets = [socket.socket() for _ in ports]
    try:
        for s, port in zip(sockets, ports):
            s.bind(("127.0.0.1", port))
    finally:
        for s in sockets:
            s.close()


@pytest.mark.parametrize("n", [0, -1, 1.5, True])
def test_bad_count_is_refused(n):
    with pytest.raises(ValueError, match="Received: n="):
        free_loopback_ports(n)
