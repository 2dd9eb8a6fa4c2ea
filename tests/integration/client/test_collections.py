import pytest

from irods_provider.client import EntryKind, Kinds, PermissionOperation
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsCollectionNotEmptyError,
    IrodsInvalidPathError,
    IrodsNotACollectionError,
    IrodsNotFoundError,
    IrodsProtocolError,
)

HOME = "/tempZone/home/rods"


def test_create_stat_list_remove(session):
    path = f"{HOME}/c1"
    assert session.collections.create(path) is True
    assert session.collections.exists(path)
    stat = session.collections.stat(path)
    assert stat.path == path
    assert stat.registered is True
    assert stat.inheritance_enabled is False
    assert [(p.name, p.perm) for p in stat.permissions] == [("rods", "own")]
    assert stat.modified_at > 0
    session.data_objects.write(f"{path}/f", b"x")
    session.collections.create(f"{path}/sub/deeper", intermediates=True)
    assert sorted(session.collections.list(path)) == [f"{path}/f", f"{path}/sub"]
    assert sorted(session.collections.list(path, recurse=True)) == [
        f"{path}/f",
        f"{path}/sub",
        f"{path}/sub/deeper",
    ]
    assert session.collections.list(f"{path}/sub/deeper") == []
    with pytest.raises(IrodsCollectionNotEmptyError) as info:
        session.collections.remove(path)
    assert info.value.path == path
    session.collections.remove(path, recurse=True, no_trash=True)
    assert not session.collections.exists(path)


def test_create_is_idempotent_only_when_asked(session):
    path = f"{HOME}/c2"
    session.collections.create(path)
    assert session.collections.create(path, exist_ok=True) is False
    with pytest.raises(IrodsAlreadyExistsError) as info:
        session.collections.create(path)
    assert info.value.path == path
    session.data_objects.write(f"{HOME}/obj", b"1")
    with pytest.raises(IrodsAlreadyExistsError):
        session.collections.create(f"{HOME}/obj", exist_ok=True)


def test_error_paths_are_typed_with_code_and_path(session):
    missing = f"{HOME}/missing"
    with pytest.raises(IrodsNotACollectionError) as info:
        session.collections.stat(missing)
    assert (info.value.irods_code, info.value.http_status, info.value.path) == (-170000, 200, missing)
    assert info.value.operation == "collections.stat"
    with pytest.raises(IrodsNotACollectionError) as info:
        session.collections.list(missing)
    assert (info.value.irods_code, info.value.http_status) == (-170000, 400)
    with pytest.raises(IrodsNotFoundError) as info:
        session.collections.create(f"{HOME}/no/such/parent")
    assert info.value.irods_code == -358000
    with pytest.raises(IrodsInvalidPathError):
        session.collections.stat(f"{HOME}/a+b")
    with pytest.raises(IrodsInvalidPathError):
        session.collections.create("relative")


def test_rename_touch_permissions_inheritance(session, irods_emulator):
    irods_emulator.add_user("bob", "bobpw")
    a, b = f"{HOME}/ra", f"{HOME}/rb"
    session.collections.create(a)
    session.collections.rename(a, b)
    assert not session.collections.exists(a)
    session.collections.touch(b, seconds_since_epoch=1_600_000_000)
    assert session.collections.stat(b).modified_at == 1_600_000_000
    session.collections.set_permission(b, "bob", "read_object")
    assert ("bob", "read_object") in [(p.name, p.perm) for p in session.collections.stat(b).permissions]
    session.collections.modify_permissions(b, [PermissionOperation("bob", "null")])
    assert "bob" not in [p.name for p in session.collections.stat(b).permissions]
    session.collections.set_inheritance(b, True)
    assert session.collections.stat(b).inheritance_enabled is True
    with pytest.raises(IrodsNotACollectionError):
        session.collections.rename(f"{HOME}/nothing", f"{HOME}/x")


def test_walk_and_iterate_with_filters(session):
    root = f"{HOME}/w"
    session.collections.create(f"{root}/s1/s2", intermediates=True)
    for name, data in [("a.txt", b"1"), ("b.csv", b"22"), ("s1/c.txt", b"333"), ("s1/s2/d.txt", b"4444")]:
        session.data_objects.write(f"{root}/{name}", data)
    top = list(session.collections.iterate(root))
    assert sorted((e.name, e.kind) for e in top) == [
        ("a.txt", EntryKind.DATA_OBJECT),
        ("b.csv", EntryKind.DATA_OBJECT),
        ("s1", EntryKind.COLLECTION),
    ]
    every = list(session.collections.walk(root, with_stat=True))
    sizes = {e.path[len(root) + 1 :]: e.size for e in every if e.kind is EntryKind.DATA_OBJECT}
    assert sizes == {"a.txt": 1, "b.csv": 2, "s1/c.txt": 3, "s1/s2/d.txt": 4}
    txt = [e.path for e in session.collections.walk(root, pattern="*.txt", kinds=Kinds.DATA_OBJECTS)]
    assert sorted(txt) == [f"{root}/a.txt", f"{root}/s1/c.txt", f"{root}/s1/s2/d.txt"]
    colls = [e.path for e in session.collections.walk(root, kinds=Kinds.COLLECTIONS)]
    assert sorted(colls) == [f"{root}/s1", f"{root}/s1/s2"]
    assert [e.name for e in session.collections.walk(root, regex=r"^b\.")] == ["b.csv"]


def test_wrong_base_path_is_a_protocol_error(irods_emulator):
    from irods_provider.client import BasicAuth, IrodsSession

    wrong = irods_emulator.url + "/irods-http-api/0.1.0"
    with (
        IrodsSession(wrong, auth=BasicAuth("rods", "rods-emulator")) as s,
        pytest.raises(IrodsProtocolError, match="version"),
    ):
        s.collections.stat(HOME)


def test_a_collection_changing_between_pages_never_lists_an_entry_twice(session):
    # GenQuery1 pages by offset (15 rows here) with no snapshot: entries added before the offset between
    # two page requests shift already-listed rows into the next page; a changed row differs from its first
    # copy. Neither may be yielded twice.
    root = f"{HOME}/paged"
    session.collections.create(root)
    names = [f"f{i:03d}" for i in range(40)]
    for name in names:
        session.data_objects.write(f"{root}/{name}", b"x")
        session.collections.create(f"{root}/c-{name}")
    seen: list[str] = []
    for index, entry in enumerate(session.collections.iterate(root, with_stat=True)):
        seen.append(entry.name)
        if index in (14, 44, 54):  # a page of collections or of data objects consumed
            for j in range(3):
                session.data_objects.write(f"{root}/a{index}-{j}", b"x")  # sorts before every f...
                session.collections.create(f"{root}/a{index}-c{j}")
            session.collections.touch(f"{root}/c-{names[index % 40]}", seconds_since_epoch=1_000_000 + index)
            session.data_objects.touch(f"{root}/{names[10]}", seconds_since_epoch=2_000_000 + index)
    assert len(seen) == len(set(seen)), sorted(n for n in set(seen) if seen.count(n) > 1)
    assert {*names, *(f"c-{n}" for n in names)} <= set(seen)
    rows = []
    query = f"select DATA_NAME where COLL_NAME = '{root}'"
    for index, row in enumerate(session.query.genquery(query)):
        rows.append(row[0])
        if index == 14:
            session.data_objects.write(f"{root}/00-first", b"x")
    assert len(rows) == len(set(rows))
    assert set(names) <= set(rows)  # additions only: nothing present throughout was missed
