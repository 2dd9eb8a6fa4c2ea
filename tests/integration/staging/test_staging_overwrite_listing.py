"""An SFTP -> iRODS overwrite run looks for what killed overwrites moved aside once (the run's listing), not
once per published file, and still removes what it finds beside the destinations it replaces."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from irods_provider.client.transfer._upload import parked_start
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from query_counter import MOVED_ASIDE, count_query_requests

HOME = "/tempZone/home/rods"
N = 8


def up(remote):
    return SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        chunk_size=64 * 1024,
        source_path=remote.path("src"),
        destination_path=f"{HOME}/over",
        overwrite=True,
        max_concurrent_files=2,  # within OpenSSH's MaxSessions (a refused session's retry settles its path)
        max_concurrent_small_files=2,
    ).execute({})


def put(remote) -> dict[str, bytes]:
    files = {f"d{i % 2}/f{i}.bin": os.urandom(100 * i + 1) for i in range(N)}
    for rel, blob in files.items():
        remote.put(f"src/{rel}", blob)
    return files


@pytest.mark.timeout(120)
def test_an_overwrite_staging_lists_objects_moved_aside_once(remote, session, monkeypatch) -> None:
    put(remote)
    assert up(remote)["transferred"] == N
    victim = f"{HOME}/over/d1/f3.bin"
    parked = parked_start(victim) + "0123abcd"  # as a worker killed after its publish leaves it
    session.data_objects.write(parked, b"the replaced bytes")
    files = put(remote)  # new bytes for every file
    seen = count_query_requests(monkeypatch)
    assert up(remote)["transferred"] == N
    run = seen[MOVED_ASIDE]
    assert not session.data_objects.exists(parked)
    for rel, blob in files.items():
        assert session.data_objects.read(f"{HOME}/over/{rel}") == blob
    # The run's listing, then the one destination with a copy moved aside (before: one per published file).
    assert run == 2, seen
