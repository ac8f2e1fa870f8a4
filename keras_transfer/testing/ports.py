"""`free_loopback_ports`: free TCP ports on 127.0.0.1, for tests and benchmarks that start local workers."""

import socket

__all__ = ["free_loopback_ports"]


def free_loopback_ports(n: int) -> list:
    """``n`` distinct TCP ports that are free on 127.0.0.1 right now (bound together, then released).

    The ports are held open at the same time while they are chosen, so they differ from each other; another
    process could still take one before the caller binds it, which is acceptable for local test clusters.

    Args:
        n: int ≥ 1. How many ports.

    Returns:
        list of n int.

    Raises:
        ValueError: n < 1.

    Examples:
    >>> ports = keras_transfer.testing.free_loopback_ports(2)
    >>> len(set(ports)), all(1024 <= p < 65536 for p in ports)
    (2, True)
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"free_loopback_ports needs a positive int count. Received: n={n!r}.")
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()
