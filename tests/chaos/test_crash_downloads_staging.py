"""Crash consistency under ``kill -9`` of the downloads (``download_object``, the download operator) and of
the SFTP staging out of iRODS: see ``_crash_harness.py`` for the invariants (the staging into iRODS:
``test_crash_staging_in.py``)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from _crash_harness import CASES, CHAOS_TEST_SECONDS, kill_point_test, readable_foreign_connections

pytestmark = [pytest.mark.timeout(CHAOS_TEST_SECONDS), pytest.mark.slow]

DOWNLOADS_AND_STAGING = [c for c in CASES if not c.up]


test_kill9_then_retry_keeps_every_invariant = kill_point_test(DOWNLOADS_AND_STAGING)


def test_settle_waits_for_a_dead_peers_request_until_the_server_has_read_it_and_closed() -> None:
    """What :meth:`KillSwitch.settle` waits on: a connection another process opened, sent a whole request
    on and then died with is listed (still in the listen backlog, then accepted) until the server closes
    it; this process's own client connections never are."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        own = socket.create_connection(("127.0.0.1", port))
        died = subprocess.run(
            [
                sys.executable,
                "-c",
                "import os, socket, sys\n"
                f"s = socket.create_connection(('127.0.0.1', {port}))\n"
                "s.sendall(b'GET /x HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n')\n"
                "sys.stdout.write(str(s.getsockname()[1]))\n"
                "os._exit(0)\n",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
        dead_peer = int(died.stdout)
        assert readable_foreign_connections((port,)) == [(port, dead_peer)]  # in the backlog, unread
        served_own, _ = listener.accept()  # accepted in connection order: ours first
        served, peer = listener.accept()
        assert peer[1] == dead_peer
        assert served.recv(100).startswith(b"GET /x ")
        assert served.recv(100) == b""  # the peer is gone; the socket is open until the server closes it
        assert readable_foreign_connections((port,)) == [(port, dead_peer)]
        served.close()
        assert readable_foreign_connections((port,)) == []
        own.close()
        served_own.close()
