"""Everyday catalog operators against the emulator: query, tickets, checksums, permissions, objects."""

from __future__ import annotations

import logging

import pytest

from irods_provider.client import IrodsSession
from irods_provider.client._events import add_listener, remove_listener
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsIntegrityError,
    IrodsNotFoundError,
    IrodsPermissionError,
    IrodsUsageError,
)
from irods_provider.operators.catalog import (
    IrodsChecksumOperator,
    IrodsCreateObjectOperator,
    IrodsCreateTicketOperator,
    IrodsQueryOperator,
    IrodsRemoveTicketOperator,
    IrodsSetPermissionsOperator,
    select_columns,
)

HOME = "/tempZone/home/rods"
ALICE_PASSWORD = "Alice-Pw-7qZ!x93kd"  # as the airflow conftest's irods fixture creates alice (conftest
# modules of several test directories share the name "conftest", so it is not imported)


def run(op):
    return op.execute(context={})


def _alice(server) -> IrodsSession:
    from irods_provider.client import BasicAuth

    return IrodsSession(server.base_url, auth=BasicAuth("alice", ALICE_PASSWORD))


def test_select_columns() -> None:
    assert select_columns("SELECT COLL_NAME, DATA_NAME WHERE DATA_NAME like '%.csv'") == [
        "COLL_NAME",
        "DATA_NAME",
    ]
    assert select_columns("select count(DATA_ID), sum( DATA_SIZE ) where COLL_NAME = 'x'") == [
        "count(DATA_ID)",
        "sum(DATA_SIZE)",
    ]
    assert select_columns("SELECT DATA_NAME ORDER BY DATA_NAME LIMIT 5") == ["DATA_NAME"]
    with pytest.raises(IrodsUsageError, match="must start with SELECT"):
        select_columns("DELETE FROM r_data_main")


def test_query_pages_past_the_row_cap_and_bounds_xcom(irods, session) -> None:
    session.collections.create(f"{HOME}/q", intermediates=True)
    for i in range(20):  # more than the server's 15 rows per page
        session.data_objects.write(f"{HOME}/q/f{i:02d}.csv", b"x" * i)
    query = f"SELECT DATA_NAME, DATA_SIZE WHERE COLL_NAME = '{HOME}/q'"
    result = run(IrodsQueryOperator(task_id="q", query=query, max_rows=50))
    assert result["columns"] == ["DATA_NAME", "DATA_SIZE"]
    assert result["row_count"] == 20
    assert result["truncated"] is False
    assert sorted((r["DATA_NAME"], int(r["DATA_SIZE"])) for r in result["rows"]) == [
        (f"f{i:02d}.csv", i) for i in range(20)
    ]
    with pytest.raises(IrodsUsageError, match="more than max_rows=10 rows"):
        run(IrodsQueryOperator(task_id="q", query=query, max_rows=10))
    cut = run(IrodsQueryOperator(task_id="q", query=query, max_rows=10, on_overflow="truncate"))
    assert (cut["row_count"], cut["truncated"], len(cut["rows"])) == (10, True, 10)
    with pytest.raises(IrodsUsageError, match="max_rows must be a positive integer"):
        run(IrodsQueryOperator(task_id="q", query=query, max_rows=0))


def test_ticket_create_use_remove(irods, session, caplog) -> None:
    session.data_objects.write(f"{HOME}/shared.txt", b"for alice")
    with caplog.at_level(logging.INFO):
        created = run(IrodsCreateTicketOperator(task_id="t", path=f"{HOME}/shared.txt", use_count=5))
    ticket = created["ticket"]
    assert created["path"] == f"{HOME}/shared.txt"
    assert created["type"] == "read"
    assert ticket not in caplog.text
    with _alice(irods) as alice:
        with pytest.raises((IrodsNotFoundError, IrodsPermissionError)):
            alice.data_objects.read(f"{HOME}/shared.txt")
        assert alice.data_objects.read(f"{HOME}/shared.txt", ticket=ticket) == b"for alice"
        ti = type("TI", (), {"xcom_pull": lambda self, task_ids: created if task_ids == "t" else None})()
        remove = IrodsRemoveTicketOperator(task_id="r", create_task_id="t")
        assert remove.execute(context={"ti": ti}) == {"removed": True}
        with pytest.raises((IrodsNotFoundError, IrodsPermissionError)):
            alice.data_objects.read(f"{HOME}/shared.txt", ticket=ticket)
    with pytest.raises(IrodsUsageError, match="apply to write tickets only"):
        run(IrodsCreateTicketOperator(task_id="t", path=f"{HOME}/shared.txt", write_byte_count=10))


def test_checksum_compute_and_verify_a_collection(irods, session) -> None:
    import base64
    import hashlib

    session.collections.create(f"{HOME}/c/sub", intermediates=True)
    contents = {f"{HOME}/c/a": b"alpha", f"{HOME}/c/sub/b": b"beta", f"{HOME}/c/sub/c": b""}
    for path, data in contents.items():
        session.data_objects.write(path, data)
    computed = run(IrodsChecksumOperator(task_id="k", path=f"{HOME}/c"))
    assert computed["checked"] == 3
    assert computed["checksums"] == {
        p: "sha2:" + base64.b64encode(hashlib.sha256(d).digest()).decode() for p, d in contents.items()
    }
    verified = run(IrodsChecksumOperator(task_id="k", path=f"{HOME}/c", verify=True))
    assert (verified["checked"], verified["mismatch_count"], verified["mismatches"]) == (3, 0, [])
    # Bit rot on storage: the replica's bytes no longer match the recorded checksum.
    replica = irods.model.data_objects[f"{HOME}/c/sub/b"].replicas[0]
    replica.spool_file.write_bytes(b"bet4")
    with pytest.raises(IrodsIntegrityError, match=r"1 of 3 object\(s\) under .*/c failed checksum") as err:
        run(IrodsChecksumOperator(task_id="k", path=f"{HOME}/c", verify=True))
    assert err.value.path == f"{HOME}/c/sub/b"
    assert "error USER_CHKSUM_MISMATCH (-314000)" in str(err.value)
    report = run(IrodsChecksumOperator(task_id="k", path=f"{HOME}/c", verify=True, fail_on_mismatch=False))
    assert report["mismatch_count"] == 1
    assert report["mismatches"][0]["path"] == f"{HOME}/c/sub/b"
    with pytest.raises(IrodsNotFoundError):
        run(IrodsChecksumOperator(task_id="k", path=f"{HOME}/nope"))


def test_verify_names_a_missing_checksum_as_the_servers_warning_not_as_damage(session) -> None:
    """A replica with no checksum is a warning (CAT_NO_CHECKSUM_FOR_REPLICA, rsDataObjChksum.cpp at 4.3.4),
    and the failure says so instead of calling the bytes damaged."""
    session.data_objects.write(f"{HOME}/unsummed", b"never checksummed")
    with pytest.raises(IrodsIntegrityError, match="failed checksum verification") as err:
        run(IrodsChecksumOperator(task_id="k", path=f"{HOME}/unsummed", verify=True))
    assert "warning CAT_NO_CHECKSUM_FOR_REPLICA (-862000)" in str(err.value)


def test_set_permissions_recursively_then_revoke(irods, session) -> None:
    session.collections.create(f"{HOME}/p/sub", intermediates=True)
    session.data_objects.write(f"{HOME}/p/sub/x", b"data")
    result = run(
        IrodsSetPermissionsOperator(
            task_id="acl", path=f"{HOME}/p", permissions={"alice": "read_object"}, recursive=True
        )
    )
    assert result["objects"] == 3  # the collection, its sub-collection and the object
    with _alice(irods) as alice:
        assert alice.data_objects.read(f"{HOME}/p/sub/x") == b"data"
        run(
            IrodsSetPermissionsOperator(
                task_id="acl", path=f"{HOME}/p", permissions={"alice": "null"}, recursive=True
            )
        )
        with pytest.raises((IrodsNotFoundError, IrodsPermissionError)):
            alice.data_objects.read(f"{HOME}/p/sub/x")
    with pytest.raises(IrodsUsageError, match=r"permissions\['alice'\] must be one of"):
        run(IrodsSetPermissionsOperator(task_id="acl", path=f"{HOME}/p", permissions={"alice": "readonly"}))


def test_inheritance_on_a_data_object_is_refused_before_any_acl_changes(irods, session) -> None:
    """IrodsUsageError means nothing was sent: the ACLs asked for with it are not granted either."""
    obj = f"{HOME}/private.txt"
    session.data_objects.write(obj, b"x")
    before = sorted((p.name, p.perm) for p in session.data_objects.stat(obj).permissions)
    with pytest.raises(IrodsUsageError, match="inheritance applies to collections") as refused:
        run(
            IrodsSetPermissionsOperator(
                task_id="acl", path=obj, permissions={"alice": "read_object"}, inheritance=True
            )
        )
    assert refused.value.path == obj
    assert sorted((p.name, p.perm) for p in session.data_objects.stat(obj).permissions) == before
    with _alice(irods) as alice, pytest.raises((IrodsNotFoundError, IrodsPermissionError)):
        alice.data_objects.read(obj)


def test_create_object_from_text_atomically(irods, session) -> None:
    result = run(
        IrodsCreateObjectOperator(
            task_id="o", path=f"{HOME}/made/readme.txt", content="héllo\n", metadata={"kind": "readme"}
        )
    )
    assert session.data_objects.read(f"{HOME}/made/readme.txt") == "héllo\n".encode()
    assert result["size"] == len("héllo\n".encode())
    assert result["checksum"].startswith("sha2:")
    assert ("kind", "readme") in {
        (a.attribute, a.value) for a in session.metadata.list(f"{HOME}/made/readme.txt")
    }
    with pytest.raises(IrodsAlreadyExistsError):
        run(IrodsCreateObjectOperator(task_id="o", path=f"{HOME}/made/readme.txt", content="other"))
    assert session.data_objects.read(f"{HOME}/made/readme.txt") == "héllo\n".encode()
    run(
        IrodsCreateObjectOperator(
            task_id="o", path=f"{HOME}/made/readme.txt", content=b"\x00\x01", overwrite=True
        )
    )
    assert session.data_objects.read(f"{HOME}/made/readme.txt") == b"\x00\x01"
    with pytest.raises(IrodsUsageError, match="content must be str or bytes, got dict"):
        run(IrodsCreateObjectOperator(task_id="o", path=f"{HOME}/made/d.json", content={"a": 1}))  # type: ignore[arg-type]
    assert not session.data_objects.exists(f"{HOME}/made/d.json")


def _plant(server, collection: str, count: int) -> None:
    """``count`` empty objects straight into the emulator's model (seconds instead of minutes of writes)."""
    with server.model.lock:
        server.model.create_collection("rods", collection, intermediates=True)
        for i in range(count):
            server.model.create_data_object("rods", f"{collection}/f{i:04d}")
        server.model.bump_generation()


def test_genquery2_pages_past_the_servers_256_row_default(irods, session) -> None:
    _plant(irods, f"{HOME}/g2", 600)
    query = f"SELECT DATA_NAME WHERE COLL_NAME = '{HOME}/g2' ORDER BY DATA_NAME"
    assert len(session.query.genquery2(query)) == 256  # one request without LIMIT: silently cut
    requests: list[str] = []

    def listener(event: str, _value: float, tags: dict[str, str]) -> None:
        if event == "request" and tags.get("operation") == "query.genquery2":
            requests.append(tags["operation"])

    add_listener(listener)
    try:
        result = run(IrodsQueryOperator(task_id="q", query=query, parser="genquery2", max_rows=1000))
    finally:
        remove_listener(listener)
    assert len(requests) == 3  # pages of 256 rows (LIMIT 256 OFFSET 0/256/512), bounded replies
    assert (result["row_count"], result["truncated"]) == (600, False)
    assert [r["DATA_NAME"] for r in result["rows"]] == [f"f{i:04d}" for i in range(600)]
    with pytest.raises(IrodsUsageError, match="more than max_rows=300 rows"):
        run(IrodsQueryOperator(task_id="q", query=query, parser="genquery2", max_rows=300))
    cut = run(
        IrodsQueryOperator(task_id="q", query=query, parser="genquery2", max_rows=300, on_overflow="truncate")
    )
    assert (cut["row_count"], cut["truncated"]) == (300, True)
    assert [r["DATA_NAME"] for r in cut["rows"]] == [f"f{i:04d}" for i in range(300)]  # no page overlap
    exact = run(IrodsQueryOperator(task_id="q", query=query, parser="genquery2", max_rows=600))
    assert (exact["row_count"], exact["truncated"]) == (600, False)  # exactly max_rows is not overflow


def test_genquery2_paging_needs_order_by_and_says_so(irods, session) -> None:
    _plant(irods, f"{HOME}/g2", 3)
    unordered = f"SELECT DATA_NAME WHERE COLL_NAME = '{HOME}/g2'"
    with pytest.raises(IrodsUsageError, match=r"needs ORDER BY \(e\.g\. ORDER BY DATA_ID\)"):
        run(IrodsQueryOperator(task_id="q", query=unordered, parser="genquery2", max_rows=10))
    own_limit = run(
        IrodsQueryOperator(task_id="q", query=f"{unordered} LIMIT 2", parser="genquery2", max_rows=10)
    )
    assert own_limit["row_count"] == 2  # the author's LIMIT: one request, as written
    with pytest.raises(IrodsUsageError, match="ORDER BY"):  # ... even in a literal it does not count
        run(
            IrodsQueryOperator(
                task_id="q", query=f"{unordered} AND DATA_NAME != 'order by'", parser="genquery2", max_rows=10
            )
        )
