"""How the atomic metadata and ACL plugins find their object, over real HTTP, as iRODS does it.

Both plugins run on the LOCAL zone's catalog provider (``redirect_to_catalog_provider`` with no zone,
atomic_apply_metadata_operations.cpp:445-456, atomic_apply_acl_operations.cpp:437-448 at irods 4.3.4) and
find the object's id with a GenQuery1 string that pastes the path in (``get_object_id``: metadata
:151-194, ACL :170-203). rsGenQuery sends a query with a ``COLL_NAME`` condition to that path's zone
(rsGenQuery.cpp:667-690, ``getZoneHintForGenQuery`` miscUtil.cpp:1835-1863), so a remote-zone path yields
the REMOTE object's id; the plugins then check the caller's rights and write AVUs/ACLs in the LOCAL
database by that id (catalog_utilities.cpp:81-121 ``user_has_permission_to_modify_entity``, :143-175
``..._acls``; ``attach_metadata_to_object``). The remote object is never changed: a user is refused
with CAT_NO_ACCESS_PERMISSION (no local object holds that id here; on a real federation one may, and it
is changed instead), and an administrator's ``admin`` call succeeds without touching the remote object.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx2
import pytest
from emulator_http import Api, code

from irods_provider.testing import EmulatorServer

pytestmark = pytest.mark.timeout(60)

LOCAL, REMOTE = "tempZone", "otherZone"
REMOTE_HOME = f"/{REMOTE}/home/alice#{LOCAL}"
CAT_NO_ACCESS_PERMISSION = -818000  # rodsErrorTable.h (irods 4.3.4)
Variants = Callable[..., EmulatorServer]


@pytest.fixture
def fed(irods_emulator_variants: Variants) -> Iterator[Api]:
    server = irods_emulator_variants(federated_zones=[REMOTE])
    server.add_user("alice", "alice")
    with httpx2.Client(timeout=10) as http:
        api = Api(server, http)
        assert code(api.write(f"{REMOTE_HOME}/a.csv", b"1,2", "alice")) == 0
        assert code(api.post("collections", "alice", op="create", lpath=f"{REMOTE_HOME}/d")) == 0
        yield api


def _avus(api: Api, who: str, query: str) -> list[list[str]]:
    r = api.get("query", who, op="execute_genquery", query=query, zone=REMOTE)
    assert r.status_code == 200, r.text
    assert code(r) == 0, r.text
    rows: list[list[str]] = r.json()["rows"]
    return rows


def _data_avus(api: Api, who: str, home: str = REMOTE_HOME) -> list[list[str]]:
    return _avus(
        api,
        who,
        "select META_DATA_ATTR_NAME, META_DATA_ATTR_VALUE "
        f"where COLL_NAME = '{home}' and DATA_NAME = 'a.csv'",
    )


ADD = json.dumps([{"operation": "add", "attribute": "ready", "value": "yes"}])


@pytest.mark.parametrize(
    ("endpoint", "lpath"), [("data-objects", f"{REMOTE_HOME}/a.csv"), ("collections", f"{REMOTE_HOME}/d")]
)
def test_a_users_remote_metadata_change_is_refused_and_changes_nothing(
    fed: Api, endpoint: str, lpath: str
) -> None:
    r = fed.post(endpoint, "alice", op="modify_metadata", lpath=lpath, operations=ADD)
    assert r.status_code == 400
    assert code(r) == CAT_NO_ACCESS_PERMISSION
    failed = r.json()["irods_response"]["failed_operation"]
    assert failed["operation_index"] == 0
    assert failed["operation"] is None
    assert _data_avus(fed, "alice") == []
    coll = _avus(fed, "alice", f"select META_COLL_ATTR_NAME where COLL_NAME = '{REMOTE_HOME}/d'")
    assert coll == []


def test_an_admins_remote_metadata_change_succeeds_without_reaching_the_remote_object(fed: Api) -> None:
    home = f"/{REMOTE}/home/rods#{LOCAL}"
    assert code(fed.write(f"{home}/a.csv", b"1")) == 0
    r = fed.post("data-objects", "rods", op="modify_metadata", lpath=f"{home}/a.csv", admin=1, operations=ADD)
    assert r.status_code == 200, r.text
    assert code(r) == 0
    assert _data_avus(fed, "rods", home) == []


def test_a_users_remote_acl_change_is_refused_and_changes_nothing(fed: Api) -> None:
    ops = json.dumps([{"entity_name": "rods", "acl": "read"}])
    path = f"{REMOTE_HOME}/a.csv"
    r = fed.post("data-objects", "alice", op="modify_permissions", lpath=path, operations=ops)
    assert r.status_code == 400
    assert code(r) == CAT_NO_ACCESS_PERMISSION
    assert r.json()["irods_response"]["failed_operation"]["operation"] is None
    perms = fed.get("data-objects", "alice", op="stat", lpath=path).json()["permissions"]
    assert [p["perm"] for p in perms] == ["own"]


def test_the_local_zone_is_unchanged(fed: Api) -> None:
    """The same calls on a local path still apply (the local catalog holds the object)."""
    local = "/tempZone/home/alice/a.csv"
    assert code(fed.write(local, b"1", "alice")) == 0
    r = fed.post("data-objects", "alice", op="modify_metadata", lpath=local, operations=ADD)
    assert r.status_code == 200, r.text
    assert code(r) == 0
    q = "select META_DATA_ATTR_VALUE where COLL_NAME = '/tempZone/home/alice' and DATA_NAME = 'a.csv'"
    r = fed.get("query", "alice", op="execute_genquery", query=q)
    assert r.json()["rows"] == [["yes"]]


# ---- the lookup's GenQuery string, by iRODS release --------------------------------------------------------
# get_object_id pastes the path verbatim on 4.3 (metadata :158-167, ACL :183-190 at 4.3.4): the string
# splitter cuts at an `` and `` only after an even number of quotes (rcMisc.cpp:3130-3213), so an odd
# number in a data object's collection leaves one condition that matches nothing: metadata answers
# SYS_INVALID_INPUT_PARAM "Entity does not exist" (:189-193, caught at :503-506), ACLs SYS_UNKNOWN_ERROR
# (:196-202). 5.0 writes quotes as \x27 (single_quotes_to_hex, 5.0.2 :159-167) but reads a \xHH of the
# path as one byte.

SYS_INVALID_INPUT_PARAM = -130000
SYS_UNKNOWN_ERROR = -165000


@pytest.fixture(params=["rods4.3.2", "rods5.0.1"])
def release(request: pytest.FixtureRequest, irods_emulator_variants: Variants) -> Iterator[tuple[str, Api]]:
    server = irods_emulator_variants(irods_server_version=request.param)
    with httpx2.Client(timeout=10) as http:
        yield request.param, Api(server, http)


@pytest.mark.parametrize("collection", ["John's data", "a\\x41"])
def test_the_lookup_reads_the_path_as_the_release_does(release: tuple[str, Api], collection: str) -> None:
    version, api = release
    coll = f"/tempZone/home/rods/{collection}"
    assert code(api.post("collections", op="create", lpath=coll)) == 0
    assert code(api.write(f"{coll}/f.txt", b"x")) == 0
    misses = (version == "rods4.3.2") == ("'" in collection)
    meta = api.post("data-objects", op="modify_metadata", lpath=f"{coll}/f.txt", operations=ADD)
    acl = api.post(
        "data-objects",
        op="modify_permissions",
        lpath=f"{coll}/f.txt",
        operations=json.dumps([{"entity_name": "rods", "acl": "own"}]),
    )
    if misses:
        assert (meta.status_code, code(meta)) == (400, SYS_INVALID_INPUT_PARAM)
        failed = meta.json()["irods_response"]["failed_operation"]
        assert failed["error_message"] == f"Entity does not exist [entity_name={coll}/f.txt]"
        assert (acl.status_code, code(acl)) == (400, SYS_UNKNOWN_ERROR)
    else:
        assert (meta.status_code, code(meta)) == (200, 0)
        assert (acl.status_code, code(acl)) == (200, 0)
    # the collection itself is one condition: found on both releases (no \xHH on 5.0 aside)
    on_coll = api.post("collections", op="modify_metadata", lpath=coll, operations=ADD)
    assert code(on_coll) == (SYS_INVALID_INPUT_PARAM if version != "rods4.3.2" and "\\x" in collection else 0)


@pytest.mark.parametrize("collection", ["John's data", "a\\x41"])
def test_touch_finds_its_replica_as_the_release_reads_the_path(
    release: tuple[str, Api], collection: str
) -> None:
    """rs_touch picks the newest good replica with the same kind of pasted query (touch.cpp:366-398 at 4.3.4;
    single_quotes_to_hex at 5.0.2 :374-380): none found is SYS_NO_GOOD_REPLICA (-166000), answered as
    rc_touch's code alone at HTTP 200 (data_objects/src/main.cpp:2494-2496 at 0.7.0)."""
    version, api = release
    coll = f"/tempZone/home/rods/{collection}"
    assert code(api.post("collections", op="create", lpath=coll)) == 0
    assert code(api.write(f"{coll}/f.txt", b"x")) == 0
    r = api.post("data-objects", op="touch", lpath=f"{coll}/f.txt", **{"seconds-since-epoch": "1000"})
    misses = (version == "rods4.3.2") == ("'" in collection)
    assert r.status_code == 200
    assert code(r) == (-166000 if misses else 0)
