"""Configured storage resources: the preset zone, targeting, replication, stale/good, per-replica checksums.

Expectations follow the server (data_objects/src/main.cpp at 0.7.0 passes ``resource`` as
DEST_RESC_NAME_KW / RESC_NAME_KW and ``replica-number`` as REPL_NUM_KW to iRODS) and iRODS' replica
rules: a write makes the written replica good and every other replica stale, except the siblings under
the same replication resource, which iRODS keeps in sync.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import httpx2
import pytest
from emulator_http import ZONE, Api, code

from irods_provider.testing import EmulatorConfig, EmulatorServer
from irods_provider.testing._cli import _parser

HOME = f"/{ZONE}/home/alice"
REPLICAS = "select DATA_REPL_NUM, RESC_NAME, DATA_RESC_HIER, DATA_REPL_STATUS, DATA_CHECKSUM"


@pytest.fixture
def rapi(irods_emulator_resources: EmulatorServer) -> Iterator[Api]:
    """A raw client against the preset-resources zone, with rodsuser ``alice``."""
    irods_emulator_resources.add_user("alice", "alice")
    with httpx2.Client(timeout=10) as http:
        yield Api(irods_emulator_resources, http)


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def replicas(api: Api, name: str) -> list[list[str]]:
    q = f"{REPLICAS} where DATA_NAME = '{name}'"
    rows: list[list[str]] = api.get("query", "alice", op="execute_genquery", query=q).json()["rows"]
    return rows


def test_preset_zone_has_demoresc_archive_and_a_replication_tree(rapi: Api) -> None:
    q = "select RESC_NAME, RESC_TYPE_NAME"
    rows = rapi.get("query", op="execute_genquery", query=q).json()["rows"]
    assert rows == [
        ["archiveResc", "unixfilesystem"],
        ["bundleResc", "unixfilesystem"],  # every new zone's (irods 4.3.4 database_connect.py:474-481)
        ["demoResc", "unixfilesystem"],
        ["replResc", "replication"],
        ["replResc_ufs0", "unixfilesystem"],
        ["replResc_ufs1", "unixfilesystem"],
    ]
    repl = rapi.get("resources", op="stat", name="replResc").json()["info"]
    for child in ("replResc_ufs0", "replResc_ufs1"):
        assert rapi.get("resources", op="stat", name=child).json()["info"]["parent_id"] == repl["id"]
    # demoResc stays the default: an untargeted write lands there.
    assert code(rapi.write(f"{HOME}/plain", b"x", "alice")) == 0
    assert [r[:4] for r in replicas(rapi, "plain")] == [["0", "demoResc", "demoResc", "1"]]


def test_plain_fixture_keeps_the_installers_resources(irods_emulator: EmulatorServer) -> None:
    """bundleResc and the default resource, as setup_database_values inserts them (irods 4.3.4
    database_connect.py:474-494)."""
    with httpx2.Client(timeout=10) as http:
        api = Api(irods_emulator, http)
        rows = api.get("query", op="execute_genquery", query="select RESC_NAME").json()["rows"]
    assert rows == [["bundleResc"], ["demoResc"]]


@pytest.mark.parametrize("form", ["header", "multipart", "urlencoded"])
def test_write_and_read_target_a_resource_in_every_form(rapi: Api, form: str) -> None:
    path = f"{HOME}/targeted-{form}"
    if form == "header":
        r = rapi.write(path, b"archived", "alice", resource="archiveResc")
    elif form == "multipart":
        r = rapi.post_multipart(
            "data-objects", "alice", op="write", lpath=path, resource="archiveResc", bytes=b"archived"
        )
    else:
        r = rapi.post(
            "data-objects", "alice", op="write", lpath=path, resource="archiveResc", bytes="archived"
        )
    assert code(r) == 0
    assert [r[:4] for r in replicas(rapi, f"targeted-{form}")] == [["0", "archiveResc", "archiveResc", "1"]]
    assert rapi.read(path, "alice", resource="archiveResc").content == b"archived"
    # No replica on demoResc: a read targeting it fails to open (400, as the server's read does).
    assert rapi.read(path, "alice", resource="demoResc").status_code == 400


def test_parallel_write_init_targets_the_replication_resource_and_keeps_children_in_sync(rapi: Api) -> None:
    path = f"{HOME}/parallel"
    r = rapi.post(
        "data-objects",
        "alice",
        op="parallel_write_init",
        lpath=path,
        resource="replResc",
        **{"stream-count": 2},
    )
    handle = r.json()["parallel_write_handle"]
    for index, part in enumerate((b"first-", b"second")):
        h = {"irods-api-request-parallel-write-handle": handle, "irods-api-request-stream-index": str(index)}
        h["irods-api-request-offset"] = str(6 * index)
        assert (
            code(rapi.write(path, part, "alice", **{k[len("irods-api-request-") :]: v for k, v in h.items()}))
            == 0
        )
    assert (
        code(
            rapi.post(
                "data-objects", "alice", op="parallel_write_shutdown", **{"parallel-write-handle": handle}
            )
        )
        == 0
    )
    assert [r[:4] for r in replicas(rapi, "parallel")] == [
        ["0", "replResc_ufs0", "replResc;replResc_ufs0", "1"],
        ["1", "replResc_ufs1", "replResc;replResc_ufs1", "1"],
    ]
    for number in (0, 1):
        assert rapi.read(path, "alice", **{"replica-number": number}).content == b"first-second"


def test_writes_make_other_replicas_stale_until_replicated(rapi: Api) -> None:
    path = f"{HOME}/tiers"
    assert code(rapi.write(path, b"v1", "alice")) == 0
    for dst in ("archiveResc", "replResc"):
        assert (
            code(rapi.post("data-objects", "alice", op="replicate", lpath=path, **{"dst-resource": dst})) == 0
        )
    assert [r[1] + ":" + r[3] for r in replicas(rapi, "tiers")] == [
        "demoResc:1",
        "archiveResc:1",
        "replResc_ufs0:1",
        "replResc_ufs1:1",
    ]
    # A write through the replication resource keeps both children good, the rest goes stale.
    assert code(rapi.write(path, b"v2-longer", "alice", resource="replResc")) == 0
    assert [r[1] + ":" + r[3] for r in replicas(rapi, "tiers")] == [
        "demoResc:0",
        "archiveResc:0",
        "replResc_ufs0:1",
        "replResc_ufs1:1",
    ]
    assert rapi.read(path, "alice", **{"replica-number": 0}).content == b"v1"  # the stale bytes stay
    stat = rapi.get("data-objects", "alice", op="stat", lpath=path).json()
    assert stat["size"] == len(b"v2-longer")  # stat reports the newest good replica
    r = rapi.post(
        "data-objects",
        "alice",
        op="replicate",
        lpath=path,
        **{"dst-resource": "archiveResc", "src-resource": "replResc"},
    )
    assert code(r) == 0
    assert [r[3] for r in replicas(rapi, "tiers")] == ["0", "1", "1", "1"]
    assert rapi.read(path, "alice", resource="archiveResc").content == b"v2-longer"
    # Trimming the stale demoResc replica leaves three good ones.
    assert code(rapi.post("data-objects", "alice", op="trim", lpath=path, **{"replica-number": 0})) == 0
    assert [r[0] + r[1] for r in replicas(rapi, "tiers")] == [
        "1archiveResc",
        "2replResc_ufs0",
        "3replResc_ufs1",
    ]


def test_checksums_are_per_replica(rapi: Api) -> None:
    path = f"{HOME}/sums"
    assert code(rapi.write(path, b"old", "alice")) == 0
    assert (
        code(
            rapi.post("data-objects", "alice", op="replicate", lpath=path, **{"dst-resource": "archiveResc"})
        )
        == 0
    )
    assert code(rapi.write(path, b"new!", "alice", resource="archiveResc")) == 0
    for number, data in ((0, b"old"), (1, b"new!")):
        r = rapi.post(
            "data-objects", "alice", op="calculate_checksum", lpath=path, **{"replica-number": number}
        )
        assert r.json()["checksum"] == sha2(data)
    assert [(r[0], r[4]) for r in replicas(rapi, "sums")] == [("0", sha2(b"old")), ("1", sha2(b"new!"))]
    assert rapi.get("data-objects", "alice", op="stat", lpath=path).json()["checksum"] == sha2(b"new!")


def test_targeting_errors_name_the_server_codes(rapi: Api) -> None:
    path = f"{HOME}/errs"
    assert code(rapi.write(path, b"x", "alice")) == 0
    r = rapi.post("data-objects", "alice", op="replicate", lpath=path, **{"dst-resource": "noSuchResc"})
    assert code(r) == -78000  # SYS_RESC_DOES_NOT_EXIST
    r = rapi.post("data-objects", "alice", op="replicate", lpath=path, **{"dst-resource": "replResc_ufs0"})
    assert code(r) == -1816000  # DIRECT_CHILD_ACCESS
    r = rapi.post(
        "data-objects",
        "alice",
        op="modify_replica",
        lpath=path,
        **{"replica-number": 0, "new-data-replica-status": 0},
    )
    assert code(r) == -830000  # CAT_INSUFFICIENT_PRIVILEGE_LEVEL: the server always sets ADMIN_KW
    r = rapi.post(
        "data-objects", op="modify_replica", lpath=path, **{"replica-number": 0, "new-data-comments": "c"}
    )
    assert code(r) == 0
    assert [r[:4] for r in replicas(rapi, "errs")] == [["0", "demoResc", "demoResc", "1"]]


def test_cli_resource_options_and_config() -> None:
    args = _parser().parse_args(["serve", "--resource", "archiveResc", "--resource", "cache:passthru"])
    assert args.resource == ["archiveResc", "cache:passthru"]
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--resource", "bad:compound"])
    with (
        EmulatorServer(EmulatorConfig(resources=("cache:passthru",))) as server,
        httpx2.Client(timeout=10) as http,
    ):
        api = Api(server, http)
        info = api.get("resources", op="stat", name="cache_ufs0").json()["info"]
        assert info["parent_id"] == api.get("resources", op="stat", name="cache").json()["info"]["id"]
        assert code(api.write(f"/{ZONE}/home/rods/c", b"abc", resource="cache")) == 0
        q = "select RESC_NAME, DATA_RESC_HIER where DATA_NAME = 'c'"
        assert api.get("query", op="execute_genquery", query=q).json()["rows"] == [
            ["cache_ufs0", "cache;cache_ufs0"]
        ]
    with pytest.raises(ValueError, match="configured twice"):
        EmulatorServer(EmulatorConfig(resources=("demoResc",)))


def test_cli_default_resource_by_collection() -> None:
    args = _parser().parse_args(
        ["serve", "--resource-preset", "--default-resource", f"/{ZONE}/home/rods/proj/=replResc"]
    )
    assert args.default_resource == [(f"/{ZONE}/home/rods/proj", "replResc")]
    # a collection name may hold '=', a resource name may not: the last '=' separates them
    args = _parser().parse_args(["serve", "--default-resource", f"/{ZONE}/home/rods/run=7=replResc"])
    assert args.default_resource == [(f"/{ZONE}/home/rods/run=7", "replResc")]
    for bad in ("relative=replResc", f"/{ZONE}/home/rods/proj", f"/{ZONE}/x="):
        with pytest.raises(SystemExit):
            _parser().parse_args(["serve", "--default-resource", bad])


def test_genquery_resource_columns_real_clients_use(rapi: Api) -> None:
    ids = {
        name: rapi.get("resources", op="stat", name=name).json()["info"]["id"]
        for name in ("replResc", "replResc_ufs0", "replResc_ufs1")
    }
    q = "select RESC_NAME, RESC_PARENT, RESC_CLASS_NAME, RESC_TYPE_NAME where RESC_NAME like 'replResc%'"
    assert rapi.get("query", op="execute_genquery", query=q).json()["rows"] == [
        ["replResc", "", "cache", "replication"],
        ["replResc_ufs0", ids["replResc"], "cache", "unixfilesystem"],
        ["replResc_ufs1", ids["replResc"], "cache", "unixfilesystem"],
    ]
    assert code(rapi.write(f"{HOME}/ids", b"x", "alice", resource="replResc")) == 0
    q = "select DATA_REPL_NUM, DATA_RESC_ID, RESC_LOC where DATA_NAME = 'ids'"
    assert rapi.get("query", "alice", op="execute_genquery", query=q).json()["rows"] == [
        ["0", ids["replResc_ufs0"], rapi.server.config.server_hostname],
        ["1", ids["replResc_ufs1"], rapi.server.config.server_hostname],
    ]
