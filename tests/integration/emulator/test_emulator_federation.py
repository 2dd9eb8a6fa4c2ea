"""Federated zones and checksum schemes of the emulator, over real HTTP (fixtures and the command line).

Expectations: a federation maps a local user to ``user#localZone`` in the remote zone (its remote home is
``/REMOTE/home/user#localZone``); GenQuery answers from the local catalog unless the ``zone`` hint names
another zone (the server passes ``zone`` to ``rc_gen_query``: endpoints/query/src/main.cpp:237 at 0.7.0);
MD5 zones store 32 lowercase hex digits without a prefix, SHA-256 zones ``sha2:`` + base64.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from emulator_http import Api, authenticate, code, serving

from irods_provider.testing import EmulatorServer

LOCAL, REMOTE = "tempZone", "otherZone"
REMOTE_HOME = f"/{REMOTE}/home/alice#{LOCAL}"
Variants = Callable[..., EmulatorServer]


@pytest.fixture
def fed(irods_emulator_variants: Variants) -> Iterator[Api]:
    """A raw client against a fresh emulator serving ``otherZone`` too, with users alice and bob."""
    server = irods_emulator_variants(federated_zones=[REMOTE])
    server.add_user("alice", "alice")
    server.add_user("bob", "bob")
    with httpx2.Client(timeout=10) as http:
        yield Api(server, http)


def _query(api: Api, who: str, query: str, **params: Any) -> list[list[str]]:
    r = api.get("query", who, op="execute_genquery", query=query, **params)
    assert r.status_code == 200, r.text
    assert code(r) == 0, r.text
    rows: list[list[str]] = r.json()["rows"]
    return rows


def test_mapped_user_owns_a_remote_home_and_moves_bytes_there(fed: Api) -> None:
    stat = fed.get("collections", "alice", op="stat", lpath=REMOTE_HOME)
    assert code(stat) == 0
    assert stat.json()["permissions"] == [{"name": "alice", "zone": LOCAL, "type": "rodsuser", "perm": "own"}]
    data = os.urandom(70_000)
    assert code(fed.write(f"{REMOTE_HOME}/a.bin", data, "alice")) == 0
    assert fed.read(f"{REMOTE_HOME}/a.bin", "alice").content == data
    listing = fed.get("collections", "alice", op="list", lpath=REMOTE_HOME)
    assert listing.json()["entries"] == [f"{REMOTE_HOME}/a.bin"]
    obj = fed.get("data-objects", "alice", op="stat", lpath=f"{REMOTE_HOME}/a.bin").json()
    assert obj["size"] == len(data)
    assert obj["permissions"][0] == {"name": "alice", "zone": LOCAL, "type": "rodsuser", "perm": "own"}
    # the local rodsadmin is only rods#tempZone over there: no admin rights, alice's home is invisible
    assert code(fed.get("collections", "rods", op="stat", lpath=REMOTE_HOME)) == -170000


def test_genquery_answers_from_the_catalog_the_zone_hint_names(fed: Api) -> None:
    fed.write(f"{REMOTE_HOME}/r.txt", b"remote", "alice")
    fed.write(f"/{LOCAL}/home/alice/l.txt", b"local", "alice")
    q = "SELECT COLL_NAME, DATA_NAME, DATA_OWNER_NAME, DATA_OWNER_ZONE"
    assert _query(fed, "alice", q) == [[f"/{LOCAL}/home/alice", "l.txt", "alice", LOCAL]]
    assert _query(fed, "alice", f"{q} WHERE COLL_NAME = '{REMOTE_HOME}'") == []
    assert _query(fed, "alice", q, zone=REMOTE) == [[REMOTE_HOME, "r.txt", "alice", LOCAL]]
    assert _query(fed, "alice", q, zone=LOCAL) == [[f"/{LOCAL}/home/alice", "l.txt", "alice", LOCAL]]
    local_users = _query(fed, "rods", "SELECT USER_NAME, USER_ZONE WHERE USER_TYPE = 'rodsuser'")
    assert sorted(local_users) == [["alice", LOCAL], ["bob", LOCAL]]
    remote_users = _query(fed, "rods", "SELECT USER_NAME, USER_ZONE, USER_TYPE", zone=REMOTE)
    assert ["rods", REMOTE, "rodsadmin"] in remote_users
    assert ["alice", LOCAL, "rodsuser"] in remote_users
    assert ["rods", LOCAL, "rodsadmin"] not in remote_users
    unknown = fed.get("query", "alice", op="execute_genquery", query=q, zone="noSuchZone")
    assert (
        code(unknown) == -26000
    )  # SYS_INVALID_ZONE_NAME (rodsErrorTable.h; iRODS test_iquery pins "error: -26000")


def test_genquery2_answers_from_the_catalog_the_zone_names(fed: Api) -> None:
    """rs_genquery2 redirects to the catalog provider of ``zone`` (server/api/src/rs_genquery2.cpp:53-80 at
    irods 4.3.4): the remote zone's rows, not the local ones."""
    fed.write(f"{REMOTE_HOME}/r.txt", b"remote", "alice")
    fed.write(f"/{LOCAL}/home/alice/l.txt", b"local", "alice")
    q = "select COLL_NAME, DATA_NAME"
    assert _query(fed, "alice", q, parser="genquery2") == [[f"/{LOCAL}/home/alice", "l.txt"]]
    assert _query(fed, "alice", q, parser="genquery2", zone=REMOTE) == [[REMOTE_HOME, "r.txt"]]
    assert _query(fed, "alice", q, parser="genquery2", zone=LOCAL) == [[f"/{LOCAL}/home/alice", "l.txt"]]


def test_tickets_live_in_the_local_catalog_only(fed: Api) -> None:
    """rsTicketAdmin asks the local zone's catalog (no zone hint: server/api/src/rsTicketAdmin.cpp at irods
    4.3.4), which has no row for a federated zone's object: its owner gets CAT_UNKNOWN_COLLECTION there."""
    fed.write(f"{REMOTE_HOME}/r.txt", b"remote", "alice")
    fed.write(f"/{LOCAL}/home/alice/l.txt", b"local", "alice")
    remote = fed.post("tickets", "alice", op="create", lpath=f"{REMOTE_HOME}/r.txt")
    assert code(remote) == -814000  # CAT_UNKNOWN_COLLECTION
    local = fed.post("tickets", "alice", op="create", lpath=f"/{LOCAL}/home/alice/l.txt")
    assert code(local) == 0
    assert local.json()["ticket"]


def test_remote_acls_and_avus_live_in_the_remote_catalog(fed: Api) -> None:
    path = f"{REMOTE_HOME}/shared.txt"
    fed.write(path, b"for bob", "alice")
    # a bare name means a user of the remote zone: bob exists only as bob#tempZone there
    bare = fed.post(
        "data-objects", "alice", op="set_permission", lpath=path, **{"entity-name": "bob"}, permission="read"
    )
    assert code(bare) == -827000  # CAT_INVALID_USER
    assert fed.read(path, "bob").status_code == 404
    mapped = fed.post(
        "data-objects",
        "alice",
        op="set_permission",
        lpath=path,
        **{"entity-name": f"bob#{LOCAL}"},
        permission="read",
    )
    assert code(mapped) == 0
    # status() also wants read_object on the collection (an access-checked GenQuery naming COLL_NAME:
    # irods 4.3.4 rsObjStat.cpp:155-202, general_query.cpp:1683-1689)
    assert fed.read(path, "bob").status_code == 404
    on_coll = {"entity-name": f"bob#{LOCAL}"}
    granted = fed.post(
        "collections", "alice", op="set_permission", lpath=REMOTE_HOME, **on_coll, permission="read"
    )
    assert code(granted) == 0
    assert fed.read(path, "bob").content == b"for bob"
    perms = fed.get("data-objects", "alice", op="stat", lpath=path).json()["permissions"]
    assert {"name": "bob", "zone": LOCAL, "type": "rodsuser", "perm": "read_object"} in perms
    # The atomic metadata API writes the LOCAL catalog by the remote object's id: refused here
    # (test_emulator_atomic_ops_lookup.py); a client of the remote zone sets the AVU there.
    ops = '[{"operation":"add","attribute":"site","value":"LRZ","units":"u"}]'
    refused = fed.post("data-objects", "alice", op="modify_metadata", lpath=path, operations=ops)
    assert code(refused) == -818000  # CAT_NO_ACCESS_PERMISSION
    fed.server.add_avu(path, "site", "LRZ", "u")
    q = "SELECT DATA_NAME, META_DATA_ATTR_VALUE WHERE META_DATA_ATTR_NAME = 'site'"
    assert _query(fed, "alice", q) == []
    assert _query(fed, "alice", q, zone=REMOTE) == [["shared.txt", "LRZ"]]
    acl_rows = _query(fed, "alice", "SELECT DATA_NAME, USER_NAME, USER_ZONE, DATA_ACCESS_NAME", zone=REMOTE)
    assert ["shared.txt", "bob", LOCAL, "read_object"] in acl_rows


def test_remote_collections_trash_and_zone_stat(fed: Api) -> None:
    sub = f"{REMOTE_HOME}/sub/deeper"
    created = fed.post("collections", "alice", op="create", lpath=sub, **{"create-intermediates": "1"})
    assert created.json() == {"irods_response": {"status_code": 0}, "created": True}
    assert code(fed.post("collections", "alice", op="remove", lpath=f"{REMOTE_HOME}/sub", recurse="1")) == 0
    trash = fed.get(
        "collections", "alice", op="list", lpath=f"/{REMOTE}/trash/home/alice#{LOCAL}", recurse="1"
    )
    assert trash.json()["entries"] == [
        f"/{REMOTE}/trash/home/alice#{LOCAL}/sub",
        f"/{REMOTE}/trash/home/alice#{LOCAL}/sub/deeper",
    ]
    zone = fed.get("zones", "rods", op="stat", name=REMOTE).json()
    assert zone["exists"] is True
    assert zone["info"]["type"] == "remote"


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        ("md5", hashlib.md5(b"hello").hexdigest()),
        ("sha256", "sha2:" + base64.b64encode(hashlib.sha256(b"hello").digest()).decode()),
    ],
)
def test_checksum_scheme_formats_and_verifies(
    irods_emulator_variants: Variants, scheme: str, expected: str
) -> None:
    server = irods_emulator_variants(hash_scheme=scheme)
    server.add_user("alice", "alice")
    path = f"/{LOCAL}/home/alice/h.txt"
    with httpx2.Client(timeout=10) as http:
        api = Api(server, http)
        api.write(path, b"hello", "alice")
        r = api.post("data-objects", "alice", op="calculate_checksum", lpath=path)
        assert r.json() == {"irods_response": {"status_code": 0}, "checksum": expected}
        assert api.get("data-objects", "alice", op="stat", lpath=path).json()["checksum"] == expected
        assert code(api.get("data-objects", "alice", op="verify_checksum", lpath=path)) == 0
        rows = _query(api, "alice", "SELECT DATA_CHECKSUM WHERE DATA_NAME = 'h.txt'")
        assert rows == [[expected]]
    if scheme == "md5":
        assert len(expected) == 32
        assert not expected.startswith("sha2:")


def test_command_line_serves_federated_md5_zones(tmp_path: Any) -> None:
    args = ["--federated-zone", REMOTE, "--federated-zone", "thirdZone", "--hash-scheme", "md5"]
    with serving(tmp_path / "s", *args) as (proc, base):
        assert proc.stdout is not None
        assert "rods / rods" in proc.stdout.readline()
        assert proc.stdout.readline().strip() == f"hash scheme md5; federated zones {REMOTE} thirdZone"
        token = authenticate(base).text
        with httpx2.Client(timeout=10, headers={"Authorization": f"Bearer {token}"}) as http:
            home = f"/thirdZone/home/rods#{LOCAL}"
            assert (
                http.get(f"{base}/collections", params={"op": "stat", "lpath": home}).json()["type"]
                == "collection"
            )
            assert http.get(f"{base}/zones", params={"op": "stat", "name": REMOTE}).json()["exists"] is True
            write = {"op": "write", "lpath": f"{home}/x", "bytes": "hello"}
            assert http.post(f"{base}/data-objects", data=write).json()["irods_response"]["status_code"] == 0
            r = http.post(f"{base}/data-objects", data={"op": "calculate_checksum", "lpath": f"{home}/x"})
            assert r.json()["checksum"] == hashlib.md5(b"hello").hexdigest()


def test_each_zone_knows_only_its_own_resources(irods_emulator_variants: Variants) -> None:
    """A federation's zones have separate catalogs, resources included: GenQuery with the ``zone`` hint is
    answered by that zone's catalog (query/src/main.cpp: ``qb.zone_hint(zone)``, 0.7.0), and a request about
    a path of the remote zone is served by that zone, whose data objects live on its own resources."""
    server = irods_emulator_variants(
        federated_zones=[REMOTE], resources=("archiveResc",), zone_resources={REMOTE: ("remoteResc",)}
    )
    server.add_user("alice", "alice")
    local_obj, remote_obj = f"/{LOCAL}/home/alice/l.txt", f"{REMOTE_HOME}/r.txt"
    with httpx2.Client(timeout=10) as http:
        api = Api(server, http)
        q = "SELECT RESC_NAME, RESC_ZONE_NAME"
        # Each zone's installer adds its bundleResc and demoResc (irods 4.3.4 database_connect.py:474-494).
        local = [["archiveResc", LOCAL], ["bundleResc", LOCAL], ["demoResc", LOCAL]]
        assert sorted(_query(api, "alice", q)) == local
        remote = [["bundleResc", REMOTE], ["demoResc", REMOTE], ["remoteResc", REMOTE]]
        assert sorted(_query(api, "alice", q, zone=REMOTE)) == remote
        assert api.get("resources", "rods", op="stat", name="remoteResc").json()["exists"] is False
        assert code(api.write(local_obj, b"local", "alice")) == 0
        assert code(api.write(remote_obj, b"remote", "alice")) == 0
        missing = -78000  # SYS_RESC_DOES_NOT_EXIST
        for path, resource, expected in (
            (remote_obj, "remoteResc", 0),
            (remote_obj, "archiveResc", missing),
            (local_obj, "remoteResc", missing),
            (local_obj, "archiveResc", 0),
        ):
            target = {"dst-resource": resource}
            reply = api.post("data-objects", "alice", op="replicate", lpath=path, **target)
            assert code(reply) == expected, (path, resource, reply.text)
        rows = _query(api, "alice", "SELECT DATA_NAME, DATA_RESC_NAME, RESC_ZONE_NAME", zone=REMOTE)
        assert sorted(rows) == [["r.txt", "demoResc", REMOTE], ["r.txt", "remoteResc", REMOTE]]
