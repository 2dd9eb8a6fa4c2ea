"""The checksum scheme belongs to the server holding a replica's resource, not to the zone.

Expectations from irods/irods 4.3.4: rsFileChksum (server/api/src/rsFileChksum.cpp:46-57) sends the work to
the host of the hierarchy's leaf (irods_resource_backport.cpp:597 ``hier_to_leaf_id``), where file_checksum
(:297-300) reads that server's own ``default_hash_scheme`` (MD5 when unset). A recomputation for
verification passes the catalog checksum as ORIG_CHKSUM_KW (rsDataObjChksum.cpp:627), whose scheme wins
(file_checksum :316-332). A federated zone's objects are hashed by that zone's servers.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from emulator_http import Api, authenticate, checksum, code, serving

from irods_provider.testing import EmulatorConfig, EmulatorServer

Variants = Callable[..., EmulatorServer]
DATA = b"per-resource scheme " * 100
SHA2 = "sha2:" + base64.b64encode(hashlib.sha256(DATA).digest()).decode()
MD5 = hashlib.md5(DATA).hexdigest()


def test_each_replica_is_hashed_in_the_scheme_of_its_leafs_server(irods_emulator_variants: Variants) -> None:
    server = irods_emulator_variants(
        resources=("archiveResc", "replResc:replication"),
        resource_hash_schemes={"archiveResc": "md5", "replResc_ufs1": "md5"},
    )
    home = "/tempZone/home/rods"
    with httpx2.Client(timeout=10) as http:
        api = Api(server, http)
        for name, resource in (("d", "demoResc"), ("a", "archiveResc"), ("r", "replResc")):
            assert code(api.write(f"{home}/{name}", DATA, resource=resource)) == 0
        assert checksum(api, f"{home}/d") == SHA2
        assert checksum(api, f"{home}/a") == MD5
        assert api.get("data-objects", op="stat", lpath=f"{home}/a").json()["checksum"] == MD5
        # One object, two replicas on leaves of different servers: each in its own server's scheme.
        r0 = checksum(api, f"{home}/r", **{"replica-number": "0", "force": "1"})
        r1 = checksum(api, f"{home}/r", **{"replica-number": "1", "force": "1"})
        assert {r0, r1} == {SHA2, MD5}
        # Verification recomputes in the catalog checksum's own scheme: both replicas agree with theirs.
        verified = api.get("data-objects", op="verify_checksum", lpath=f"{home}/a")
        assert code(verified) == 0, verified.text


def test_an_entry_for_a_parent_covers_its_children(irods_emulator_variants: Variants) -> None:
    server = irods_emulator_variants(
        resources=("replResc:replication",), resource_hash_schemes={"replResc": "md5"}
    )
    with httpx2.Client(timeout=10) as http:
        api = Api(server, http)
        path = "/tempZone/home/rods/both"
        assert code(api.write(path, DATA, resource="replResc")) == 0
        for number in ("0", "1"):
            assert checksum(api, path, **{"replica-number": number, "force": "1"}) == MD5


def test_a_federated_zone_hashes_with_its_own_servers_scheme(irods_emulator_variants: Variants) -> None:
    server = irods_emulator_variants(federated_zones=["otherZone"], zone_hash_schemes={"otherZone": "md5"})
    with httpx2.Client(timeout=10) as http:
        api = Api(server, http)
        remote = "/otherZone/home/rods#tempZone/x"
        assert code(api.write(remote, DATA)) == 0
        assert code(api.write("/tempZone/home/rods/x", DATA)) == 0
        assert checksum(api, remote) == MD5
        assert checksum(api, "/tempZone/home/rods/x") == SHA2


def test_an_unknown_scheme_is_refused() -> None:
    # irods_hasher_factory.cpp:18-31 (4.3.4) knows sha256, sha512, md5, adler32 and sha1: nothing else.
    with pytest.raises(ValueError, match="sha384"):
        EmulatorConfig(resource_hash_schemes={"archiveResc": "sha384"})


def test_command_line_sets_a_resources_scheme(tmp_path: Any) -> None:
    with serving(tmp_path, "--resource", "archiveResc", "--resource-hash-scheme", "archiveResc=md5") as (
        proc,
        base,
    ):
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        assert lines[2] == "hash schemes: archiveResc=md5"
        headers = {"Authorization": f"Bearer {authenticate(base).text}"}
        with httpx2.Client(timeout=10, headers=headers) as http:
            path = "/tempZone/home/rods/x"
            write = {"op": "write", "lpath": path, "bytes": DATA.decode(), "resource": "archiveResc"}
            assert http.post(f"{base}/data-objects", data=write).json()["irods_response"]["status_code"] == 0
            r = http.post(f"{base}/data-objects", data={"op": "calculate_checksum", "lpath": path})
            assert r.json()["checksum"] == MD5
