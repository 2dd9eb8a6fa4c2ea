"""A ProxyCommand for tests: relays stdin/stdout to a TCP connection (``python tcp_bridge.py HOST PORT``)."""

from __future__ import annotations

import os
import socket
import sys
import threading


def _upstream(sock: socket.socket) -> None:
    """stdin -> the server, then half-close (the SSH client is done sending)."""
    while data := os.read(0, 65536):
        sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)


def main() -> None:
    sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))
    threading.Thread(target=_upstream, args=(sock,), daemon=True).start()
    while data := sock.recv(65536):
        view = memoryview(data)
        while view:
            view = view[os.write(1, view) :]


if __name__ == "__main__":
    main()
