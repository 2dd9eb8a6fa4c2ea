"""Path safety: names the server accepts cannot make a download write outside its target directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from security_support import HOME

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.client.transfer import download_files, safe_local_path
from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.testing.sftp import EmbeddedSftpServer, airflow_connection_json
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

pytestmark = pytest.mark.timeout(60)

HOSTILE_NAMES = ["..\\escape.txt", "..\\..\\escape.txt", "a\\..\\..\\escape.txt", "...", "..a", " .."]


@pytest.fixture
def session(irods_emulator) -> Iterator[IrodsSession]:
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator"), timeout=10) as s:
        yield s


def _put(session: IrodsSession, path: str, data: bytes) -> None:
    session.collections.create(path.rsplit("/", 1)[0], intermediates=True, exist_ok=True)
    session.data_objects.write(path, data)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("relative", ["../x", "/etc/x", "a/../../x", "a\\..\\..\\x", "", "a\x00b", "a//b"])
def test_safe_local_path_refuses_escapes(tmp_path, relative) -> None:
    with pytest.raises(IrodsInvalidPathError):
        safe_local_path(tmp_path / "target", relative)


def test_hostile_object_names_stay_inside_or_are_refused(session, tmp_path) -> None:
    for name in HOSTILE_NAMES:
        _put(session, f"{HOME}/hostile/{name}", name.encode())
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "box" / "target"
    target.mkdir(parents=True)
    with pytest.raises(IrodsInvalidPathError, match="backslash"):
        download_files(session, [f"{HOME}/hostile"], target, continue_on_error=True)
    everything = _tree(tmp_path)
    assert all(rel.startswith("box/target/") for rel in everything), sorted(everything)
    assert "escape.txt" not in os.listdir(tmp_path / "box")


def test_local_symlink_in_target_is_not_followed(session, tmp_path) -> None:
    _put(session, f"{HOME}/sym/link/evil.txt", b"must not land outside")
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    (target / "link").symlink_to(outside)
    with pytest.raises(IrodsInvalidPathError, match="symlink"):
        download_files(session, [f"{HOME}/sym"], target)
    assert _tree(outside) == {}


def test_local_symlinked_file_is_not_overwritten(session, tmp_path) -> None:
    _put(session, f"{HOME}/symf/victim.txt", b"attacker bytes")
    victim = tmp_path / "victim-outside.txt"
    victim.write_bytes(b"original")
    target = tmp_path / "target"
    target.mkdir()
    (target / "victim.txt").symlink_to(victim)
    with pytest.raises(IrodsInvalidPathError):
        download_files(session, [f"{HOME}/symf"], target)
    assert victim.read_bytes() == b"original"


@pytest.fixture(scope="module")
def sftp() -> Iterator[EmbeddedSftpServer]:
    with EmbeddedSftpServer() as server:
        yield server


def test_irods_to_sftp_hostile_names_and_symlinks(session, irods_emulator, sftp, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(sftp))
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT",
        f"irods://rods:rods-emulator@127.0.0.1:{irods_emulator.port}/http?zone=tempZone",
    )
    for name in HOSTILE_NAMES:
        _put(session, f"{HOME}/hs/{name}", name.encode())
    _put(session, f"{HOME}/hs/link/evil.txt", b"must not land outside")
    root = sftp.root / "ps"
    (root / "outside").mkdir(parents=True)
    (root / "target").mkdir()
    (root / "target" / "link").symlink_to("../outside")
    with pytest.raises(IrodsInvalidPathError):
        IrodsToSFTPOperator(
            task_id="down", sftp_conn_id="cluster", source_path=f"{HOME}/hs", destination_path="ps/target"
        ).execute({})
    assert _tree(root / "outside") == {}
    assert all(rel.startswith("target/") for rel in _tree(root)), sorted(_tree(root))
