"""Tree reports (recursive copy, publish, checksum, cleanup, glob delete) beyond their XCom bound: the full
list goes to a JSON-lines manifest in iRODS (the transfer operators' ``manifest_path`` mechanism), XCom keeps
the leading entries, the complete counts and the manifest's path, and stays under 64 KiB."""

from __future__ import annotations

import json

import pytest

from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.operators.catalog import IrodsChecksumOperator
from irods_provider.operators.cleanup import IrodsCleanupTemporaryObjectsOperator
from irods_provider.operators.irods import (
    IrodsCopyOperator,
    IrodsDeleteOperator,
    IrodsListCollectionOperator,
)
from irods_provider.operators.publish import IrodsPublishOperator

HOME = "/tempZone/home/rods"
XCOM_LIMIT = 64 * 1024


def run(op):
    return op.execute(context={})


def _plant(server, collection: str, names: list[str], *, age: int = 0) -> None:
    """Empty objects straight into the emulator's model (thousands in well under a second), ``age`` s old."""
    with server.model.lock:
        server.model.create_collection("rods", collection, intermediates=True)
        for name in names:
            obj = server.model.create_data_object("rods", f"{collection}/{name}")
            for replica in obj.replicas:
                replica.modify_time -= age
        server.model.bump_generation()


def _manifest(session, path: str) -> list[dict]:
    lines = session.data_objects.read(path).decode().splitlines()
    return [json.loads(line) for line in lines]


def test_a_planned_copy_of_2000_objects_keeps_xcom_small_and_the_manifest_whole(irods, session) -> None:
    names = [f"run-{i // 250:02d}/part-{i:06d}.h5" for i in range(2000)]
    for sub in sorted({n.split("/")[0] for n in names}):
        _plant(irods, f"{HOME}/big/{sub}", [n.split("/")[1] for n in names if n.startswith(sub + "/")])
    manifest = f"{HOME}/reports/copy.jsonl"
    result = run(
        IrodsCopyOperator(
            task_id="c",
            source_path=f"{HOME}/big",
            destination_path=f"{HOME}/copy",
            plan_only=True,
            manifest_path=manifest,
        )
    )
    assert len(json.dumps(result)) < XCOM_LIMIT
    assert (result["file_count"], result["files_truncated"], result["manifest"]) == (2000, True, manifest)
    assert 0 < len(result["files"]) < 2000
    lines = _manifest(session, manifest)
    assert sorted(line["source"] for line in lines) == sorted(f"{HOME}/big/{n}" for n in names)
    assert {line["destination"] for line in lines} == {f"{HOME}/copy/{n}" for n in names}
    assert result["files"] == lines[: len(result["files"])]  # XCom holds the manifest's leading entries
    assert not session.collections.exists(f"{HOME}/copy")  # a plan changes nothing


def test_a_report_that_fits_writes_no_manifest(irods, session) -> None:
    _plant(irods, f"{HOME}/small", ["a", "b"])
    result = run(
        IrodsCopyOperator(
            task_id="c",
            source_path=f"{HOME}/small",
            destination_path=f"{HOME}/small2",
            plan_only=True,
            manifest_path=f"{HOME}/reports/never.jsonl",
        )
    )
    assert (result["files_truncated"], "manifest" in result) == (False, False)
    assert not session.data_objects.exists(f"{HOME}/reports/never.jsonl")


def test_cleanup_of_1500_abandoned_temporaries_lists_them_all_in_the_manifest(irods, session) -> None:
    temporaries = [f".part-{i:05d}.h5.irods-part-{i:016x}" for i in range(1500)]
    _plant(irods, f"{HOME}/scratch", [*temporaries, "keep.h5"], age=3 * 86400)
    manifest = f"{HOME}/reports/cleanup.jsonl"
    result = run(
        IrodsCleanupTemporaryObjectsOperator(
            task_id="t", path=f"{HOME}/scratch", plan_only=True, manifest_path=manifest
        )
    )
    assert len(json.dumps(result)) < XCOM_LIMIT
    assert (result["removed_count"], result["truncated"], result["manifest"]) == (1500, True, manifest)
    lines = _manifest(session, manifest)
    assert sorted(line["path"] for line in lines) == sorted(f"{HOME}/scratch/{t}" for t in temporaries)
    assert {line["outcome"] for line in lines} == {"removed"}  # a dry run's "would remove"
    assert session.data_objects.exists(f"{HOME}/scratch/{temporaries[0]}")  # plan only


def test_publish_checksum_and_glob_delete_write_their_manifests(irods, session) -> None:
    names = [f"f{i:03d}.dat" for i in range(40)]
    session.collections.create(f"{HOME}/ds", intermediates=True)
    for name in names:
        session.data_objects.write(f"{HOME}/ds/{name}", name.encode())
    published = run(
        IrodsPublishOperator(
            task_id="p",
            source_path=f"{HOME}/ds",
            destination_path=f"{HOME}/public-ds",
            metadata=[["dataset", "ds"]],
            max_report_bytes=1024,  # a small bound: 40 objects exceed it
            manifest_path=f"{HOME}/reports/publish.jsonl",
        )
    )
    assert (published["file_count"], published["files_truncated"]) == (40, True)
    lines = _manifest(session, published["manifest"])
    assert sorted(line["destination"] for line in lines) == [f"{HOME}/public-ds/{n}" for n in names]

    checked = run(
        IrodsChecksumOperator(
            task_id="k", path=f"{HOME}/public-ds", max_entries=5, manifest_path=f"{HOME}/reports/sums.jsonl"
        )
    )
    assert (checked["checked"], len(checked["checksums"]), checked["truncated"]) == (40, 5, True)
    sums = {line["path"]: line["checksum"] for line in _manifest(session, checked["manifest"])}
    assert sorted(sums) == [f"{HOME}/public-ds/{n}" for n in names]
    assert sums[f"{HOME}/public-ds/f007.dat"] == session.data_objects.calculate_checksum(
        f"{HOME}/public-ds/f007.dat"
    )
    verified = run(
        IrodsChecksumOperator(
            task_id="v",
            path=f"{HOME}/public-ds",
            verify=True,
            max_entries=5,
            manifest_path=f"{HOME}/reports/verify.jsonl",
        )
    )
    assert {(line["ok"], "findings" in line) for line in _manifest(session, verified["manifest"])} == {
        (True, False)
    }

    deleted = run(
        IrodsDeleteOperator(
            task_id="d",
            paths=f"{HOME}/ds/f0*.dat",
            glob=True,
            no_trash=True,
            max_report_bytes=256,
            manifest_path=f"{HOME}/reports/deleted.jsonl",
        )
    )
    assert (deleted["deleted_count"], deleted["truncated"]) == (40, True)
    assert len(deleted["deleted"]) < 40
    gone = _manifest(session, deleted["manifest"])
    assert gone == [{"kind": "data_object", "path": f"{HOME}/ds/{n}"} for n in names]
    assert session.collections.list(f"{HOME}/ds") == []


def test_a_manifest_path_the_api_cannot_address_is_refused_before_anything_changes(irods, session) -> None:
    _plant(irods, f"{HOME}/ds", ["a.dat", "b.dat"])
    with pytest.raises(IrodsInvalidPathError, match=r"manifest_path .* contains '\+'"):
        run(
            IrodsDeleteOperator(
                task_id="d",
                paths=f"{HOME}/ds/*.dat",
                glob=True,
                manifest_path=f"{HOME}/reports/run+1.jsonl",
            )
        )
    assert sorted(session.collections.list(f"{HOME}/ds")) == [f"{HOME}/ds/a.dat", f"{HOME}/ds/b.dat"]


def test_a_listing_cut_by_max_entries_writes_every_entry_to_the_manifest(irods, session) -> None:
    names = [f"obj[{i:04d}]+#.dat" for i in range(1200)]
    _plant(irods, f"{HOME}/many", names)
    manifest = f"{HOME}/reports/list.jsonl"
    result = run(
        IrodsListCollectionOperator(
            task_id="l", path=f"{HOME}/many", with_stat=True, max_entries=100, manifest_path=manifest
        )
    )
    assert len(json.dumps(result)) < XCOM_LIMIT
    assert (result["count"], result["truncated"], result["manifest"]) == (1200, True, manifest)
    lines = _manifest(session, manifest)
    assert [line["path"] for line in lines] == sorted(f"{HOME}/many/{n}" for n in names)
    assert result["entries"] == lines[:100]
    assert {line["size"] for line in lines} == {0}
    _plant(irods, f"{HOME}/few", ["a", "b"])
    fits = IrodsListCollectionOperator(task_id="s", path=f"{HOME}/few", manifest_path=f"{HOME}/r/no.jsonl")
    assert run(fits) == {
        "collection": f"{HOME}/few",
        "count": 2,
        "entries": [
            {"path": f"{HOME}/few/a", "kind": "data_object"},
            {"path": f"{HOME}/few/b", "kind": "data_object"},
        ],
        "truncated": False,
    }
    assert not session.collections.exists(f"{HOME}/r")
