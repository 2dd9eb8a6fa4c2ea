import pytest

from irods_provider.client import (
    AVU,
    BasicAuth,
    EntryKind,
    IrodsSession,
    Kinds,
    MetadataOperation,
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
