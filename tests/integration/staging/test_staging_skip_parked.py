"""An SFTP -> iRODS re-run under skip + OVERWRITE lists what killed overwrites moved aside once per run (not
one GenQuery per skipped file) and removes what it finds beside the destinations it skips."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from irods_provider.client.transfer._upload import parked_start
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from query_counter import count_query_requests

HOME = "/tempZone/home/rods"
N = 8


def up(remote, **kwargs):
    return SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        chunk_size=64 * 1024,
        source_path=remote.path("src"),
        destination_path=f"{HOME}/staged",
        skip="checksum",
        overwrite=True,
        # Within OpenSSH's MaxSessions: a file refused a session is retried, and its failed attempt settles
        # its destination (a GenQuery of its own, not the skip's this test counts).
        max_concurrent_files=2,
        max_concurrent_small_files=2,
        **kwargs,
    ).execute({})


@pytest.mark.timeout(120)
def test_a_staging_rerun_lists_objects_moved_aside_once(remote, session, monkeypatch) -> None:
    files = {f"d{i % 2}/f{i}.bin": os.urandom(100 * i) for i in range(N)}
    for rel, blob in files.items():
        remote.put(f"src/{rel}", blob)
    assert up(remote)["transferred"] == N
    victim = f"{HOME}/staged/d1/f3.bin"
    parked = parked_start(victim) + "0123abcd"  # as a worker killed after its publish leaves it
    session.data_objects.write(parked, b"the replaced bytes")
    seen = count_query_requests(monkeypatch)
    report = up(remote)
    assert (report["transferred"], report["skipped"]) == (0, N)
    assert not session.data_objects.exists(parked)
    assert session.data_objects.read(victim) == files["d1/f3.bin"]
    # The run's listing, then the one skipped destination with a copy moved aside settles it (before: N).
    assert sum(n for op, n in seen.items() if "genquery" in op) == 2, seen
