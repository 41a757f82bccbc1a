"""The port a local server listens on: the one asked for, or any free one when that is taken.

The embedded engine and the GraphQL server bind their socket here, before
their thread starts, so that a taken port is seen at once.
"""

from __future__ import annotations

import socket

from knight.errors import ConflictError


def listening_socket(host: str, port: int, serving: str, *, any_if_taken: bool) -> socket.socket:
    """A socket on ``host``, bound to ``port`` and listening (``port`` 0: any free port).

    A taken port raises ConflictError naming what was to be served there,
    or, with ``any_if_taken``, gives a socket on any free port instead.
    """
    try:
        return _listen(host, port)
    except OSError as exc:
        if any_if_taken and port != 0:
            return listening_socket(host, 0, serving, any_if_taken=False)
        raise ConflictError(
            f"cannot serve {serving} on {host}:{port} ({exc.strerror}); stop what uses it or pick another port"
        ) from None


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on the port now."""
    try:
        _listen(host, port).close()
    except OSError:
        return False
    return True


def _listen(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP said out loud: asyncio turns Nagle off (TCP_NODELAY) only on accepted sockets whose proto
    # is IPPROTO_TCP, and with Nagle on a keep-alive response's second write waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # A port in TIME_WAIT after a server stopped counts as free: a restart takes it again.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
