"""Wait for the embedded SSH server to see every connection closed (a test's connection counts start at 0)."""

from __future__ import annotations

import time
from typing import Any

from irods_provider.testing.sftp import EmbeddedSftpServer


def wait_all_closed(server: EmbeddedSftpServer, timeout: float = 10.0) -> dict[str, Any]:
    """The server's connection statistics once it sees no connection open (fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while (stats := server.connection_stats())["open"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stats["open"] == 0, f"connections left open: {stats}"
    return stats
