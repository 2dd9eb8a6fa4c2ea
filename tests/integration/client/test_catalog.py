import pytest

from irods_provider.client import (
    AVU,
    BasicAuth,
    EntryKind,
    IrodsSession,
    Kinds,
    MetadataOperation,
    PermissionOperation,
    TicketType,
)
from irods_provider.exceptions import IrodsNotFoundError, IrodsResponseError, IrodsUsageError

HOME = "/tempZone/home/rods"


def test_metadata_add_list_set_remove_on_both_kinds(session):
    coll, obj = f"{HOME}/mc", f"{HOME}/mc/o"
    session.collections.create(coll)
    session.data_objects.write(obj, b"x")
    for path in (coll, obj):
        session.metadata.add(path, AVU("a", "1"), AVU("a", "2", "m"), AVU("b", "x"))
        assert sorted(session.metadata.list(path)) == sorted(
            [AVU("a", "1"), AVU("a", "2", "m"), AVU("b", "x")]
        )
        session.metadata.set(path, AVU("a", "3"))
        assert sorted(session.metadata.list(path)) == sorted([AVU("a", "3"), AVU("b", "x")])
        assert session.metadata.list(path, attribute="b") == [AVU("b", "x")]
        session.metadata.remove(path, AVU("b", "x"))
        assert session.metadata.list(path) == [AVU("a", "3")]
    assert session.metadata.kind_of(coll) is EntryKind.COLLECTION
    assert session.metadata.kind_of(obj) is EntryKind.DATA_OBJECT
    with pytest.raises(IrodsNotFoundError):
        session.metadata.list(f"{HOME}/missing")


def test_invalid_metadata_operation_is_refused_before_sending(session):
    path = f"{HOME}/atomic"
    session.data_objects.write(path, b"x")
    with pytest.raises(IrodsUsageError) as info:
        session.metadata.apply(
            path,
            [MetadataOperation("add", AVU("ok", "1")), MetadataOperation("bogus", AVU("k", "v"))],
        )
    assert info.value.path == path
    assert session.metadata.list(path) == []


def test_metadata_list_pages_through_every_row(session):
    path = f"{HOME}/many"
    session.data_objects.write(path, b"x")
    avus = [AVU("k", f"v{i:02d}") for i in range(40)]
    session.metadata.add(path, *avus)
    assert sorted(session.metadata.list(path)) == avus


def test_find_by_avu(session):
    session.collections.create(f"{HOME}/fc")
    session.data_objects.write(f"{HOME}/fc/o", b"1")
    session.metadata.add(f"{HOME}/fc", AVU("project", "x'y"))
    session.metadata.add(f"{HOME}/fc/o", AVU("project", "x'y", "u"))
    session.metadata.add(f"{HOME}/fc/o", AVU("project", "other"))
    found = sorted(session.metadata.find("project", "x'y"))
    assert found == [(f"{HOME}/fc", EntryKind.COLLECTION), (f"{HOME}/fc/o", EntryKind.DATA_OBJECT)]
    assert list(session.metadata.find("project", "x'y", units="u")) == [
        (f"{HOME}/fc/o", EntryKind.DATA_OBJECT)
    ]
    assert list(session.metadata.find("project", kinds=Kinds.COLLECTIONS)) == [
        (f"{HOME}/fc", EntryKind.COLLECTION)
    ]


def test_genquery_pages_lazily(session):
    coll = f"{HOME}/q"
    session.collections.create(coll)
    for i in range(37):
        session.data_objects.touch(f"{coll}/f{i:02d}")
    query = f"select DATA_NAME where COLL_NAME = '{coll}'"
    rows = list(session.query.genquery(query))
    assert sorted(r[0] for r in rows) == [f"f{i:02d}" for i in range(37)]
    assert len(list(session.query.genquery(query, page_size=4))) == 37
    iterator = session.query.genquery(query)
    assert next(iterator)[0].startswith("f")


def test_tickets_grant_read_to_another_user(session, irods_emulator):
    irods_emulator.add_user("alice", "apw")
    path = f"{HOME}/shared"
    session.data_objects.write(path, b"ticketed")
    ticket = session.tickets.create(path, ticket_type=TicketType.READ, use_count=10, expires_in=600)
    assert ticket.isalnum()
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("alice", "apw")) as alice:
        with pytest.raises(IrodsNotFoundError):
            alice.data_objects.read(path)
        assert alice.data_objects.read(path, ticket=ticket) == b"ticketed"
        assert alice.data_objects.stat(path, ticket=ticket).size == 8
    session.tickets.remove(ticket)
    with pytest.raises(IrodsResponseError):
        session.tickets.remove(ticket)


def _ticket_strings(session, path: str) -> list[str]:
    name = path.rsplit("/", 1)[1]
    return [r[0] for r in session.query.genquery(f"select TICKET_STRING where TICKET_DATA_NAME = '{name}'")]


def test_a_failed_ticket_create_leaves_no_ticket_behind(session, irods_emulator):
    # The server creates the ticket, then adds users and groups (tickets/src/main.cpp:222-305 at 0.7.0); an
    # unknown one fails the reply (icatGetTicketUserId, db_plugin.cpp:1822-1866 at irods 4.3.4) with the
    # ticket already committed, and the reply does not name it: the client must remove it again.
    irods_emulator.add_user("alice", "apw")
    path = f"{HOME}/half-made"
    session.data_objects.write(path, b"x")
    kept = session.tickets.create(path)  # an earlier ticket on the same path is not touched
    with pytest.raises(IrodsResponseError) as caught:
        session.tickets.create(path, users=["alice", "nosuchuser"])
    assert caught.value.irods_code == -827000
    with pytest.raises(IrodsResponseError) as caught:
        session.tickets.create(path, groups=["nosuchgroup"])
    assert caught.value.irods_code == -829000
    assert _ticket_strings(session, path) == [kept]


def test_ticket_counts_beyond_int_are_refused_before_sending(session):
    # tickets/src/main.cpp:225-253 (0.7.0): std::stoi after the ticket exists; out of range → 500 with
    # the ticket left behind.
    path = f"{HOME}/counted"
    session.data_objects.write(path, b"x")
    with pytest.raises(IrodsUsageError, match="use_count"):
        session.tickets.create(path, use_count=2**31)
    assert _ticket_strings(session, path) == []


def test_modify_permissions_takes_the_finer_4_3_levels(session, irods_emulator):
    # acl_to_id, plugins/api/src/atomic_apply_acl_operations.cpp:66-77 (irods 4.3.4).
    irods_emulator.add_user("alice", "apw")
    path = f"{HOME}/granular"
    session.data_objects.write(path, b"x")
    session.data_objects.modify_permissions(path, [PermissionOperation("alice", "modify_object")])
    assert {p.name: p.perm for p in session.data_objects.stat(path).permissions}["alice"] == "modify_object"
    session.collections.modify_permissions(HOME, [PermissionOperation("alice", "delete_metadata")])
    assert {p.name: p.perm for p in session.collections.stat(HOME).permissions}["alice"] == "delete_metadata"
    with pytest.raises(IrodsUsageError, match="unknown permission 'admin'"):
        session.data_objects.modify_permissions(path, [PermissionOperation("alice", "admin")])


def test_genquery2_rows_sql_and_typed_errors(counted):
    """GenQuery2 against the emulator: rows are lists of strings, ``sql-only`` gives the SQL, and the
    server's error answer (HTTP 500 + status code, query/src/main.cpp:154-171 at 0.7.0) is typed."""
    session, transport = counted
    session.collections.create(f"{HOME}/g2")
    session.data_objects.write(f"{HOME}/g2/a", b"12")
    session.data_objects.write(f"{HOME}/g2/b", b"1")
    rows = session.query.genquery2(
        f"select DATA_NAME, DATA_SIZE where COLL_NAME = '{HOME}/g2' order by DATA_NAME desc"
    )
    assert rows == [["b", "1"], ["a", "2"]]
    assert session.query.genquery2_sql("select COLL_NAME").startswith("select distinct ")
    with pytest.raises(IrodsResponseError) as info:
        session.query.genquery2("select COLL_NAME where")
    assert info.value.http_status == 500
    assert (info.value.irods_code, info.value.irods_name) == (-167000, "SYS_LIBRARY_ERROR")
    with pytest.raises(IrodsResponseError) as info:
        session.query.genquery2("select NO_SUCH_COLUMN")
    assert (info.value.irods_code, info.value.irods_name) == (-130000, "SYS_INVALID_INPUT_PARAM")
    # Two queries that succeeded, two that failed: an iRODS answer in an HTTP 500 is not retried.
    assert transport.counts["query"] == 4
