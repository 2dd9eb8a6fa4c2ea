"""A re-run of a tree under skip + OVERWRITE asks the catalog for objects a killed overwrite moved aside once
per run, not once per skipped file, and still removes the ones it finds (never in a dry run).

An overwrite moves the old object aside to ``.<name>.irods-old-<path's key>-<nonce>`` before its second
rename (an iRODS rename onto an existing data object is refused: chlRenameObject, CAT_NAME_EXISTS_AS_DATAOBJ,
plugins/database/src/db_plugin.cpp:10775-10786 at irods 4.3.4); a worker killed after publishing leaves that
copy beside the destination, which the next run's skip of the file removes as superseded.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import pytest

from irods_provider.client.transfer import OverwritePolicy, SkipPolicy, TransferConfig, upload_files
from irods_provider.client.transfer._upload import parked_start

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from query_counter import count_query_requests

HOME = "/tempZone/home/rods"
CFG = TransferConfig(chunk_size=64 * 1024, small_file_threshold=64 * 1024)
SIZES = [0, 10, 4096, 200 * 1024]  # empty, one request, and a multi-chunk file
N = 12


def _tree(root: Path) -> dict[str, bytes]:
    files = {f"d{i % 3}/f{i}.bin": os.urandom(SIZES[i % len(SIZES)]) for i in range(N)}
    for rel, blob in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(blob)
    return files


def _rerun(session, src: Path, dest: str, **kwargs):
    return upload_files(
        session,
        src,
        dest,
        config=CFG,
        skip=SkipPolicy.CHECKSUM,
        overwrite=OverwritePolicy.OVERWRITE,
        **kwargs,
    )


def _queries(seen: Counter[str]) -> int:
    return sum(n for op, n in seen.items() if "genquery" in op)


@pytest.mark.timeout(60)
def test_a_rerun_of_unchanged_files_asks_no_genquery_per_file(
    session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dest = tmp_path / "src", f"{HOME}/rerun"
    _tree(src)
    assert _rerun(session, src, dest).transferred == N
    seen = count_query_requests(monkeypatch)
    again = _rerun(session, src, dest)
    assert (again.transferred, again.skipped) == (0, N)
    # One listing of the destination's objects moved aside, for the whole run (before: one per file).
    assert _queries(seen) == 1, seen


@pytest.mark.timeout(60)
def test_a_rerun_removes_what_a_killed_overwrite_moved_aside(
    session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dest = tmp_path / "src", f"{HOME}/parked"
    files = _tree(src)
    assert _rerun(session, src, dest).transferred == N
    victims = [f"{dest}/d1/f1.bin", f"{dest}/d2/f5.bin"]
    parked = [parked_start(v) + "0123abcd" for v in victims]  # as a worker killed after its publish leaves
    for name in parked:
        session.data_objects.write(name, b"the replaced bytes")
    planned = _rerun(session, src, dest, dry_run=True)
    assert planned.transferred == 0
    assert all(session.data_objects.exists(p) for p in parked)  # a dry run changes nothing
    seen = count_query_requests(monkeypatch)
    again = _rerun(session, src, dest)
    assert (again.transferred, again.skipped) == (0, N)
    assert not [p for p in parked if session.data_objects.exists(p)]
    for rel, blob in files.items():
        assert session.data_objects.read(f"{dest}/{rel}") == blob
    # The run's listing, then one settle (its own GenQuery) per destination that has a copy moved aside.
    assert _queries(seen) == 1 + len(victims), seen
