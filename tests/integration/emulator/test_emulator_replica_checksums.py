"""calculate_checksum / verify_checksum across the replicas of a replication resource, as rsDataObjChksum
answers them (irods/irods server/api/src/rsDataObjChksum.cpp, 4.3.2 to 5.0.2: ``do_lookup_or_update``,
``do_verification``) behind the HTTP API (data_objects/src/main.cpp :2608-2792 at 0.7.0), and the test hooks
that damage a replica (``corrupt_replica``, ``set_replica_fault``)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import httpx2
import pytest
from emulator_http import ZONE, Api, code

from irods_provider.testing import EmulatorServer

HOME = f"/{ZONE}/home/alice"
PATH = f"{HOME}/twin"
DATA = b"replicated bytes"


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def damaged(data: bytes) -> bytes:
    return bytes([data[0] ^ 0xFF]) + data[1:]


@pytest.fixture
def zone(irods_emulator_resources: EmulatorServer) -> Iterator[tuple[EmulatorServer, Api]]:
    """The preset-resources zone, rodsuser ``alice`` and ``PATH`` written to replResc (two replicas)."""
    irods_emulator_resources.add_user("alice", "alice")
    with httpx2.Client(timeout=10) as http:
        api = Api(irods_emulator_resources, http)
        yield irods_emulator_resources, api


def calc(api: Api, **params: str) -> httpx2.Response:
    return api.post("data-objects", "alice", op="calculate_checksum", lpath=PATH, **params)


def verify(api: Api, **params: str) -> httpx2.Response:
    return api.get("data-objects", "alice", op="verify_checksum", lpath=PATH, **params)


def findings(r: httpx2.Response) -> list[tuple[str, int, str]]:
    body = r.json()
    assert body["irods_response"]["status_code"] == -407000  # CHECK_VERIFICATION_RESULTS
    return [(f["severity"], f["error_code"], f["message"]) for f in body["results"]]


def test_all_over_differing_replicas_is_a_500_with_an_empty_body(zone) -> None:
    """rcDataObjChksum returns 0 with a NULL checksum; the HTTP API's std::string of it fails."""
    server, api = zone
    assert code(api.write(PATH, DATA, "alice", resource="replResc")) == 0
    assert server.corrupt_replica(PATH, "replResc_ufs1") == 1
    r = calc(api, all="1")
    assert (r.status_code, r.content) == (500, b"")
    # Each replica's checksum was registered on the way: the catalog now tells them apart.
    assert calc(api, **{"replica-number": "0"}).json()["checksum"] == sha2(DATA)
    assert calc(api, **{"replica-number": "1"}).json()["checksum"] == sha2(damaged(DATA))
    assert findings(verify(api)) == [
        ("warning", -314000, "WARNING: Data object has replicas with different checksums.")
    ]


def test_verify_recomputes_each_replica_against_its_catalog_checksum(zone) -> None:
    server, api = zone
    assert code(api.write(PATH, DATA, "alice", resource="replResc")) == 0
    assert findings(verify(api)) == [
        ("warning", -862000, "WARNING: No checksum available for replica [0]."),
        ("warning", -862000, "WARNING: No checksum available for replica [1]."),
    ]
    r = calc(api, all="1")  # identical replicas: their checksum
    assert r.json() == {"irods_response": {"status_code": 0}, "checksum": sha2(DATA)}
    assert code(verify(api)) == 0
    server.corrupt_replica(PATH, "replResc_ufs0")
    message = "ERROR: Computed checksum does not match what is in the catalog for replica [0]."
    assert findings(verify(api)) == [("error", -314000, message)]
    assert findings(verify(api, **{"replica-number": "0"})) == [("error", -314000, message)]
    assert code(verify(api, **{"replica-number": "1"})) == 0
    assert code(verify(api, **{"compute-checksums": "0"})) == 0  # the catalog alone agrees


def test_stale_replicas_are_skipped_by_all_and_reported_by_verify(zone) -> None:
    server, api = zone
    server.set_replica_fault("replResc_ufs1", "stale")
    assert code(api.write(PATH, DATA, "alice", resource="replResc")) == 0
    assert calc(api, all="1").json()["checksum"] == sha2(DATA)  # the stale replica is not looked at
    assert findings(verify(api)) == [("info", 0, "INFO: Number of replicas skipped: 1")]
    server.set_replica_fault("replResc_ufs1", None)
    assert code(api.write(PATH, DATA, "alice", resource="replResc")) == 0
    assert calc(api, all="1", force="1").json()["checksum"] == sha2(DATA)


def test_replication_fault_corrupts_the_copy_on_close(zone) -> None:
    server, api = zone
    server.set_replica_fault("replResc_ufs1", "corrupt")
    assert code(api.write(PATH, DATA, "alice", resource="replResc")) == 0
    read = api.get("data-objects", "alice", op="read", lpath=PATH, **{"replica-number": "1"})
    assert read.content == damaged(DATA)
    assert calc(api, **{"replica-number": "1"}).json()["checksum"] == sha2(damaged(DATA))
    with pytest.raises(ValueError, match="unknown replica fault"):
        server.set_replica_fault("replResc_ufs1", "lost")


@pytest.mark.parametrize(
    "params",
    [{"resource": "replResc", "replica-number": "0"}, {"all": "1", "replica-number": "0"}],
)
def test_incompatible_targets_are_refused(zone, params: dict[str, str]) -> None:
    _, api = zone
    assert code(api.write(PATH, DATA, "alice", resource="replResc")) == 0
    assert code(calc(api, **params)) == -402000  # USER_INCOMPATIBLE_PARAMS


def test_control_plane_damages_a_replica(zone) -> None:
    server, api = zone
    assert code(api.write(PATH, DATA, "alice", resource="replResc")) == 0
    headers = {"X-Emulator-Token": server.control_token}
    r = httpx2.post(
        f"{server.url}/_emulator/corrupt-replica",
        json={"path": PATH, "resource": "replResc_ufs0"},
        headers=headers,
    )
    assert r.json() == {"path": PATH, "replica_number": 0}
    r = httpx2.post(
        f"{server.url}/_emulator/replica-faults",
        json={"leaf": "replResc_ufs1", "kind": "stale"},
        headers=headers,
    )
    assert r.status_code == 200
    assert server.model.replica_faults == {"replResc_ufs1": "stale"}
