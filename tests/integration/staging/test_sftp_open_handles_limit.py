"""Staging both ways with an SFTP server that allows one or two open handles per session (its
``limits@openssh.com`` answer, OpenSSH's PROTOCOL 4.8, says so) and refuses an OPEN past them as OpenSSH's
``sftp-server`` does (EMFILE: ``SSH_FX_FAILURE``; sftp-server.c V_9_6_P1 ``process_open`` and
``errno_to_portable``): every copy completes byte for byte, over one connection and several, many files
at once, and no session ever held more handles than the server allows."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from typing import Any

import pytest

from irods_provider.testing.sftp import EmbeddedSftpServer, OpenSshServer, SftpServerLimits, paramiko_client
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
KIB, MIB = 1024, 1024 * 1024


@pytest.fixture(scope="module")
def sftp_server() -> Iterator[EmbeddedSftpServer]:
    """The ``remote`` fixture's server: one open handle per SFTP session (switched per test)."""
    with EmbeddedSftpServer(limits=SftpServerLimits(max_open_handles=1)) as server:
        yield server


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_server_refuses_an_open_past_its_limit_as_openssh_does(sftp_server: EmbeddedSftpServer) -> None:
    sftp_server.set_limits(SftpServerLimits(max_open_handles=2))
    (sftp_server.root / "limit.bin").write_bytes(b"x")
    with paramiko_client(sftp_server) as client:
        sftp = client.open_sftp()
        first, second = sftp.open("limit.bin", "rb"), sftp.open("limit.bin", "rb")
        with pytest.raises(OSError, match=r"^Failure$"):  # SSH_FX_FAILURE, paramiko's text for its status
            sftp.open("limit.bin", "rb")
        with pytest.raises(OSError, match=r"^Failure$"):
            sftp.listdir(".")  # an OPENDIR takes a handle too
        first.close()
        assert sftp.listdir(".") == ["limit.bin"]
        assert sftp.open("limit.bin", "rb").read() == b"x"  # a handle was free again
        second.close()
        other = client.open_sftp()  # each session has its own table (one sftp-server process each)
        with other.open("limit.bin", "rb"), other.open("limit.bin", "rb"):
            pass
    assert sftp_server.open_handles()["refused"] >= 2


@pytest.mark.parametrize("handles", [1, 2])
@pytest.mark.parametrize("connections", [1, 3])
def test_staging_both_ways_stays_within_the_open_handles(
    remote: Any, session: Any, sftp_server: EmbeddedSftpServer, connections: int, handles: int
) -> None:
    sftp_server.set_limits(SftpServerLimits(max_open_handles=handles))
    rng = random.Random(connections * 10 + handles)
    blobs = {f"f{i}.bin": rng.randbytes(size) for i, size in enumerate([3 * MIB + 11, 700 * KIB, 5, 2 * MIB])}
    tag = f"{connections}-{handles}"
    session.collections.create(f"{HOME}/h-{tag}", exist_ok=True)
    for name, blob in blobs.items():
        session.data_objects.write(f"{HOME}/h-{tag}/{name}", blob)
    sftp_server.reset_request_sizes()
    common: dict[str, Any] = {
        "sftp_conn_id": "cluster",
        "chunk_size": MIB,
        "sftp_connections": connections,
        "max_concurrent_files": 4,
    }
    down = IrodsToSFTPOperator(
        task_id="down", source_path=f"{HOME}/h-{tag}", destination_path=remote.path("in/"), **common
    ).execute({})
    assert down["transferred"] == len(blobs)
    assert remote.files("in") == blobs
    up = SFTPToIrodsOperator(
        task_id="up", source_path=remote.path("in"), destination_path=f"{HOME}/back-{tag}/", **common
    ).execute({})
    assert up["transferred"] == len(blobs)
    for name, blob in blobs.items():
        assert sha(session.data_objects.read(f"{HOME}/back-{tag}/{name}")) == sha(blob)
    # Each worker and each further writer or range reader has an SFTP session of its own: one handle each.
    assert sftp_server.open_handles() == {"peak": 1, "refused": 0}


@pytest.mark.openssh
def test_staging_both_ways_within_a_real_sftp_servers_file_limit(
    session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenSSH's own ``sftp-server`` under ``ulimit -n 7``: it advertises 2 handles (its limit less 5,
    process_extended_limits) and refuses an open past its free descriptors with ``SSH_FX_FAILURE``; every
    copy over three connections, four files at once, completes byte for byte."""
    from irods_provider.testing.sftp import airflow_connection_json

    reason = OpenSshServer.unavailable_reason()
    if reason is not None:
        pytest.skip(f"OpenSSH variant skipped: {reason}")
    subsystem = "ulimit -n 7; exec /usr/lib/openssh/sftp-server"
    with OpenSshServer(sftp_subsystem=subsystem) as server:
        with paramiko_client(server) as client:
            sftp = client.open_sftp()
            handles = [sftp.open(".", "rb") for _ in range(2)]  # what it advertises is there
            with pytest.raises(OSError, match=r"^Failure$"):
                handles.extend(sftp.open(".", "rb") for _ in range(8))
        monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(server))
        rng = random.Random(7)
        blobs = {
            f"f{i}.bin": rng.randbytes(size) for i, size in enumerate([3 * MIB + 11, 700 * KIB, 5, 2 * MIB])
        }
        session.collections.create(f"{HOME}/real-limit", exist_ok=True)
        for name, blob in blobs.items():
            session.data_objects.write(f"{HOME}/real-limit/{name}", blob)
        common: dict[str, Any] = {
            "sftp_conn_id": "cluster",
            "chunk_size": MIB,
            "sftp_connections": 3,
            "max_concurrent_files": 4,
        }
        down = IrodsToSFTPOperator(
            task_id="down", source_path=f"{HOME}/real-limit", destination_path="in/", **common
        ).execute({})
        assert down["transferred"] == len(blobs)
        assert {p.name: p.read_bytes() for p in (server.root / "in").iterdir()} == blobs
        up = SFTPToIrodsOperator(
            task_id="up", source_path="in", destination_path=f"{HOME}/real-back/", **common
        ).execute({})
        assert up["transferred"] == len(blobs)
    for name, blob in blobs.items():
        assert sha(session.data_objects.read(f"{HOME}/real-back/{name}")) == sha(blob)
