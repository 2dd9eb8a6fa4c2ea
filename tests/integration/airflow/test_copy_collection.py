"""IrodsCopyOperator on a collection: a server-side recursive copy with skip policies and a bounded report."""

from __future__ import annotations

import json

import pytest

from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsNotACollectionError,
    IrodsNotFoundError,
    IrodsUsageError,
)
from irods_provider.operators.irods import IrodsCopyOperator

HOME = "/tempZone/home/rods"
SRC = f"{HOME}/src"
DST = f"{HOME}/dst"
TREE = {
    "a.csv": b"1,2,3\n",
    "sub/b.bin": bytes(range(256)) * 4,
    "sub/deep/c.txt": b"",
    "data[1].csv": b"bracket",
}


def run(op):
    return op.execute(context={})


def _objects(irods, prefix: str) -> list[str]:
    with irods.model.lock:
        return sorted(p for p in irods.model.data_objects if p.startswith(prefix + "/"))


@pytest.fixture
def src(irods, session) -> str:
    session.collections.create(f"{SRC}/sub/deep", intermediates=True)
    session.collections.create(f"{SRC}/empty", intermediates=True)
    for rel, data in TREE.items():
        session.data_objects.write(f"{SRC}/{rel}", data)
    session.data_objects.write(f"{SRC}/.a.csv.irods-part-0123456789abcdef", b"in flight")
    return SRC


def test_copies_the_tree_on_the_server(irods, session, src) -> None:
    result = run(
        IrodsCopyOperator(task_id="c", source_path=src, destination_path=DST, max_concurrent_files=3)
    )
    assert result["kind"] == "collection"
    assert (result["transferred"], result["skipped"], result["failed"]) == (4, 0, 0)
    assert result["bytes"] == sum(len(d) for d in TREE.values())
    assert sorted(f["destination"] for f in result["files"]) == sorted(f"{DST}/{r}" for r in TREE)
    for rel, data in TREE.items():
        assert session.data_objects.read(f"{DST}/{rel}") == data
        checksums = {session.data_objects.calculate_checksum(f"{root}/{rel}") for root in (SRC, DST)}
        assert len(checksums) == 1
    assert session.collections.exists(f"{DST}/empty")  # empty sub-collections too
    assert not session.data_objects.exists(f"{DST}/.a.csv.irods-part-0123456789abcdef")
    assert session.data_objects.read(f"{SRC}/a.csv") == TREE["a.csv"]  # the source stays


def test_skip_policies_and_overwrite(irods, session, src) -> None:
    run(IrodsCopyOperator(task_id="c", source_path=src, destination_path=DST))
    session.data_objects.write(f"{DST}/a.csv", b"9,9,9\n")  # same size, other bytes
    by_size = run(IrodsCopyOperator(task_id="c", source_path=src, destination_path=DST, skip="size"))
    assert (by_size["transferred"], by_size["skipped"]) == (0, 4)
    assert {f["reason"] for f in by_size["files"]} == {"same size"}
    assert session.data_objects.read(f"{DST}/a.csv") == b"9,9,9\n"
    # By checksum a.csv differs; with overwrite off the whole copy is refused before anything changes.
    with pytest.raises(IrodsAlreadyExistsError) as refused:
        run(IrodsCopyOperator(task_id="c", source_path=src, destination_path=DST, skip="checksum"))
    assert refused.value.path == f"{DST}/a.csv"
    assert session.data_objects.read(f"{DST}/a.csv") == b"9,9,9\n"
    fixed = run(
        IrodsCopyOperator(task_id="c", source_path=src, destination_path=DST, skip="checksum", overwrite=True)
    )
    assert (fixed["transferred"], fixed["skipped"]) == (1, 3)
    assert [f["destination"] for f in fixed["files"] if f["status"] == "transferred"] == [f"{DST}/a.csv"]
    assert session.data_objects.read(f"{DST}/a.csv") == TREE["a.csv"]
    with pytest.raises(IrodsAlreadyExistsError):
        run(IrodsCopyOperator(task_id="c", source_path=src, destination_path=DST))


def test_plan_only_and_bounded_report(irods, session) -> None:
    session.collections.create(SRC, intermediates=True)
    for i in range(60):
        session.data_objects.write(f"{SRC}/file-{i:03d}.dat", b"z" * i)
    plan = run(IrodsCopyOperator(task_id="c", source_path=SRC, destination_path=DST, plan_only=True))
    assert (plan["dry_run"], plan["transferred"], plan["file_count"]) == (True, 0, 60)
    assert {f["status"] for f in plan["files"]} == {"planned"}
    assert not session.collections.exists(DST)
    result = run(IrodsCopyOperator(task_id="c", source_path=SRC, destination_path=DST, max_report_bytes=1024))
    assert (result["transferred"], result["file_count"], result["files_truncated"]) == (60, 60, True)
    assert 0 < len(result["files"]) < 60
    assert len(json.dumps(result["files"])) <= 1024
    assert len(_objects(irods, DST)) == 60


def test_bad_inputs_change_nothing(irods, session, src) -> None:
    session.data_objects.write(f"{HOME}/obj.bin", b"an object")
    before = sorted(irods.model.data_objects)
    with pytest.raises(IrodsNotFoundError, match="nothing to copy") as missing:
        run(IrodsCopyOperator(task_id="c", source_path=f"{HOME}/nope", destination_path=DST))
    assert missing.value.path == f"{HOME}/nope"
    with pytest.raises(IrodsUsageError, match="must not contain each other"):
        run(IrodsCopyOperator(task_id="c", source_path=src, destination_path=f"{SRC}/sub/copy"))
    with pytest.raises(IrodsUsageError, match="skip must be one of"):
        run(IrodsCopyOperator(task_id="c", source_path=src, destination_path=DST, skip="maybe"))
    with pytest.raises(IrodsUsageError, match="max_concurrent_files must be a positive integer"):
        run(IrodsCopyOperator(task_id="c", source_path=src, destination_path=DST, max_concurrent_files=0))
    with pytest.raises(IrodsNotACollectionError) as onto_object:
        run(IrodsCopyOperator(task_id="c", source_path=src, destination_path=f"{HOME}/obj.bin"))
    assert onto_object.value.path == f"{HOME}/obj.bin"
    assert sorted(irods.model.data_objects) == before
    assert not session.collections.exists(DST)


def test_the_report_lists_every_collection_empty_ones_included(irods, session, src) -> None:
    session.collections.create(f"{SRC}/empty/nested/deeper", intermediates=True)
    planned = run(IrodsCopyOperator(task_id="p", source_path=src, destination_path=DST, plan_only=True))
    assert not session.collections.exists(DST)
    subs = ["empty", "empty/nested", "empty/nested/deeper", "sub", "sub/deep"]
    assert planned["directories"] == [
        {"source": f"{SRC}/{d}", "destination": f"{DST}/{d}", "status": "planned"} for d in subs
    ]
    result = run(IrodsCopyOperator(task_id="c", source_path=src, destination_path=DST))
    assert session.collections.exists(f"{DST}/empty/nested/deeper")
    assert [d["status"] for d in result["directories"]] == ["present"] * len(subs)
    assert result["directory_count"] == len(subs)
