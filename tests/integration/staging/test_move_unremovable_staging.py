"""``move=True`` over SFTP whose sources cannot be removed after their verified copies.

The copies are verified and published: reported TRANSFERRED with a ``source_error`` each, the task fails with
IrodsSourceRemovalError naming the sources (``fail_on_source_removal_error=False``: succeeds, same report),
and a retry copies nothing again (the destinations hold the same bytes, checksum compared): it skips them
and only removes the sources. The SFTP source directory is immutable (``chattr +i``: the servers run as
root here, which ignores a directory's mode), so the server answers the remove with a permission failure;
the iRODS source is another user's collection shared read-only, whose objects iRODS refuses to remove
without delete_object (CAT_NO_ACCESS_PERMISSION: irods 4.3.4 db_plugin.cpp:3301-3313,
rsDataObjUnlink.cpp:163-173).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.exceptions import IrodsSourceRemovalError
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from immutable_dir import immutable

pytestmark = pytest.mark.timeout(90)

HOME = "/tempZone/home/rods"
FILES = {"a.bin": os.urandom(150_000), "b.bin": b"tiny"}
SAME = ("skipped", "same checksum")


def _by_name(report: dict[str, object]) -> dict[str, dict[str, object]]:
    files: list[dict[str, object]] = report["files"]  # type: ignore[assignment]
    return {os.path.basename(str(f["destination"])): f for f in files}


def test_sftp_sources_that_cannot_be_removed_are_reported_landed(remote, session) -> None:
    for name, data in FILES.items():
        remote.put(f"src/{name}", data)

    def up(**kwargs: object) -> dict[str, object]:
        args = {"source_path": remote.path("src"), "destination_path": f"{HOME}/mv/", "move": True}
        return SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", **args, **kwargs).execute({})

    with immutable(remote.dir / "src"):
        with pytest.raises(IrodsSourceRemovalError) as raised:
            up()
        kept = sorted(raised.value.paths)  # as the server resolved them (a chrooted one from its root)
        assert [p.rsplit("/", 3)[1:] for p in kept] == [[remote.base, "src", n] for n in sorted(FILES)]
        report = raised.value.report.to_dict()
        assert (report["transferred"], report["failed"], report["source_errors"]) == (2, 0, 2)
        assert all(f["source_error"] for f in report["files"])
        for name, data in FILES.items():
            assert session.data_objects.read(f"{HOME}/mv/{name}") == data

        with pytest.raises(IrodsSourceRemovalError) as again:  # a retry: nothing copied again
            up()
        retried = _by_name(again.value.report.to_dict())
        assert {n: (f["status"], f["reason"]) for n, f in retried.items()} == dict.fromkeys(FILES, SAME)

        assert up(fail_on_source_removal_error=False)["source_errors"] == 2
    assert remote.files("src") == FILES

    done = up()  # removable again: skipped, and the sources removed
    assert (done["skipped"], done["transferred"], done["source_errors"]) == (2, 0, 0)
    assert remote.files("src") == {}
    for name, data in FILES.items():
        assert session.data_objects.read(f"{HOME}/mv/{name}") == data


def test_irods_sources_without_delete_permission_are_reported_landed(irods, remote, monkeypatch) -> None:
    irods.add_user("alice", "alice")
    irods.add_user("bob", "bob")
    out = "/tempZone/home/bob/out"
    with IrodsSession(irods.base_url, auth=BasicAuth("bob", "bob")) as bob:
        bob.collections.create(out)
        for name, data in FILES.items():
            bob.data_objects.write(f"{out}/{name}", data)
            bob.data_objects.set_permission(f"{out}/{name}", "alice", "read_object")
        bob.collections.set_permission(out, "alice", "read_object")
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_ALICE", f"irods://alice:alice@127.0.0.1:{irods.port}/http?zone=tempZone"
    )
    args = {"irods_conn_id": "irods_alice", "source_path": out, "destination_path": remote.path("got")}

    def down() -> dict[str, object]:
        return IrodsToSFTPOperator(task_id="down", sftp_conn_id="cluster", move=True, **args).execute({})

    with pytest.raises(IrodsSourceRemovalError) as raised:
        down()
    assert sorted(raised.value.paths) == sorted(f"{out}/{n}" for n in FILES)
    assert "CAT_NO_ACCESS_PERMISSION" in str(raised.value)
    report = raised.value.report.to_dict()
    assert (report["transferred"], report["failed"], report["source_errors"]) == (2, 0, 2)
    assert remote.files("got") == FILES
    mtimes = {n: (remote.dir / "got" / n).stat().st_mtime_ns for n in FILES}

    with pytest.raises(IrodsSourceRemovalError) as again:
        down()
    retried = _by_name(again.value.report.to_dict())
    assert {n: (f["status"], f["reason"]) for n, f in retried.items()} == dict.fromkeys(FILES, SAME)
    assert {n: (remote.dir / "got" / n).stat().st_mtime_ns for n in FILES} == mtimes
    with IrodsSession(irods.base_url, auth=BasicAuth("bob", "bob")) as bob:
        assert {n: bob.data_objects.read(f"{out}/{n}") for n in FILES} == FILES
