"""Staging both ways with an SFTP server that allows 32 KiB requests and refuses longer ones (it says so in
its ``limits@openssh.com`` answer, OpenSSH's PROTOCOL 4.8): the operators' every READ and WRITE stays
within it, over one connection and several, and the copies are byte-exact (with today's fixed 128 KiB
requests the first write was refused)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from typing import Any

import pytest

from irods_provider.testing.sftp import EmbeddedSftpServer, SftpServerLimits
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

pytestmark = pytest.mark.timeout(90)

HOME = "/tempZone/home/rods"
KIB, MIB = 1024, 1024 * 1024
LIMIT = 32 * KIB


@pytest.fixture(scope="module")
def sftp_server() -> Iterator[EmbeddedSftpServer]:
    """The ``remote`` fixture's server: strict, 32 KiB reads and writes."""
    limits = SftpServerLimits(max_packet_length=34000, max_read_length=LIMIT, max_write_length=LIMIT)
    with EmbeddedSftpServer(limits=limits) as server:
        yield server


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("connections", [1, 3])
def test_staging_both_ways_stays_within_a_small_limit(
    remote: Any, session: Any, sftp_server: EmbeddedSftpServer, connections: int
) -> None:
    blob = random.Random(connections).randbytes(3 * MIB + 11)
    session.data_objects.write(f"{HOME}/strict-{connections}.bin", blob)
    sftp_server.reset_request_sizes()
    common: dict[str, Any] = {"sftp_conn_id": "cluster", "chunk_size": MIB, "sftp_connections": connections}
    down = IrodsToSFTPOperator(
        task_id="down",
        source_path=f"{HOME}/strict-{connections}.bin",
        destination_path=remote.path("in/"),
        **common,
    ).execute({})
    assert down["transferred"] == 1
    assert remote.files("in") == {f"strict-{connections}.bin": blob}
    up = SFTPToIrodsOperator(
        task_id="up",
        source_path=remote.path(f"in/strict-{connections}.bin"),
        destination_path=f"{HOME}/back-{connections}/",
        **common,
    ).execute({})
    assert up["transferred"] == 1
    assert sha(session.data_objects.read(f"{HOME}/back-{connections}/strict-{connections}.bin")) == sha(blob)
    served = sftp_server.request_sizes()
    assert max(served["write"]) == max(served["read"]) == LIMIT
