"""``rename`` from one zone of a federation into another, over real HTTP: refused as iRODS refuses it.

irods::filesystem::rename (irods 4.3.4 lib/filesystem/src/filesystem.cpp:1013-1058), which the HTTP API calls
for both renames (irods_client_http_api 0.6.0 endpoints/data_objects/src/main.cpp:2169), stats the old path,
the new one and the new one's parent through routed stats, so an existing destination collection in the
other zone passes; rsDataObjRename then answers SYS_CROSS_ZONE_MV_NOT_SUPPORTED
(server/api/src/rsDataObjRename.cpp:365-366 at 4.3.4; a remote source is first forwarded to its own zone,
:339-347, which refuses it the same way). The emulator used to name the existing destination collection as
missing (OBJ_PATH_DOES_NOT_EXIST).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx2
import pytest
from emulator_http import Api, code

from irods_provider._error_codes import error_code
from irods_provider.testing import EmulatorServer

LOCAL, REMOTE = "tempZone", "otherZone"
REMOTE_HOME = f"/{REMOTE}/home/alice#{LOCAL}"
LOCAL_HOME = f"/{LOCAL}/home/alice"
CROSS_ZONE = error_code("SYS_CROSS_ZONE_MV_NOT_SUPPORTED")


@pytest.fixture
def fed(irods_emulator_variants: Callable[..., EmulatorServer]) -> Iterator[Api]:
    server = irods_emulator_variants(federated_zones=[REMOTE])
    server.add_user("alice", "alice")
    with httpx2.Client(timeout=10) as http:
        api = Api(server, http)
        for home in (LOCAL_HOME, REMOTE_HOME):
            assert code(api.post("collections", "alice", op="create", lpath=f"{home}/c")) == 0
            assert code(api.write(f"{home}/c/x.bin", b"x", "alice")) == 0
        yield api


@pytest.mark.parametrize(
    ("src", "dst"), [(LOCAL_HOME, REMOTE_HOME), (REMOTE_HOME, LOCAL_HOME)], ids=["out", "in"]
)
@pytest.mark.parametrize("endpoint", ["data-objects", "collections"])
def test_a_rename_into_another_zone_is_refused_as_cross_zone(
    fed: Api, src: str, dst: str, endpoint: str
) -> None:
    old, new = (
        (f"{src}/c/x.bin", f"{dst}/c/y.bin") if endpoint == "data-objects" else (f"{src}/c", f"{dst}/d")
    )
    answer = fed.post(endpoint, "alice", op="rename", **{"old-lpath": old, "new-lpath": new})
    assert code(answer) == CROSS_ZONE, answer.text
    stat = fed.get(endpoint, "alice", op="stat", lpath=old)
    assert stat.status_code == 200, (stat.status_code, stat.text)
    assert code(stat) == 0  # nothing moved


def test_a_rename_into_a_missing_collection_of_another_zone_names_it(fed: Api) -> None:
    old, new = f"{LOCAL_HOME}/c/x.bin", f"{REMOTE_HOME}/nowhere/y.bin"
    answer = fed.post("data-objects", "alice", op="rename", **{"old-lpath": old, "new-lpath": new})
    assert code(answer) == error_code("OBJ_PATH_DOES_NOT_EXIST")
