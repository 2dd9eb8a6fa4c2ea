"""An SFTP server that answers reads short at its own boundaries (object-storage parts, a FUSE file
system) does not shrink the upload's reads to a few bytes each.

SFTP lets a server answer a read with fewer bytes than asked (draft-ietf-secsh-filexfer-02 section 6.4);
a server's cap answers every large read with the same length, while a boundary answers one read with
whatever is left before it, a few bytes as often as many. Every SFTP v3 server answers 32 KiB reads whole
(section 3: packets of at least 34000 bytes, "reads and writes of at most 32768 bytes"), so a shorter
answer says nothing of a cap. The reader took every short answer for a cap: past a few boundaries it read
9, then 3 bytes per request (an 8 MiB file did not finish in minutes).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.testing.sftp import EmbeddedSftpServer, SshFaults, airflow_connection_json
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

HOME = "/tempZone/home/rods"
PART = 196_615  # not aligned with any request size: the pieces left before each boundary vary
KIB = 1024


@pytest.fixture
def parted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedSftpServer]:
    with EmbeddedSftpServer(root=tmp_path / "root") as server:
        server.inject(SshFaults(read_part_bytes=PART))
        monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(server))
        yield server


@pytest.mark.timeout(120)
@pytest.mark.parametrize("range_readers", [1, 2])
def test_an_upload_from_a_server_answering_short_at_boundaries(
    parted: EmbeddedSftpServer, session: Any, range_readers: int
) -> None:
    data = os.urandom(8 * 1024 * KIB + 17)
    (parted.root / "parted.bin").write_bytes(data)
    parted.reset_connection_stats()
    report = SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path="parted.bin",
        destination_path=f"{HOME}/parted.bin",
        sftp_range_readers=range_readers,
        sftp_connections=range_readers,
    ).execute({})
    digest = "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert report["checksums"][f"{HOME}/parted.bin"] == digest
    assert session.data_objects.calculate_checksum(f"{HOME}/parted.bin") == digest
    boundaries = len(data) // PART
    assert parted.injected_faults().get("short_reads", 0) >= boundaries // 2  # the fault was met
    # At most one 32 KiB read per 32 KiB and one follow-up per boundary (with room for the first bytes
    # read when the file is checked): not thousands of reads of a few bytes.
    reads = parted.connection_stats()["reads"]
    assert reads <= len(data) // (32 * KIB) + 2 * boundaries + 64, reads
