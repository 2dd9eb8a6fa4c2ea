"""Transfers of objects whose server-side work outlasts the HTTP API's whole-request deadline.

On a site with the default ``requests.timeout_in_seconds`` (30 s; core/src/session.cpp:78 at 0.7.0) the
server's checksum of a large upload, the copy that makes a ``+`` path's read alias and the copies and forced
checksums of an overwrite in place all lose their reply while the server finishes them. The engine must
still publish verified bytes, and still catch a wrong byte. Scaled down: tests/support/deadline_site.py.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from irods_provider.client import AVU, IrodsSession, PermissionOperation
from irods_provider.client.transfer import OverwritePolicy, TransferConfig, download_object, upload_object
from irods_provider.client.transfer._alias import ALIAS_PREFIX
from irods_provider.exceptions import IrodsChecksumMismatchError
from irods_provider.testing import EmulatorServer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from deadline_site import BIG, MIB, cut_work, scaled_session, slow_site

pytestmark = pytest.mark.timeout(180)

HOME = "/tempZone/home/rods"
CFG = TransferConfig(chunk_size=MIB, small_file_threshold=MIB)


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _left(server: EmulatorServer) -> list[str]:
    with server.model.lock:
        return sorted(p for p in server.model.data_objects if p.startswith(f"{HOME}/"))


@pytest.fixture
def site(irods_emulator: EmulatorServer) -> Iterator[tuple[EmulatorServer, IrodsSession]]:
    with slow_site(irods_emulator) as server, scaled_session(server) as session:
        yield server, session


def test_a_large_parallel_upload_whose_checksum_outlasts_the_deadline_is_published_verified(
    site, tmp_path
) -> None:
    server, session = site
    data = os.urandom(BIG)
    (tmp_path / "src").write_bytes(data)
    result = upload_object(session, str(tmp_path / "src"), f"{HOME}/big.bin", config=CFG)
    assert result.checksum == sha2(data)
    assert session.data_objects.read(f"{HOME}/big.bin") == data
    assert cut_work(server) == ["data-objects calculate_checksum"]  # the verification's checksum was cut off
    assert _left(server) == [f"{HOME}/big.bin"]


def test_a_wrong_byte_is_still_caught_and_nothing_is_published(site, tmp_path, monkeypatch) -> None:
    server, session = site
    model = server.model
    shutdown = model.parallel_write_shutdown

    def flip_first_byte(handle_id: str) -> None:
        with model.lock:
            spool = model.handles[handle_id].target.replica.spool_file if handle_id in model.handles else None
        shutdown(handle_id)
        if spool is not None:
            with spool.open("r+b") as f:
                first = f.read(1)
                f.seek(0)
                f.write(bytes([first[0] ^ 1]))

    monkeypatch.setattr(model, "parallel_write_shutdown", flip_first_byte)
    (tmp_path / "src").write_bytes(os.urandom(BIG))
    with pytest.raises(IrodsChecksumMismatchError) as caught:
        upload_object(session, str(tmp_path / "src"), f"{HOME}/big.bin", config=CFG)
    assert caught.value.path is not None
    assert cut_work(server) == ["data-objects calculate_checksum"]
    assert f"{HOME}/big.bin" not in _left(server)


def test_a_plus_path_download_whose_alias_copy_and_checksum_outlast_the_deadline(site, tmp_path) -> None:
    server, session = site
    path = f"{HOME}/run+1.bin"
    data = os.urandom(BIG)
    with IrodsSession(session.base_url, auth=session.auth) as plain:
        for offset in range(0, BIG, MIB):
            plain.data_objects.write(path, data[offset : offset + MIB], offset=offset, truncate=offset == 0)
    result = download_object(session, path, tmp_path / "out.bin", config=CFG)
    assert (tmp_path / "out.bin").read_bytes() == data
    assert result.checksum == sha2(data)
    assert {"data-objects copy", "data-objects calculate_checksum"} <= set(cut_work(server))  # alias + sum
    assert not any(ALIAS_PREFIX in p for p in _left(server))


def test_an_overwrite_in_place_whose_copies_and_checksums_outlast_the_deadline(site, tmp_path) -> None:
    """alice may write rods's object but not rename it: it is overwritten in place by server-side copies,
    each proven by a forced checksum (a backup of the old bytes, the new bytes onto the path)."""
    server, session = site
    path = f"{HOME}/shared.bin"
    server.add_user("alice", "apass")
    old = os.urandom(BIG)
    (tmp_path / "old").write_bytes(old)
    upload_object(
        session, str(tmp_path / "old"), path, config=CFG
    )  # its checksum is stored: forced ones repeat it
    session.collections.modify_permissions(HOME, [PermissionOperation("alice", "own")])
    session.data_objects.modify_permissions(path, [PermissionOperation("alice", "write")])
    session.metadata.add(path, AVU("project", "p1"))
    new = os.urandom(BIG)
    (tmp_path / "new").write_bytes(new)
    with scaled_session(server, "alice", "apass") as alice:
        result = upload_object(
            alice, str(tmp_path / "new"), path, config=CFG, overwrite=OverwritePolicy.OVERWRITE
        )
    assert session.data_objects.read(path) == new
    assert result.checksum == sha2(new)
    assert {a.attribute for a in session.metadata.list(path)} == {"project"}
    assert {p.name: p.perm for p in session.data_objects.stat(path).permissions}["alice"] == "modify_object"
    assert cut_work(server).count("data-objects copy") >= 2  # the backup, the new bytes onto the path
    assert "data-objects calculate_checksum" in cut_work(server)
    assert _left(server) == [path]
