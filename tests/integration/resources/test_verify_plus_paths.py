"""Verifying data objects whose path holds ``+``, through POSTs only (server-side copies per replica).

The server's verify_checksum is a GET, and the HTTP API turns ``+`` into a space in GET values (every release:
core/src/common.cpp ``to_argument_list``), so `IrodsChecksumOperator(verify=True)` failed on any tree holding
such an object. Each good replica is now copied from its own root resource (``src-resource``) to a read alias
whose server-computed checksum is compared with that replica's catalog checksum. The findings are the ones
the server writes (irods 4.3.4 server/api/src/rsDataObjChksum.cpp: "info" skipped note :164-176, missing
checksum :188-201, per-replica mismatch :221-235, different checksums :365-372).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.client.transfer import verify_by_copies
from irods_provider.client.transfer._alias import ALIAS_PREFIX
from irods_provider.exceptions import (
    IrodsIntegrityError,
    IrodsInvalidPathError,
    IrodsResponseError,
    IrodsUsageError,
)
from irods_provider.operators.catalog import IrodsChecksumOperator

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
TREE = f"{HOME}/run+7"
PLUS = f"{TREE}/scheduled__2026-12-04T00:00:00+00:00.h5"
#: rsDataObjChksum.cpp:229-235 (4.3.4), ``report_replica_if_mismatch_checksum_info``.
MISMATCH = "ERROR: Computed checksum does not match what is in the catalog for replica [{}]."
USER_CHKSUM_MISMATCH = -314000  # rodsErrorTable.h


def conn_uri(server: Any) -> str:
    return f"irods://rods:rods-emulator@127.0.0.1:{server.port}/http?zone=tempZone"


def aliases(session: IrodsSession) -> list[str]:
    entries = session.collections.iterate(HOME, include_temporaries=True)
    return [e.name for e in entries if e.name.startswith(ALIAS_PREFIX)]


def put(session: IrodsSession, path: str, data: bytes, *, replicate_to: str | None = None) -> None:
    """``path`` on demoResc (and a good copy on ``replicate_to``), checksummed; a decoy at the path a GET
    would address (each '+' a space) holds other bytes."""
    session.data_objects.write(path, data, resource="demoResc")
    if replicate_to is not None:
        session.data_objects.replicate(path, replicate_to)
    session.data_objects.calculate_checksum(path, all_replicas=True)
    decoy = path.replace("+", " ")
    session.collections.create(posixpath.dirname(decoy), intermediates=True, exist_ok=True)
    session.data_objects.write(decoy, b"what a GET would address")


def verify(path: str = TREE, **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = IrodsChecksumOperator(task_id="v", path=path, verify=True, **kwargs).execute({})
    return result


@pytest.fixture
def tree(zone: Any, session: IrodsSession, monkeypatch: pytest.MonkeyPatch) -> IrodsSession:
    """TREE: the '+' object with good replicas on demoResc and archiveResc, and a plain one."""
    session.collections.create(TREE)
    put(session, PLUS, b"measurements " * 1000, replicate_to="archiveResc")
    put(session, f"{TREE}/plain.csv", b"a,b\n1,2\n")
    return session


def test_a_plus_object_is_verified_replica_by_replica(tree: IrodsSession) -> None:
    result = verify()
    assert (result["checked"], result["mismatch_count"]) == (2, 0)
    report = verify_by_copies(tree, PLUS)
    assert (report.ok, report.results) == (True, ())
    assert aliases(tree) == []


def test_a_corrupted_replica_is_a_mismatch_naming_it(zone: Any, tree: IrodsSession) -> None:
    number = zone.corrupt_replica(PLUS, "archiveResc")
    with pytest.raises(IrodsIntegrityError) as failed:
        verify()
    assert failed.value.path == PLUS
    assert f"USER_CHKSUM_MISMATCH ({USER_CHKSUM_MISMATCH})" in str(failed.value)
    result = verify(fail_on_mismatch=False)
    assert result["mismatches"] == [
        {
            "path": PLUS,
            "findings": [
                {"severity": "error", "error_code": USER_CHKSUM_MISMATCH, "message": MISMATCH.format(number)}
            ],
        }
    ]
    assert aliases(tree) == []


def test_a_skipped_stale_replica_is_noted_not_failed(tree: IrodsSession) -> None:
    tree.data_objects.write(PLUS, b"version 2", resource="demoResc")  # archiveResc's goes stale
    tree.data_objects.calculate_checksum(PLUS)
    report = verify_by_copies(tree, PLUS)
    assert report.ok is True
    # rsDataObjChksum.cpp:164-176: an "info" result with error code 0
    assert [(f["severity"], f["error_code"]) for f in report.results] == [("info", 0)]


def test_a_replica_without_checksum_is_a_warning(tree: IrodsSession) -> None:
    path = f"{TREE}/unsummed+1.bin"
    tree.data_objects.write(path, b"no checksum yet")
    report = verify_by_copies(tree, path)
    # rsDataObjChksum.cpp:188-201: CAT_NO_CHECKSUM_FOR_REPLICA (-862000), nothing hashed after it
    assert report.ok is False
    assert [(f["severity"], f["error_code"]) for f in report.results] == [("warning", -862000)]


def test_a_quote_and_plus_path(zone: Any, tree: IrodsSession) -> None:
    path = f"{TREE}/it's Bob's+data.csv"
    put(tree, path, b"quoted")
    assert verify()["mismatch_count"] == 0
    number = zone.corrupt_replica(path, "demoResc")
    assert verify_by_copies(tree, path).results[0]["message"] == MISMATCH.format(number)


def test_replicas_sharing_a_root_resource_are_refused(tree: IrodsSession) -> None:
    path = f"{TREE}/mirrored+1.bin"
    tree.data_objects.write(path, b"two copies", resource="replResc")
    tree.data_objects.calculate_checksum(path, all_replicas=True)
    shared = "replicas 0 and 1 both sit under the resource 'replResc'"
    with pytest.raises(IrodsInvalidPathError, match=shared):
        verify()
    assert aliases(tree) == []


def test_the_client_verify_names_the_route_that_works(tree: IrodsSession) -> None:
    with pytest.raises(IrodsInvalidPathError, match="verify_by_copies") as refused:
        tree.data_objects.verify_checksum(PLUS)
    assert refused.value.path == PLUS
    # and that route never passes a path it would make no copy of (it would check the object against itself)
    with pytest.raises(IrodsUsageError, match=r"use data_objects\.verify_checksum"):
        verify_by_copies(tree, f"{TREE.replace('+', ' ')}/plain.csv")


@pytest.fixture
def md5_zone(irods_emulator_variants: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    server = irods_emulator_variants(hash_scheme="md5", resources=("archiveResc",))
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", conn_uri(server))
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as session:
        yield server, session


def test_an_md5_zone(md5_zone: tuple[Any, IrodsSession]) -> None:
    server, session = md5_zone
    session.collections.create(TREE)
    put(session, PLUS, b"md5 zone bytes", replicate_to="archiveResc")
    assert all(len(r.checksum or "") == 32 for r in session.data_objects.replicas(PLUS))  # hex MD5
    assert verify()["mismatch_count"] == 0
    number = server.corrupt_replica(PLUS, "demoResc")
    findings = verify(fail_on_mismatch=False)["mismatches"][0]["findings"]
    assert [f["message"] for f in findings] == [MISMATCH.format(number)]


def test_an_md5_replica_in_a_sha256_zone(
    irods_emulator_variants: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # archiveResc's server hashes in MD5: the alias (in the home, demoResc, SHA-256) is hashed here
    server = irods_emulator_variants(resources=("archiveResc",), resource_hash_schemes={"archiveResc": "md5"})
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", conn_uri(server))
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as session:
        session.collections.create(TREE)
        session.data_objects.write(PLUS, b"kept on the archive", resource="archiveResc")
        session.data_objects.calculate_checksum(PLUS)
        assert len(session.data_objects.replicas(PLUS)[0].checksum or "") == 32
        assert verify()["mismatch_count"] == 0
        server.corrupt_replica(PLUS, "archiveResc")
        assert verify(fail_on_mismatch=False)["mismatch_count"] == 1
        assert aliases(session) == []


def test_the_0_6_0_profile(irods_emulator_at: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = irods_emulator_at("0.6.0")
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", conn_uri(server))
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as session:
        session.collections.create(TREE)
        put(session, PLUS, b"0.6.0 bytes")
        assert verify()["mismatch_count"] == 0
        number = server.corrupt_replica(PLUS, "demoResc")
        with pytest.raises(IrodsIntegrityError) as failed:
            verify()
        assert failed.value.path == PLUS
        findings = verify(fail_on_mismatch=False)["mismatches"][0]["findings"]
        assert [f["message"] for f in findings] == [MISMATCH.format(number)]
        assert aliases(session) == []


VAULTED = f"{HOME}/vaulted-run"
HEX = "x\\x41y.bin"  # a backslash, 'x', '4', '1': 5.0's GenQuery1 grammar reads them as 'A'
QUOTED = "Bob's and Alice's.csv"  # 4.3's splitter cuts the pasted path at " and " after an odd quote count
NO_ROWS, NOT_WELL_FORMED = -808000, -1084000  # CAT_NO_ROWS_FOUND, INPUT_ARG_NOT_WELL_FORMED_ERR


def _registered_like_a_vault(server: Any, session: IrodsSession, name: str, data: bytes) -> str:
    """``VAULTED/name`` registered from a file of the same name, as a unixfilesystem vault names a replica
    (its physical path mirrors the logical one): the physical path's name."""
    physical = Path(server.config.spool_dir) / "vault" / name
    physical.parent.mkdir(exist_ok=True)
    physical.write_bytes(data)
    session.collections.create(VAULTED, exist_ok=True)
    session.data_objects.register(f"{VAULTED}/{name}", str(physical), "demoResc", checksum=True)
    return str(physical)


# verifyVaultSizeEqualsDatabaseSize asks "select DATA_SIZE where DATA_PATH = '<physical path>'": verbatim
# on 4.3 (irods 4.3.4 rsDataObjChksum.cpp:92), whose splitter cuts conditions at an " and " after an even
# number of quotes (lib/core/src/rcMisc.cpp:3130-3213): the query fails, irods::query throws (:93), nothing
# catches it; single_quotes_to_hex on 5.0 (5.0.2 :93-94), whose grammar reads \x41 as 'A'
# (lib/genquery1/dsl/lexer.l:44): no row -> CAT_NO_ROWS_FOUND (4.3.4 :107), reported as "ERROR: Could not
# verify size for replica [0]." (:205).
SERVER_ANSWERS = [
    ("rods4.3.2", HEX, []),
    ("rods5.0.1", HEX, [("error", NO_ROWS, "ERROR: Could not verify size for replica [0].")]),
    ("rods4.3.2", QUOTED, NOT_WELL_FORMED),
    ("rods5.0.1", QUOTED, []),
]


@pytest.mark.parametrize(("release", "name", "answer"), SERVER_ANSWERS)
def test_the_servers_size_check_misreads_some_vault_paths(
    irods_emulator_variants: Any, release: str, name: str, answer: Any
) -> None:
    server = irods_emulator_variants(irods_server_version=release)
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as session:
        _registered_like_a_vault(server, session, name, b"vault named")
        if isinstance(answer, int):
            with pytest.raises(IrodsResponseError) as failed:
                session.data_objects.verify_checksum(f"{VAULTED}/{name}")
            assert failed.value.irods_code == answer
            return
        report = session.data_objects.verify_checksum(f"{VAULTED}/{name}")
    assert [(f["severity"], f["error_code"], f["message"]) for f in report.results] == answer


@pytest.mark.parametrize(("release", "name"), [("rods5.0.1", HEX), ("rods4.3.2", QUOTED)])
def test_a_misread_path_is_verified_through_copies(
    irods_emulator_variants: Any, monkeypatch: pytest.MonkeyPatch, release: str, name: str
) -> None:
    server = irods_emulator_variants(irods_server_version=release)
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", conn_uri(server))
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as session:
        physical = _registered_like_a_vault(server, session, name, b"vault named")
        assert verify(VAULTED)["mismatch_count"] == 0  # the server's own answer was an error
        Path(physical).write_bytes(b"VAULT NAMED")  # same size, other bytes
        findings = verify(VAULTED, fail_on_mismatch=False)["mismatches"][0]["findings"]
        assert [f["message"] for f in findings] == [MISMATCH.format(0)]
        assert aliases(session) == []
