"""A write into a collection the user cannot see is refused; the error must not claim it does not exist.

The HTTP API reports every failed open as INVALID_HANDLE (data_objects main.cpp:1197-1212 at 0.7.0), so the
client looks at the parent collection to name the cause; a collection hidden from the user (no permission on
it) looks the same as a missing one from there.
"""

from __future__ import annotations

import pytest

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.exceptions import IrodsNotFoundError

HOME = "/tempZone/home/rods"


def test_a_write_under_a_hidden_collection_says_it_may_be_hidden(irods_emulator) -> None:
    irods_emulator.add_user("alice", "apass")
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator")) as rods:
        rods.collections.create(f"{HOME}/private")
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("alice", "apass")) as alice:
        hidden = r"does not exist \(or is hidden from this user\)"
        with pytest.raises(IrodsNotFoundError, match=hidden) as caught:
            alice.data_objects.write(f"{HOME}/private/a.bin", b"x")
        assert caught.value.path == f"{HOME}/private/a.bin"
        assert caught.value.irods_code == -175000  # INVALID_HANDLE: what the server answered
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator")) as rods:
        assert rods.collections.list(f"{HOME}/private") == []  # nothing written
