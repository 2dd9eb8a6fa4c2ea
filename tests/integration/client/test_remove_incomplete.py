"""A collection remove the server answers with success while part of the tree stays is not a success.

The HTTP API ignores what ``fs::client::remove_all`` returned (endpoints/collections/src/main.cpp:440-446 at
0.5.0-0.7.0; irods 4.3.4 lib/filesystem/src/filesystem.cpp:294 turns rcRmColl's status into a bool), so a
removal for good of a tree holding an object another client is writing answers 200 + 0 while rsRmColl
walked around that object (rsDataObjUnlink refuses it, LOCKED_DATA_OBJECT_ACCESS: rsDataObjUnlink.cpp:283-290)
and kept the collections holding it (rsRmColl.cpp:352-440). ``collections.remove`` reads the tree back.
"""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsCollectionNotEmptyError, IrodsRemoveIncompleteError

HOME = "/tempZone/home/rods"
TREE = f"{HOME}/busy_tree"


def test_a_tree_left_in_part_is_a_typed_error_naming_what_is_left(session) -> None:
    session.collections.create(f"{TREE}/a", intermediates=True)
    session.data_objects.write(f"{TREE}/a/done.txt", b"x")
    session.data_objects.write(f"{TREE}/top.txt", b"x")
    handle = session.data_objects.parallel_write_init(f"{TREE}/a/busy.bin", stream_count=1)

    with pytest.raises(IrodsRemoveIncompleteError) as caught:
        session.collections.remove(TREE, recurse=True, no_trash=True)
    error = caught.value
    assert isinstance(error, IrodsCollectionNotEmptyError)
    assert (error.path, error.http_status, error.operation) == (TREE, 200, "collections.remove")
    assert "1 data object replicas in 2 collections are left" in str(error)
    assert session.collections.list(TREE, recurse=True) == [f"{TREE}/a", f"{TREE}/a/busy.bin"]

    session.data_objects.parallel_write_shutdown(handle)
    session.collections.remove(TREE, recurse=True, no_trash=True)
    assert not session.collections.exists(TREE)
