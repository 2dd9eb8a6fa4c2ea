"""fsspec writes of content that fits one request (``pipe_file``, ``open("wb")``, ObjectStoragePath's
``write_text``): verified against the server's checksum like every other write, in each zone's scheme.

They were one ``write`` and nothing else: no checksum compared, none left in the catalog (a write clears the
replica's checksum, irods 4.3.4 plugins/api/src/replica_close.cpp:234-246), so a later ``ichksum --verify``
(IrodsChecksumOperator(verify=True)) failed them with CAT_NO_CHECKSUM_FOR_REPLICA, and bytes damaged on the
way were never noticed. Here on a zone federated with an MD5 zone (otherZone), where a user's home is
``/otherZone/home/alice#tempZone``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from irods_provider.exceptions import IrodsChecksumMismatchError
from irods_provider.testing import EmulatorServer

HOMES = {"sha256": "/tempZone/home/alice", "md5": "/otherZone/home/alice#tempZone"}


def expected(scheme: str, data: bytes) -> str:
    if scheme == "md5":
        return hashlib.md5(data).hexdigest()
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture
def fs(
    irods_emulator_variants: Callable[..., EmulatorServer], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    from irods_provider.fs import IrodsFileSystem

    server = irods_emulator_variants(federated_zones=["otherZone"], zone_hash_schemes={"otherZone": "md5"})
    server.add_user("alice", "alice-pw-123")
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", server.airflow_connection_uri("alice", "alice-pw-123"))
    filesystem = IrodsFileSystem(conn_id="irods_default", skip_instance_cache=True)
    try:
        yield filesystem
    finally:
        filesystem.close_session()


@pytest.mark.parametrize("scheme", HOMES)
def test_small_fsspec_writes_leave_the_zones_checksum(fs: Any, scheme: str) -> None:
    from airflow.sdk import ObjectStoragePath

    base = f"{HOMES[scheme]}/run #1 é"
    fs.pipe_file(f"{base}/piped [1].csv", b"1,2\n")
    with fs.open(f"{base}/opened %41.csv", "wb") as f:
        f.write(b"3,4\n")
    (ObjectStoragePath(f"irods://irods_default@{base}") / "stored ü.txt").write_text("héllo")
    for name, data in (
        ("piped [1].csv", b"1,2\n"),
        ("opened %41.csv", b"3,4\n"),
        ("stored ü.txt", "héllo".encode()),
    ):
        assert fs.session.data_objects.stat(f"{base}/{name}").checksum == expected(scheme, data)


def test_damaged_small_write_fails_loudly(fs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes changed on the way (simulated: the request carries other bytes of the same size) are caught."""
    api = type(fs.session.data_objects)
    original = api.write

    def damaged(self: Any, path: str, data: bytes, *args: Any, **kwargs: Any) -> Any:
        return original(self, path, bytes(b ^ 1 for b in data), *args, **kwargs)

    monkeypatch.setattr(api, "write", damaged)
    for home in HOMES.values():
        with pytest.raises(IrodsChecksumMismatchError) as raised:
            fs.pipe_file(f"{home}/damaged.bin", b"payload")
        assert raised.value.path == f"{home}/damaged.bin"
