"""``sftp_connections``: staging over several SSH connections, each its own TCP connection.

Counted on the server's side (the embedded asyncssh server records every TCP connection it accepts, the most
open at once and the SFTP file bytes each one carried); bytes verified by SHA-256 at the final paths; a
connection dropped by the server's fault injection is reconnected on its own and the file resumes; nothing
is left open afterwards, on the server or in this process.
"""

from __future__ import annotations

import base64
import hashlib
import random
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import psutil
import pytest

from irods_provider.client._sync._fs import DataObjects
from irods_provider.sftp import _io
from irods_provider.testing.sftp import EmbeddedSftpServer, SshFaults
from irods_provider.transfers._staging import auto_connections
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from ssh_connections import wait_all_closed

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
KIB, MIB = 1024, 1024 * 1024
CHUNK = 256 * KIB


@pytest.fixture(scope="module")
def sftp_server() -> Iterator[EmbeddedSftpServer]:
    """The embedded server counts connections and injects faults; one per module."""
    with EmbeddedSftpServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_counts(sftp_server: EmbeddedSftpServer) -> Iterator[None]:
    wait_all_closed(sftp_server)
    sftp_server.reset_connection_stats()
    yield
    sftp_server.inject()


def client_sockets_to(server: EmbeddedSftpServer) -> list[object]:
    """This process's TCP sockets connected to the server's port."""
    return [
        c
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == server.port and c.status != psutil.CONN_TIME_WAIT
    ]


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def files(seed: int) -> dict[str, bytes]:
    rng = random.Random(seed)
    sizes = [0, 10 * KIB, 700 * KIB, 3 * MIB + 5, 4 * MIB]
    return {f"f{i}.bin": rng.randbytes(size) for i, size in enumerate(sizes)}


def up(**kwargs):
    kwargs.setdefault("chunk_size", CHUNK)
    kwargs.setdefault("sftp_retry_backoff", 0.05)
    return SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", **kwargs).execute({})


def down(**kwargs):
    kwargs.setdefault("chunk_size", CHUNK)
    kwargs.setdefault("sftp_retry_backoff", 0.05)
    return IrodsToSFTPOperator(task_id="down", sftp_conn_id="cluster", **kwargs).execute({})


def test_auto_rule_one_per_32_mib_up_to_the_irods_requests_in_flight() -> None:
    assert auto_connections([]) == 1
    assert auto_connections([10 * MIB] * 6) == 1  # 60 MiB in all
    assert auto_connections([10 * MIB] * 12) == 3  # 120 MiB
    assert auto_connections([64 * MIB, 64 * MIB]) == 4
    assert auto_connections([160 * MIB], irods_connections=6) == 5
    assert auto_connections([256 * MIB], irods_connections=6) == 6  # an upload: 3 streams x 2 requests
    assert auto_connections([4096 * MIB]) == 6  # a download: 6 ranged reads
    assert auto_connections([4096 * MIB], irods_connections=4) == 4  # a download asked for 4 streams
    assert auto_connections([4096 * MIB], irods_connections=16) == 8  # never more than 8
    assert auto_connections([4096 * MIB], irods_connections=0) == 1


def test_small_totals_stay_on_one_connection_by_default(remote, session, sftp_server) -> None:
    data = files(5)
    for name, blob in data.items():
        remote.put(f"src/{name}", blob)
    report = up(source_path=remote.path("src"), destination_path=f"{HOME}/auto", max_concurrent_files=3)
    assert report["transferred"] == len(data)
    stats = wait_all_closed(sftp_server)
    assert (stats["accepted"], stats["peak_open"]) == (1, 1)


@pytest.mark.parametrize("connections", [2, 3])
def test_upload_spreads_over_the_connections(remote, session, sftp_server, connections) -> None:
    data = files(connections)
    for name, blob in data.items():
        remote.put(f"src/{name}", blob)
    report = up(
        source_path=remote.path("src"),
        destination_path=f"{HOME}/up{connections}",
        max_concurrent_files=2,
        sftp_connections=connections,
    )
    assert report["transferred"] == len(data)
    for name, blob in data.items():
        assert session.data_objects.calculate_checksum(f"{HOME}/up{connections}/{name}") == sha2(blob)
    stats = wait_all_closed(sftp_server)
    assert stats["accepted"] == connections
    assert stats["peak_open"] == connections
    carried = stats["data_bytes"]
    assert len(carried) == connections
    assert sum(carried) >= sum(len(b) for b in data.values())
    # Range readers are spread: every connection carried at least one 256 KiB chunk of the 4 MiB file.
    assert min(carried) >= CHUNK
    assert client_sockets_to(sftp_server) == []


def test_download_writes_ranges_over_every_connection(remote, session, sftp_server) -> None:
    data = files(7)
    session.collections.create(f"{HOME}/d")
    for name, blob in data.items():
        session.data_objects.write(f"{HOME}/d/{name}", blob)
    report = down(source_path=f"{HOME}/d", destination_path=remote.path("back"), sftp_connections=3)
    assert report["transferred"] == len(data)
    back = remote.files("back")
    assert {k: hashlib.sha256(v).hexdigest() for k, v in back.items()} == {
        k: hashlib.sha256(v).hexdigest() for k, v in data.items()
    }  # and no temporary left: only the final names
    stats = wait_all_closed(sftp_server)
    assert (stats["accepted"], stats["peak_open"]) == (3, 3)
    assert len(stats["data_bytes"]) == 3
    assert min(stats["data_bytes"]) >= CHUNK  # each connection wrote (and hashed) its share
    assert client_sockets_to(sftp_server) == []


def test_one_dropped_connection_is_replaced_and_the_upload_resumes(remote, session, sftp_server) -> None:
    blob = random.Random(9).randbytes(6 * MIB)
    remote.put("big.bin", blob)
    # The first connection to carry 1 MiB of file data is cut (one drop in all); the others go on.
    sftp_server.inject(SshFaults(seed=9, drop_after_bytes=MIB, max_drops=1))
    report = up(source_path=remote.path("big.bin"), destination_path=f"{HOME}/big.bin", sftp_connections=3)
    assert sftp_server.injected_faults()["drops"] >= 1
    assert report["transferred"] == 1
    assert report["files"][0]["resumed_from"] > 0  # from the committed prefix, not from 0
    assert session.data_objects.calculate_checksum(f"{HOME}/big.bin") == sha2(blob)
    stats = wait_all_closed(sftp_server)
    assert stats["accepted"] == 3 + 1  # three, plus the one replacing the dropped connection
    assert stats["peak_open"] == 3
    assert client_sockets_to(sftp_server) == []


def test_a_drop_within_the_upload_ramp_resumes_inside_it(remote, session, sftp_server, monkeypatch) -> None:
    """1 MiB chunks over three streams start as the writer's ramp (128 KiB per stream, then doubling, up to
    the second chunk boundary). Once a ramp request is acknowledged and 512 KiB are read, a range reader's
    connection "drops" (paramiko's error, raised once; the other readers wait until that attempt failed):
    the next attempt resumes from the committed prefix, inside the ramp (a multiple of its 128 KiB
    requests, before the first chunk boundary: without the ramp nothing is committed yet), and the object
    is the source, byte for byte."""
    blob = random.Random(10).randbytes(4 * MIB + 17)
    remote.put("ramp.bin", blob)
    acked, failed, lock, read, dropped = threading.Event(), threading.Event(), threading.Lock(), [0], []
    timed_out: list[str] = []  # a wait that ran out changed the scenario: the test then fails saying so
    real_write, real_next = DataObjects.write, _io._ReadPipeline.next_piece
    real_fail = _io.ParallelSftpRangeReader.fail

    def write(self: DataObjects, path: str, data: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_write(self, path, data, *args, **kwargs)
        if len(data):
            acked.set()
        return result

    def next_piece(self: _io._ReadPipeline) -> bytes:
        with lock:
            drop = read[0] >= 512 * KIB and not dropped
            hold = read[0] >= 512 * KIB and not drop
            dropped.extend(["drop"] if drop else [])
        if drop:  # once a write was acknowledged (without the ramp none is yet: the wait runs out)
            if not acked.wait(40.0):
                timed_out.append("no write was acknowledged before the drop")
            raise paramiko.SSHException("Server connection dropped: injected")
        if hold and not failed.wait(40.0):  # the other readers read no further until that attempt failed
            timed_out.append("a reader went on before the dropped attempt failed")
        data = real_next(self)
        with lock:
            read[0] += len(data)
        return data

    def fail(self: _io.ParallelSftpRangeReader, exc: BaseException) -> None:
        real_fail(self, exc)
        failed.set()

    monkeypatch.setattr(_io.ParallelSftpRangeReader, "fail", fail)
    monkeypatch.setattr(DataObjects, "write", write)
    monkeypatch.setattr(_io._ReadPipeline, "next_piece", next_piece)
    report = up(
        source_path=remote.path("ramp.bin"),
        destination_path=f"{HOME}/ramp.bin",
        sftp_connections=3,
        chunk_size=MIB,
    )
    assert dropped == ["drop"]
    assert timed_out == []
    assert report["transferred"] == 1
    resumed = report["files"][0]["resumed_from"]
    assert 0 < resumed < MIB, resumed  # the ramp's committed prefix, before the first chunk boundary
    assert resumed % (128 * KIB) == 0, resumed
    assert session.data_objects.calculate_checksum(f"{HOME}/ramp.bin") == sha2(blob)
    wait_all_closed(sftp_server)
    assert client_sockets_to(sftp_server) == []


def test_one_dropped_connection_is_replaced_and_the_download_resumes(remote, session, sftp_server) -> None:
    blob = random.Random(10).randbytes(6 * MIB)
    session.data_objects.write(f"{HOME}/big.bin", blob)
    sftp_server.inject(SshFaults(seed=10, drop_after_bytes=MIB, max_drops=1))
    report = down(source_path=f"{HOME}/big.bin", destination_path=remote.path("big.bin"), sftp_connections=3)
    assert sftp_server.injected_faults()["drops"] >= 1
    assert report["transferred"] == 1
    # The acknowledged prefix was kept (truncated through a surviving connection) and resumed from.
    assert report["files"][0]["resumed_from"] > 0
    assert remote.files() == {"big.bin": blob}
    stats = wait_all_closed(sftp_server)
    assert stats["accepted"] == 3 + 1
    assert client_sockets_to(sftp_server) == []


def test_connections_the_server_refuses_are_left_out_only_when_best_effort(remote, sftp_server) -> None:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from irods_provider.sftp import SftpEndpoint
    from irods_provider.sftp._endpoint import is_raw_connection_error

    hook = SFTPHook(ssh_conn_id="cluster")
    hook.conn_retry_attempts = 1  # each refusal is final (the copies for more connections inherit it)
    with SftpEndpoint(hook) as sftp:
        sftp_server.inject(refuse_connections=2)
        sftp.widen(3, best_effort=True)  # what the operators do for the automatic count
        assert sftp.connections == 1
        assert len(sftp.transports()) == 1
        with sftp.channel() as client, sftp.channel() as other:
            assert sftp.link_of(client) == sftp.link_of(other) == 0  # never lent from a connection not up
            assert client.normalize(".") == "/"
        sftp_server.inject(refuse_connections=1)
        with pytest.raises((paramiko.SSHException, EOFError, OSError)) as caught:
            sftp.widen(4)  # an explicit sftp_connections: the failure is the caller's
        assert is_raw_connection_error(caught.value)
    assert sftp_server.injected_faults()["refused_connections"] >= 3
    wait_all_closed(sftp_server)
    assert client_sockets_to(sftp_server) == []


def test_background_widen_spreads_channels_and_leaves_nothing_open(remote, sftp_server) -> None:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from irods_provider.sftp import SftpEndpoint

    with SftpEndpoint(SFTPHook(ssh_conn_id="cluster")).open_in_background() as sftp:
        sftp.widen_in_background(3)
        assert sftp.connections == 3  # counted at once: callers size their readers while it connects
        clients = sftp.open_channels(3)  # waits for the connections, then one channel on each
        try:
            assert sorted(sftp.link_of(c) for c in clients) == [0, 1, 2]
            assert [c.normalize(".") for c in clients] == ["/"] * 3
        finally:
            sftp.release(clients)
        sftp.widen_in_background(5)
    # Leaving the block waited for the second background widen before closing everything it opened.
    stats = wait_all_closed(sftp_server)
    assert (stats["accepted"], stats["peak_open"]) == (5, 5)
    assert client_sockets_to(sftp_server) == []


def test_background_widen_refused_runs_on_the_connections_that_are_up(remote, sftp_server) -> None:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from irods_provider.sftp import SftpEndpoint

    hook = SFTPHook(ssh_conn_id="cluster")
    hook.conn_retry_attempts = 1
    with SftpEndpoint(hook) as sftp:
        sftp_server.inject(refuse_connections=2)
        sftp.widen_in_background(3)
        clients = sftp.open_channels(3)  # only connection 0 is up: all three channels go there
        try:
            assert [sftp.link_of(c) for c in clients] == [0, 0, 0]
            assert sftp.connections == 1
        finally:
            sftp.release(clients)
    assert sftp_server.injected_faults()["refused_connections"] >= 2
    wait_all_closed(sftp_server)
    assert client_sockets_to(sftp_server) == []


def test_a_failed_background_open_raises_typed_when_entered(remote, sftp_server) -> None:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from irods_provider.exceptions import IrodsSftpConnectionError
    from irods_provider.sftp import SftpEndpoint

    hook = SFTPHook(ssh_conn_id="cluster")
    hook.conn_retry_attempts = 1
    sftp_server.inject(refuse_connections=1)
    endpoint = SftpEndpoint(hook, connect_attempts=1).open_in_background()
    with pytest.raises(IrodsSftpConnectionError, match="could not connect"), endpoint:
        pass
    wait_all_closed(sftp_server)
    assert client_sockets_to(sftp_server) == []
