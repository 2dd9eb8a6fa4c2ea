"""The embedded SSH server's seeded fault injection: drops, stalls, refused connections and restarts."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator

import asyncssh
import paramiko
import pytest
from paramiko.common import cMSG_CHANNEL_DATA, cMSG_CHANNEL_EOF
from paramiko.message import Message

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


def _write_until_cut(server: EmbeddedSftpServer, channels: int, blob: bytes) -> None:
    """Pipelined writes of ``blob`` over ``channels`` SFTP channels of one connection the server cuts."""
    client = paramiko_client(server)
    try:
        transport = client.get_transport()
        assert transport is not None

        def write(index: int) -> None:
            with contextlib.suppress(paramiko.SSHException, EOFError, OSError):
                sftp = paramiko.SFTPClient.from_transport(transport)
                assert sftp is not None
                channel = sftp.get_channel()
                assert channel is not None
                channel.settimeout(10.0)
                with sftp.open(f"w{index}.bin", "wb") as handle:
                    handle.set_pipelined(True)
                    for offset in range(0, len(blob), 32 * KIB):
                        handle.write(blob[offset : offset + 32 * KIB])

        workers = [threading.Thread(target=write, args=(i,)) for i in range(channels)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30.0)
        assert not any(worker.is_alive() for worker in workers)
    finally:
        client.close()


def _protocol_errors_logged(server: EmbeddedSftpServer, caplog: pytest.LogCaptureFixture) -> list[str]:
    """The SSH disconnects asyncssh logged for a protocol error, once every connection has ended."""
    deadline = time.monotonic() + 10
    while server.connection_stats()["open"] and time.monotonic() < deadline:
        time.sleep(0.01)  # the server ends the last connection it cut (bounded by the deadline)
    assert server.connection_stats()["open"] == 0
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("asyncssh")]
    by_application = f"({asyncssh.DISC_BY_APPLICATION})"
    return [m for m in messages if "Sending disconnect:" in m and not m.endswith(by_application)]


def test_dropped_connections_leave_no_protocol_error(
    server: EmbeddedSftpServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Seen in the staging fault tests: asyncssh logged "MAC verification failed" on connections just
    # dropped. asyncssh's abort() marks a connection closed but still parses the bytes its transport hands
    # over in the same loop pass, without advancing the receive sequence number, so the second packet
    # fails its MAC check. A drop now cuts the TCP connection under SSH, as a network failure does.
    caplog.set_level(logging.INFO, logger="asyncssh")
    drops = 12
    server.inject(SshFaults(seed=5, drop_after_bytes=256 * KIB))  # every connection: many packets in flight
    blob = os.urandom(1024 * KIB)
    for _ in range(drops):
        _write_until_cut(server, channels=4, blob=blob)
    assert server.injected_faults() == {"drops": drops}
    assert _protocol_errors_logged(server, caplog) == []  # before: 10 to 12 "MAC verification failed"
    assert server.protocol_errors() == {}


def test_restarts_under_writes_leave_no_protocol_error(
    server: EmbeddedSftpServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The same with restart(): asyncssh's close() raced the packets in flight like abort() did.
    caplog.set_level(logging.INFO, logger="asyncssh")
    blob = os.urandom(4096 * KIB)
    for _ in range(5):
        server.reset_connection_stats()
        writer = threading.Thread(target=_write_until_cut, args=(server, 4, blob))
        writer.start()
        deadline = time.monotonic() + 10
        while sum(server.connection_stats()["data_bytes"]) < 256 * KIB and time.monotonic() < deadline:
            time.sleep(0.002)  # until the writes are under way (bounded by the deadline)
        server.restart()
        writer.join(30.0)
        assert not writer.is_alive()
    assert server.injected_faults() == {"restarts": 5}
    assert _protocol_errors_logged(server, caplog) == []
    assert server.protocol_errors() == {}


def test_bytes_written_into_a_live_ssh_stream_are_counted_as_a_protocol_error(
    server: EmbeddedSftpServer,
) -> None:
    # What a stale writer on a reused socket would do to a new connection: the server must say so.
    client = paramiko_client(server)
    try:
        sftp = client.open_sftp()
        assert sftp.stat("data.bin").st_size == 512 * KIB
        transport = client.get_transport()
        assert transport is not None
        transport.sock.sendall(os.urandom(4 * KIB))  # foreign bytes between two of paramiko's packets
        with pytest.raises((paramiko.SSHException, EOFError, OSError)):
            sftp.stat("data.bin")
    finally:
        client.close()
    deadline = time.monotonic() + 10
    while not server.protocol_errors() and time.monotonic() < deadline:
        time.sleep(0.01)  # the server ends the corrupt connection (bounded by the deadline)
    errors = server.protocol_errors()
    assert sum(errors.values()) == 1
    (error,) = errors
    # asyncssh decrypts the length first: random bytes give an oversized packet or, if it passes, a bad MAC.
    assert error in ("ProtocolError: Max packet size exceeded", "MACError: MAC verification failed")


@pytest.mark.parametrize("subsystem", ["sftp", "exec"])
def test_data_after_the_clients_eof_is_ignored_like_sshd_does(
    server: EmbeddedSftpServer, subsystem: str
) -> None:
    # paramiko can send a DATA it built before the server closed the channel after its own EOF and CLOSE
    # (Channel._send releases the lock before the transport sends). sshd ignores such data
    # (channels.c, channel_input_data); asyncssh ended the whole connection with "Channel not open for
    # sending", every other channel of it too. Here the late packets are sent on purpose.
    client = paramiko_client(server)
    try:
        transport = client.get_transport()
        assert transport is not None
        late = transport.open_session()
        if subsystem == "sftp":
            late.invoke_subsystem("sftp")
            assert paramiko.SFTPClient(late).normalize(".") == "/"  # the SFTP session is up
        else:
            late.exec_command("cat > /dev/null")
        # EOF, DATA, EOF back to back, before the server's answer to the first EOF can close the channel
        # on paramiko's side (which would make paramiko refuse the rest). All three are written under the
        # lock paramiko's own user messages take, so its CLOSE (sent by its thread once the server's CLOSE
        # arrives) follows them: sent one by one, a loaded machine let it in between, and the server then
        # saw DATA on a channel both sides had closed (a protocol error sshd disconnects for too).
        late.eof_sent = True  # these are the channel's EOFs: paramiko sends none more when it closes
        messages = []
        for kind, payload in (
            (cMSG_CHANNEL_EOF, None),
            (cMSG_CHANNEL_DATA, b"x" * 1024),
            (cMSG_CHANNEL_EOF, None),
        ):
            message = Message()
            message.add_byte(kind)
            message.add_int(late.remote_chanid)
            if payload is not None:
                message.add_string(payload)
            messages.append(message)
        assert transport.clear_to_send.wait(10)  # no key exchange under way
        with transport.clear_to_send_lock:
            for message in messages:
                transport._send_message(message)
        sftp = paramiko.SFTPClient.from_transport(transport)  # a new channel on the same connection
        assert sftp is not None
        with sftp.open("data.bin", "rb") as handle:
            data = handle.read()
        assert data == (server.root / "data.bin").read_bytes()
        assert transport.is_active()
    finally:
        client.close()
    deadline = time.monotonic() + 10
    while server.late_channel_packets() < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.late_channel_packets() == 2
    assert server.protocol_errors() == {}
