"""READ and WRITE request sizes follow the server's ``limits@openssh.com`` answer (OpenSSH's PROTOCOL 4.8).

OpenSSH's ``sftp-server.c`` (``process_extended_limits``) answers 261120-byte reads and writes (256 KiB less
1 KiB), asyncssh 4 MiB: requests then carry 261120 bytes (OpenSSH's own client caps there too,
``sftp-client.c`` ``sftp_init``). A server with a small limit (the embedded one told to answer 32 KiB and to
refuse anything longer, as a strict server may) gets requests within it from the session's first WRITE or
READ on, and every copy completes byte for byte. A server that offers no limits gets 128 KiB requests.
Sizes are taken where they go on the wire (paramiko's ``_async_request``) and, on the embedded server,
where they arrive.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import paramiko
import pytest
from paramiko.sftp import CMD_READ, CMD_WRITE

from irods_provider.sftp._integrity import close_reading_back, hash_prefix
from irods_provider.sftp._io import (
    ParallelSftpRangeReader,
    SftpWriter,
    open_sftp_channels,
    open_sftp_reader,
    open_sftp_writer,
)
from irods_provider.sftp._parallel import ParallelSftpWriter
from irods_provider.sftp._session import server_limits
from irods_provider.testing.sftp import EmbeddedSftpServer, SftpServerLimits, SshTestServer, paramiko_client

pytestmark = pytest.mark.timeout(60)

KIB, MIB = 1024, 1024 * 1024
OPENSSH_LENGTH = 256 * KIB - 1024  # sftp-server.c: SFTP_MAX_READ_LENGTH, and its max-write-length
SMALL = SftpServerLimits(max_packet_length=34000, max_read_length=32 * KIB, max_write_length=32 * KIB)


class WireSizes:
    """The length of every READ asked and WRITE sent by any paramiko client (every thread)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sizes: dict[str, Counter[int]] = {"read": Counter(), "write": Counter()}
        self._lock = threading.Lock()
        send = paramiko.SFTPClient._async_request  # type: ignore[attr-defined]

        def observed(client: Any, fileobj: Any, t: int, *args: Any) -> int:
            if t in (CMD_READ, CMD_WRITE):
                kind, size = ("read", int(args[2])) if t == CMD_READ else ("write", len(args[2]))
                with self._lock:
                    self.sizes[kind][size] += 1
            return int(send(client, fileobj, t, *args))

        monkeypatch.setattr(paramiko.SFTPClient, "_async_request", observed)


def _payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def _round_trip(server: SshTestServer, data: bytes, name: str) -> None:
    """``data`` written over one session and over two (the parallel writer), read back over one (a range
    reader) and two (the parallel reader), the prefix hashed and a small file read back at its close:
    every path that sends READ or WRITE requests, each checked byte for byte."""
    clients = [paramiko_client(server) for _ in range(2)]
    try:
        sftps = [open_sftp_channels(c.get_transport(), 1)[0] for c in clients]  # type: ignore[arg-type]
        with open_sftp_writer(sftps[0], f"{name}.one") as writer:
            writer.write(data)
        first = open_sftp_writer(sftps[0], f"{name}.two")
        with ParallelSftpWriter(first, [sftps[1].open(f"{name}.two", "r+b", bufsize=0)]) as parallel:
            for at in range(0, len(data), MIB):
                parallel.write(memoryview(data)[at : at + MIB])
        with open_sftp_reader(sftps[1], f"{name}.one") as reader:
            assert reader.read() == data
        with ParallelSftpRangeReader(sftps, f"{name}.two", chunk_size=MIB) as chunks:
            assert b"".join(chunks) == data
        with sftps[0].open(f"{name}.one", "rb") as handle:
            digest = hashlib.sha256()
            hash_prefix(handle, len(data), digest)  # type: ignore[arg-type]
            assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
        small = data[: 200 * KIB + 3]
        handle = sftps[1].open(f"{name}.small", "w+b", bufsize=0)  # read-write, as the sink's temporary
        handle.set_pipelined(True)
        writer = SftpWriter(sftps[1], f"{name}.small", handle)
        writer.write(small)
        back = close_reading_back(writer._handle, f"{name}.small", f"{name}.final", len(small))
        assert back.sha256 == hashlib.sha256(small).hexdigest()
    finally:
        for client in clients:
            client.close()
    for suffix in ("one", "two", "small"):
        expected = small if suffix == "small" else data
        assert (server.root / f"{name}.{suffix}").read_bytes() == expected


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> WireSizes:
    return WireSizes(monkeypatch)


def test_requests_carry_what_the_server_allows_up_to_openssh_length(
    sftp_server: SshTestServer, wire: WireSizes
) -> None:
    """sshd answers 261120, asyncssh 4 MiB: every full request carries 261120 bytes (128 KiB before)."""
    data = _payload(3 * MIB + 12_345)
    _round_trip(sftp_server, data, "allowed")
    for kind in ("read", "write"):
        assert max(wire.sizes[kind]) == OPENSSH_LENGTH, kind
    if isinstance(sftp_server, EmbeddedSftpServer):  # as they arrived
        served = sftp_server.request_sizes()
        assert max(served["write"]) == max(served["read"]) == OPENSSH_LENGTH


def test_the_server_limits_are_known_once_a_session_answered(sftp_server: SshTestServer) -> None:
    with paramiko_client(sftp_server) as client:
        (sftp,) = open_sftp_channels(client.get_transport(), 1)  # type: ignore[arg-type]
        assert server_limits(sftp) is None  # asked with INIT; nothing read yet
        sftp.stat(".")
        limits = server_limits(sftp)
    assert limits is not None
    expected = OPENSSH_LENGTH if sftp_server.kind == "openssh" else 4 * MIB  # sftp-server.c, asyncssh
    assert (limits.max_read_length, limits.max_write_length) == (expected, expected)


@pytest.fixture
def strict_server() -> Iterator[EmbeddedSftpServer]:
    with EmbeddedSftpServer(limits=SMALL) as server:
        yield server


def test_a_server_with_a_small_limit_gets_requests_within_it_from_the_first(
    strict_server: EmbeddedSftpServer, wire: WireSizes
) -> None:
    """32 KiB allowed, longer requests refused: every READ and WRITE within it, the first ones included,
    and every copy is byte-exact."""
    data = _payload(2 * MIB + 777)
    _round_trip(strict_server, data, "strict")
    served = strict_server.request_sizes()
    for kind in ("read", "write"):
        assert max(wire.sizes[kind]) == max(served[kind]) == 32 * KIB, kind
    assert strict_server.limits_requests() == 2  # once per session (two), with its INIT


def test_the_packet_length_bounds_requests_too(wire: WireSizes) -> None:
    """A server allowing any read and write length but 20000-byte packets: requests leave room for their
    headers within the packet (1 KiB, as OpenSSH's own limits do)."""
    with EmbeddedSftpServer(limits=SftpServerLimits(max_packet_length=20_000)) as server:
        _round_trip(server, _payload(MIB + 5), "packet")
    for kind in ("read", "write"):
        assert max(wire.sizes[kind]) == 20_000 - 1024, kind


def test_a_server_without_limits_gets_128_kib_requests(wire: WireSizes) -> None:
    """The extension not offered (its request answered "unsupported"): today's 128 KiB, byte-exact."""
    with EmbeddedSftpServer(limits=None) as server:
        _round_trip(server, _payload(MIB + 99), "none")
        served = server.request_sizes()
    for kind in ("read", "write"):
        assert max(wire.sizes[kind]) == max(served[kind]) == 128 * KIB, kind
