"""The emulator hashes in all five ``default_hash_scheme`` values of iRODS 4.3.4 (irods_hasher_factory.cpp:
18-31), writing each checksum as its strategy does: ``sha512:``/``sha1:`` + base64 (SHA512Strategy.cpp:24-33,
SHA1Strategy.cpp:24-33), ``adler32:`` + 8 lowercase hex digits (ADLER32Strategy.cpp:43-51, ``std::setw(8)``
with ``setfill('0')``), per zone, per resource's server and per federated zone, and from the command line.
Expected values come from hashlib/zlib here, never from the emulator.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from emulator_http import Api, authenticate, checksum, code, serving

from irods_provider.testing import EmulatorServer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from server_checksums import irods_checksum as expected

Variants = Callable[..., EmulatorServer]
DATA = b"five schemes " * 1000
LEADING_ZERO = b"\x00"  # adler32 0x00010001: the hex keeps its leading zeros (8 digits)


@pytest.mark.parametrize("scheme", ["sha512", "sha1", "adler32"])
def test_a_zone_of_each_scheme_writes_its_checksum_as_the_server_does(
    irods_emulator_variants: Variants, scheme: str
) -> None:
    server = irods_emulator_variants(hash_scheme=scheme)
    home = "/tempZone/home/rods"
    with httpx2.Client(timeout=10) as http:
        api = Api(server, http)
        for name, data in (("d", DATA), ("z", LEADING_ZERO)):
            assert code(api.write(f"{home}/{name}", data)) == 0
            assert checksum(api, f"{home}/{name}") == expected(scheme, data)
        assert api.get("data-objects", op="stat", lpath=f"{home}/d").json()["checksum"] == expected(
            scheme, DATA
        )
        verified = api.get("data-objects", op="verify_checksum", lpath=f"{home}/d")
        assert code(verified) == 0, verified.text
    assert expected("adler32", LEADING_ZERO) == "adler32:00010001"


def test_resources_and_federated_zones_of_other_schemes(irods_emulator_variants: Variants) -> None:
    server = irods_emulator_variants(
        resources=("archiveResc", "replResc:replication"),
        federated_zones=["otherZone"],
        resource_hash_schemes={"archiveResc": "adler32", "replResc_ufs1": "sha512"},
        zone_hash_schemes={"otherZone": "sha1"},
    )
    home = "/tempZone/home/rods"
    with httpx2.Client(timeout=10) as http:
        api = Api(server, http)
        for name, resource in (("d", "demoResc"), ("a", "archiveResc"), ("r", "replResc")):
            assert code(api.write(f"{home}/{name}", DATA, resource=resource)) == 0
        assert checksum(api, f"{home}/d") == expected("sha256", DATA)
        assert checksum(api, f"{home}/a") == expected("adler32", DATA)
        r0 = checksum(api, f"{home}/r", **{"replica-number": "0", "force": "1"})
        r1 = checksum(api, f"{home}/r", **{"replica-number": "1", "force": "1"})
        assert {r0, r1} == {expected("sha256", DATA), expected("sha512", DATA)}
        # Verification recomputes a replica in its catalog checksum's own scheme (ADLER-32 here).
        verified = api.get("data-objects", op="verify_checksum", lpath=f"{home}/a")
        assert code(verified) == 0, verified.text
        remote = "/otherZone/home/rods#tempZone/x"
        assert code(api.write(remote, DATA)) == 0
        assert checksum(api, remote) == expected("sha1", DATA)


def test_the_command_line_takes_every_scheme(tmp_path: Any) -> None:
    args = ["--resource", "archiveResc", "--hash-scheme", "adler32"]
    args += ["--resource-hash-scheme", "archiveResc=sha512"]
    with serving(tmp_path, *args) as (proc, base):
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        assert lines[2] == "hash schemes: archiveResc=sha512"
        headers = {"Authorization": f"Bearer {authenticate(base).text}"}
        with httpx2.Client(timeout=10, headers=headers) as http:
            for name, resource, scheme in (("x", "archiveResc", "sha512"), ("y", "demoResc", "adler32")):
                path = f"/tempZone/home/rods/{name}"
                write = {"op": "write", "lpath": path, "bytes": DATA.decode(), "resource": resource}
                assert (
                    http.post(f"{base}/data-objects", data=write).json()["irods_response"]["status_code"] == 0
                )
                r = http.post(f"{base}/data-objects", data={"op": "calculate_checksum", "lpath": path})
                assert r.json()["checksum"] == expected(scheme, DATA)
