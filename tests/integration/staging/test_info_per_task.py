"""A staging task asks the server's ``/info`` once, whatever its number of files: the version probe's answer.

The limits are per server, so the task's one session keeps them; with ``auto`` discovery the probe already
read them. Counted on real sockets; every file is checked byte for byte.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from irods_provider.client._discovery import forget_discovered_versions
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from info_counter import count_info_requests

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
FILES = {f"f{i}.bin": hashlib.sha256(bytes([i])).digest() * (1000 + i) for i in range(3)}


def test_an_upload_of_three_files_asks_info_once(remote, session, monkeypatch) -> None:
    for name, blob in FILES.items():
        remote.put(f"src/{name}", blob)
    forget_discovered_versions()  # the task's hook probes, as in a fresh task process
    seen = count_info_requests(monkeypatch)
    report = SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=remote.path("src"),
        destination_path=f"{HOME}/info-up",
    ).execute({})
    assert report["transferred"] == 3
    assert seen == ["/irods-http-api/0.7.0/info"]
    for name, blob in FILES.items():
        assert session.data_objects.read(f"{HOME}/info-up/{name}") == blob


def test_a_download_of_three_files_asks_info_once(remote, session, monkeypatch) -> None:
    session.collections.create(f"{HOME}/info-down", exist_ok=True)
    for name, blob in FILES.items():
        session.data_objects.write(f"{HOME}/info-down/{name}", blob)
    forget_discovered_versions()
    seen = count_info_requests(monkeypatch)
    report = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/info-down",
        destination_path=remote.path("got"),
    ).execute({})
    assert report["transferred"] == 3
    assert seen == ["/irods-http-api/0.7.0/info"]
    assert remote.files("got") == FILES
