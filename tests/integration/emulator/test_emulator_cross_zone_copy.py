"""``data_objects.copy`` between a federated zone and the local one, over real HTTP.

Expectation from irods 4.3.4 server/api/src/rsDataObjCopy.cpp:45-90 (``connect_to_remote_zone``): a copy
whose source or destination lies in the local zone runs in the local server, which opens the remote side
through the federation as the proxied ``user#localZone``; only a copy inside one remote zone is handed to
that zone. The HTTP API passes the call to ``rcDataObjCopy`` unchanged (irods_client_http_api 0.7.0
endpoints/data_objects/src/main.cpp:2351-2367). So a user who may read the source and write the
destination's collection copies across the federation either way; the new object is the caller's, as known
in the destination's zone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import httpx2
import pytest
from emulator_http import Api, code

from irods_provider.testing import EmulatorServer

LOCAL, REMOTE = "tempZone", "otherZone"
REMOTE_HOME = f"/{REMOTE}/home/alice#{LOCAL}"
LOCAL_HOME = f"/{LOCAL}/home/alice"


@pytest.fixture
def fed(irods_emulator_variants: Callable[..., EmulatorServer]) -> Iterator[Api]:
    server = irods_emulator_variants(federated_zones=[REMOTE])
    server.add_user("alice", "alice")
    server.add_user("bob", "bob")
    with httpx2.Client(timeout=10) as http:
        yield Api(server, http)


def _copy(api: Api, src: str, dst: str, who: str = "alice") -> httpx2.Response:
    return api.post("data-objects", who, op="copy", **{"src-lpath": src, "dst-lpath": dst})


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        (f"{REMOTE_HOME}/in.bin", f"{LOCAL_HOME}/copy.bin"),
        (f"{LOCAL_HOME}/in.bin", f"{REMOTE_HOME}/copy.bin"),
    ],
    ids=["remote-to-local", "local-to-remote"],
)
def test_a_copy_across_the_federation_runs_as_the_caller_of_each_zone(fed: Api, src: str, dst: str) -> None:
    data = os.urandom(70_000)
    assert code(fed.write(src, data, "alice")) == 0
    answer = _copy(fed, src, dst)
    assert answer.status_code == 200
    assert code(answer) == 0, answer.text
    assert fed.read(dst, "alice").content == data
    assert fed.read(src, "alice").content == data
    stat = fed.get("data-objects", "alice", op="stat", lpath=dst).json()
    assert stat["size"] == len(data)
    assert {"name": "alice", "zone": LOCAL, "type": "rodsuser", "perm": "own"} in stat["permissions"]


def test_a_copy_across_the_federation_still_needs_write_access_to_the_destination(fed: Api) -> None:
    assert code(fed.write(f"{REMOTE_HOME}/in.bin", b"alice's", "alice")) == 0
    granted = fed.post(
        "data-objects",
        "alice",
        op="set_permission",
        lpath=f"{REMOTE_HOME}/in.bin",
        **{"entity-name": f"bob#{LOCAL}"},
        permission="read",
    )
    assert code(granted) == 0
    # bob's is_data_object of the source (data_objects:2359 at 0.7.0, rsObjStat) wants read_object on its
    # collection too (irods 4.3.4 general_query.cpp:1683-1689), else the answer is NOT_A_DATA_OBJECT.
    on_home = fed.post(
        "collections",
        "alice",
        op="set_permission",
        lpath=REMOTE_HOME,
        **{"entity-name": f"bob#{LOCAL}"},
        permission="read",
    )
    assert code(on_home) == 0, on_home.text
    into_alices = _copy(fed, f"{REMOTE_HOME}/in.bin", f"{LOCAL_HOME}/bob.bin", who="bob")
    assert code(into_alices) == -818000  # CAT_NO_ACCESS_PERMISSION: bob may not write alice's home
    into_bobs = _copy(fed, f"{REMOTE_HOME}/in.bin", f"/{LOCAL}/home/bob/copy.bin", who="bob")
    assert code(into_bobs) == 0, into_bobs.text
    assert fed.read(f"/{LOCAL}/home/bob/copy.bin", "bob").content == b"alice's"
