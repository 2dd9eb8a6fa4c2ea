"""The embedded SSH server's seeded fault injection: drops, stalls, refused connections and restarts."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator

import paramiko
import pytest

from irods_provider.testing.sftp import EmbeddedSftpServer, SshFaults, paramiko_client

KIB = 1024


@pytest.fixture
def server() -> Iterator[EmbeddedSftpServer]:
    with EmbeddedSftpServer() as running:
        (running.root / "data.bin").write_bytes(os.urandom(512 * KIB))
        yield running


def read_all(server: EmbeddedSftpServer, *, timeout: float | None = None) -> bytes:
    client = paramiko_client(server)
    try:
        sftp = client.open_sftp()
        channel = sftp.get_channel()
        assert channel is not None
        channel.settimeout(timeout)
        with sftp.open("data.bin", "rb") as handle:
            return handle.read()
    finally:
        client.close()


def test_drop_after_bytes_kills_the_connection_once_per_budget(server: EmbeddedSftpServer) -> None:
    server.inject(SshFaults(drop_after_bytes=100 * KIB, max_drops=1))
    with pytest.raises((paramiko.SSHException, EOFError, OSError)):
        read_all(server)
    assert server.injected_faults() == {"drops": 1}
    # The budget is spent: the next connection reads every byte.
    assert read_all(server) == (server.root / "data.bin").read_bytes()
    assert server.injected_faults() == {"drops": 1}


def test_random_drops_are_seeded(server: EmbeddedSftpServer) -> None:
    def run(seed: int) -> int:
        server.inject(SshFaults(seed=seed, drop_probability=0.2))
        before = server.injected_faults().get("drops", 0)
        for _ in range(3):
            with contextlib.suppress(paramiko.SSHException, EOFError, OSError):
                read_all(server)
        return server.injected_faults().get("drops", 0) - before

    first = run(7)
    assert first >= 1
    assert run(7) == first  # the same seed drops at the same requests


def test_refused_connections_then_accepted(server: EmbeddedSftpServer) -> None:
    server.inject(SshFaults(refuse_connections=2))
    for _ in range(2):
        with pytest.raises((paramiko.SSHException, EOFError, OSError)):
            read_all(server)
    assert read_all(server) == (server.root / "data.bin").read_bytes()
    assert server.injected_faults() == {"refused_connections": 2}


def test_a_stall_longer_than_the_client_timeout_times_out(server: EmbeddedSftpServer) -> None:
    server.inject(SshFaults(stall_after_bytes=64 * KIB, stall_seconds=3.0))
    with pytest.raises((socket.timeout, TimeoutError)):
        read_all(server, timeout=0.3)
    assert server.injected_faults() == {"stalls": 1}
    server.inject()  # switched off: nothing stalls any more
    assert read_all(server, timeout=5) == (server.root / "data.bin").read_bytes()


def test_restart_drops_clients_and_listens_on_the_same_port(server: EmbeddedSftpServer) -> None:
    port = server.port
    client = paramiko_client(server)
    try:
        sftp = client.open_sftp()
        server.restart()
        with pytest.raises((paramiko.SSHException, EOFError, OSError)):
            sftp.stat("data.bin")
    finally:
        client.close()
    assert server.port == port
    assert read_all(server) == (server.root / "data.bin").read_bytes()
    assert server.injected_faults() == {"restarts": 1}
