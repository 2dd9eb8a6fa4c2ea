"""``move=True`` whose sources cannot be removed after their verified copies (the local operators).

The copies landed and were verified: they are reported TRANSFERRED, each with its ``source_error``, and the
task fails with IrodsSourceRemovalError naming the sources and the cause (``fail_on_source_removal_error=
False``: it succeeds, the report says the same). A retry does not copy them again: their destinations hold
the same bytes (checksum compared), so they are skipped and only the removal is tried again.

The local source directory is made immutable (``chattr +i``: the tests run as root, which ignores modes), so
``unlink`` fails with EPERM as it would for an unprivileged worker in a read-only directory. The iRODS source
is another user's collection shared read-only: iRODS refuses its removal without delete_object
(CAT_NO_ACCESS_PERMISSION: irods 4.3.4 rsDataObjUnlink.cpp:163-173 to the trash, db_plugin.cpp:3301-3313
chlUnregDataObj's ACCESS_DELETE_OBJECT check with no_trash).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.exceptions import IrodsError, IrodsSourceRemovalError
from irods_provider.transfers.irods_to_local import IrodsToLocalOperator
from irods_provider.transfers.local_to_irods import LocalToIrodsOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from immutable_dir import immutable

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
FILES = {"a.bin": os.urandom(70_000), "b.bin": os.urandom(3)}


def _upload(src: Path, **kwargs: object) -> dict[str, object]:
    return LocalToIrodsOperator(
        task_id="up", source_path=str(src), destination_path=f"{HOME}/mv/", move=True, **kwargs
    ).execute({})


def _by_name(files: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {os.path.basename(str(f["destination"])): f for f in files}


def test_a_local_source_that_cannot_be_removed_is_reported_landed(session, tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name, data in FILES.items():
        (src / name).write_bytes(data)
    with immutable(src):
        with pytest.raises(IrodsSourceRemovalError) as raised:
            _upload(src)
        error = raised.value
        assert sorted(error.paths) == sorted(str(src / n) for n in FILES)
        assert error.path in error.paths
        assert "EPERM" in str(error) or "Operation not permitted" in str(error)
        report = error.report.to_dict()
        assert (report["transferred"], report["failed"], report["source_errors"]) == (2, 0, 2)
        for name, entry in _by_name(report["files"]).items():
            assert entry["status"] == "transferred"
            assert "Operation not permitted" in str(entry["source_error"])
            assert session.data_objects.read(f"{HOME}/mv/{name}") == FILES[name]

        # A retry while the sources still cannot be removed: nothing copied again, the removal tried again.
        with pytest.raises(IrodsSourceRemovalError) as again:
            _upload(src)
        retried = _by_name(again.value.report.to_dict()["files"])
        assert {n: (f["status"], f["reason"]) for n, f in retried.items()} == dict.fromkeys(
            FILES, ("skipped", "same checksum")
        )
        assert all(f["source_error"] for f in retried.values())

        # Told not to fail: the task succeeds, the report still says which sources stayed.
        kept = _upload(src, fail_on_source_removal_error=False)
        assert kept["source_errors"] == 2
    assert sorted(p.name for p in src.iterdir()) == sorted(FILES)

    # Once they can be removed, a retry removes them, copying nothing.
    done = _upload(src)
    assert (done["skipped"], done["transferred"], done["source_errors"]) == (2, 0, 0)
    assert list(src.iterdir()) == []
    for name, data in FILES.items():
        assert session.data_objects.read(f"{HOME}/mv/{name}") == data


def test_an_irods_source_without_delete_permission_is_reported_landed(
    irods, session, tmp_path, monkeypatch
) -> None:
    irods.add_user("alice", "alice")
    bob_home = "/tempZone/home/bob"
    irods.add_user("bob", "bob")
    with IrodsSession(irods.base_url, auth=BasicAuth("bob", "bob")) as bob:
        bob.collections.create(f"{bob_home}/out")
        for name, data in FILES.items():
            bob.data_objects.write(f"{bob_home}/out/{name}", data)
            bob.data_objects.set_permission(f"{bob_home}/out/{name}", "alice", "read_object")
        bob.collections.set_permission(f"{bob_home}/out", "alice", "read_object")
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_ALICE", f"irods://alice:alice@127.0.0.1:{irods.port}/http?zone=tempZone"
    )
    got = tmp_path / "got"
    args = {"task_id": "down", "irods_conn_id": "irods_alice", "move": True}
    args |= {"source_path": f"{bob_home}/out", "destination_path": str(got)}
    with pytest.raises(IrodsSourceRemovalError) as raised:
        IrodsToLocalOperator(**args).execute({})
    assert sorted(raised.value.paths) == sorted(f"{bob_home}/out/{n}" for n in FILES)
    assert "CAT_NO_ACCESS_PERMISSION" in str(raised.value)
    report = raised.value.report.to_dict()
    assert (report["transferred"], report["failed"], report["source_errors"]) == (2, 0, 2)
    assert {p.name: p.read_bytes() for p in got.iterdir()} == FILES
    mtimes = {p.name: p.stat().st_mtime_ns for p in got.iterdir()}

    with pytest.raises(IrodsSourceRemovalError) as again:  # the retry: skipped, not downloaded again
        IrodsToLocalOperator(**args).execute({})
    retried = _by_name(again.value.report.to_dict()["files"])
    assert {n: (f["status"], f["reason"]) for n, f in retried.items()} == dict.fromkeys(
        FILES, ("skipped", "same checksum")
    )
    assert {p.name: p.stat().st_mtime_ns for p in got.iterdir()} == mtimes
    for name in FILES:
        assert session.data_objects.exists(f"{bob_home}/out/{name}")
    assert isinstance(raised.value, IrodsError)
