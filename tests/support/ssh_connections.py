"""Wait for the embedded SSH server to see every connection closed (a test's connection counts start at 0),
and write one file through each connection of an endpoint."""

from __future__ import annotations

import random
import time
from typing import Any

from irods_provider.sftp import SftpEndpoint
from irods_provider.sftp._io import open_sftp_writer
from irods_provider.testing.sftp import EmbeddedSftpServer


def wait_all_closed(server: EmbeddedSftpServer, timeout: float = 10.0) -> dict[str, Any]:
    """The server's connection statistics once it sees no connection open (fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while (stats := server.connection_stats())["open"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stats["open"] == 0, f"connections left open: {stats}"
    return stats


def assert_no_open_files(server: EmbeddedSftpServer, timeout: float = 5.0) -> None:
    """Every handle the embedded server opened is closed again (within ``timeout``: closes may lag)."""

    def open_files() -> int:
        return sum(len(s._open_files) for s in list(server._faults.sessions))

    deadline = time.monotonic() + timeout
    while open_files() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert open_files() == 0


def write_over_each_connection(endpoint: SftpEndpoint, remote: Any, name: str, size: int) -> dict[str, bytes]:
    """One file of about ``size`` bytes written through a channel of every connection of ``endpoint`` (into
    ``remote.path(name/...)``); returns what was sent, by file name."""
    sent = {}
    clients = endpoint.open_channels(len(endpoint.transports()))
    try:
        for i, client in enumerate(clients):
            data = random.Random(f"{name}{i}").randbytes(size + i)
            writer = open_sftp_writer(client, remote.path(f"{name}/f{i}.bin"))
            writer.write(data)
            writer.close()
            sent[f"f{i}.bin"] = data
    finally:
        endpoint.release(clients)
    return sent
