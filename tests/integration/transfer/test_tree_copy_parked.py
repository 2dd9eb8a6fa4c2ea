"""A collection copy's re-run settles what killed overwrites moved aside beside its destinations, from the
plan's own listing of the destination (no GenQuery of its own when there is nothing to settle).

A staged copy (``after_copy``) publishes as an upload does: under OVERWRITE it moves the old object aside to
``.<name>.irods-old-<path's key>-<nonce>`` before its second rename (iRODS refuses a rename onto an existing
data object: chlRenameObject, CAT_NAME_EXISTS_AS_DATAOBJ, plugins/database/src/db_plugin.cpp:10775-10786 at
irods 4.3.4). A worker killed after publishing leaves that copy beside the destination; a re-run that skips
the destination (or replaces it) must remove it, as upload re-runs do.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from irods_provider.client.transfer import OverwritePolicy, SkipPolicy, TransferConfig
from irods_provider.client.transfer._tree import copy_collection
from irods_provider.client.transfer._upload import parked_start

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from query_counter import MOVED_ASIDE, count_query_requests

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
SRC, DST = f"{HOME}/pk-src", f"{HOME}/pk-dst"
CFG = TransferConfig(max_concurrent_files=2)
FILES = {f"d{i % 2}/f{i}.bin": f"object {i}".encode() * (i + 1) for i in range(6)}


@pytest.fixture
def copied(session) -> None:
    for rel, blob in FILES.items():
        session.collections.create(f"{SRC}/{rel}".rsplit("/", 1)[0], intermediates=True, exist_ok=True)
        session.data_objects.write(f"{SRC}/{rel}", blob)
    report = copy_collection(session, SRC, DST, config=CFG, after_copy=lambda _temp: None)
    assert report.transferred == len(FILES)


def _park(session, victims: list[str]) -> list[str]:
    parked = [parked_start(v) + "0123abcd" for v in victims]  # as a worker killed after its publish leaves
    for name in parked:
        session.data_objects.write(name, b"the replaced bytes")
    return parked


@pytest.mark.parametrize("staged", [True, False], ids=["staged", "plain"])
def test_a_rerun_that_skips_removes_what_killed_overwrites_moved_aside(
    session, copied, monkeypatch, staged: bool
) -> None:
    parked = _park(session, [f"{DST}/d1/f1.bin", f"{DST}/d0/f4.bin"])
    finish = (lambda _temp: None) if staged else None
    options = {"config": CFG, "after_copy": finish, "overwrite": OverwritePolicy.OVERWRITE}
    planned = copy_collection(session, SRC, DST, skip=SkipPolicy.CHECKSUM, dry_run=True, **options)
    assert planned.skipped == len(FILES)
    assert all(session.data_objects.exists(p) for p in parked)  # a dry run changes nothing
    seen = count_query_requests(monkeypatch)
    again = copy_collection(session, SRC, DST, skip=SkipPolicy.CHECKSUM, **options)
    assert (again.transferred, again.skipped) == (0, len(FILES))
    assert not [p for p in parked if session.data_objects.exists(p)]
    for rel, blob in FILES.items():
        assert session.data_objects.read(f"{DST}/{rel}") == blob
    assert seen[MOVED_ASIDE] == len(parked), seen  # one settle per destination that has a copy moved aside


@pytest.mark.parametrize("staged", [True, False], ids=["staged", "plain"])
def test_an_overwriting_rerun_removes_them_and_asks_only_where_the_plan_saw_some(
    session, copied, monkeypatch, staged: bool
) -> None:
    parked = _park(session, [f"{DST}/d1/f3.bin"])
    finish = (lambda _temp: None) if staged else None
    seen = count_query_requests(monkeypatch)
    again = copy_collection(
        session, SRC, DST, config=CFG, after_copy=finish, overwrite=OverwritePolicy.OVERWRITE
    )
    assert again.transferred == len(FILES)
    assert not session.data_objects.exists(parked[0])
    for rel, blob in FILES.items():
        assert session.data_objects.read(f"{DST}/{rel}") == blob
    assert seen[MOVED_ASIDE] == 1, seen  # before (staged): one per published object
