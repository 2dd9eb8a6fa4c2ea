"""``data_objects.permissions``: an object's access-control list from the catalog, whatever its replicas say.

The HTTP API's stat carries the ACL, but it answers SYS_NO_GOOD_REPLICA for an object whose write failed
(its replica stale) and cannot address a name holding ``+`` (a GET turns it into a space); the catalog
query ``ils -A`` asks (irods 4.3.4 lib/core/src/miscUtil.cpp ``queryDataObjAcl``) answers for both.
"""

from __future__ import annotations

import pytest

from irods_provider.client import PermissionOperation
from irods_provider.exceptions import IrodsNotADataObjectError, IrodsResponseError

HOME = "/tempZone/home/rods"


@pytest.mark.parametrize("name", ["acl.bin", "a+b acl.bin"], ids=["plain", "plus"])
def test_the_catalog_lists_the_grants_of_an_object_left_stale(session, irods_emulator, name) -> None:
    irods_emulator.add_user("alice", "apass")
    path = f"{HOME}/{name}"
    session.data_objects.write(path, b"first")
    session.data_objects.modify_permissions(path, [PermissionOperation("alice", "write")])
    if "+" not in name:
        assert session.data_objects.permissions(path) == sorted(
            session.data_objects.stat(path).permissions, key=lambda p: p.name
        )
    handle = session.data_objects.parallel_write_init(path, stream_count=1)
    session.data_objects.write(None, b"half", parallel_write_handle=handle, stream_index=0, offset=0)
    irods_emulator.drop_parallel_writes(path)
    if "+" not in name:
        with pytest.raises(IrodsResponseError):
            session.data_objects.stat(path)
    grants = {(p.name, p.zone, p.perm) for p in session.data_objects.permissions(path)}
    assert grants == {("rods", "tempZone", "own"), ("alice", "tempZone", "modify_object")}
    with pytest.raises(IrodsNotADataObjectError):
        session.data_objects.permissions(f"{HOME}/missing.bin")
