"""Staging fixtures: a reset emulator as ``irods_default`` and one SSH/SFTP server per kind as ``cluster``."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.testing import EmulatorServer
from irods_provider.testing.sftp import (
    EmbeddedSftpServer,
    OpenSshServer,
    SshTestServer,
    airflow_connection_json,
)

if "irods_provider.testing.pytest_plugin" not in sys.modules:
    from irods_provider.testing.pytest_plugin import irods_emulator, irods_emulator_server  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from checksum_schemes import scheme_cache_on

HOME = "/tempZone/home/rods"


@pytest.fixture(scope="module", params=["asyncssh", pytest.param("openssh", marks=pytest.mark.openssh)])
def sftp_server(request: pytest.FixtureRequest) -> Iterator[SshTestServer]:
    """One server per kind for the module; the OpenSSH variant skips, saying why, where sshd cannot run.
    A module's ``SFTP_UMASK`` runs both under it (``internal-sftp -u``; the embedded server's ``umask``)."""
    umask: int | None = getattr(request.module, "SFTP_UMASK", None)
    server: SshTestServer
    if request.param == "openssh":
        reason = OpenSshServer.unavailable_reason()
        if reason is not None:
            pytest.skip(f"OpenSSH variant skipped: {reason}")
        server = (
            OpenSshServer()
            if umask is None
            else OpenSshServer(sftp_subsystem=f"internal-sftp -u {umask:03o}")
        )
    else:
        server = EmbeddedSftpServer() if umask is None else EmbeddedSftpServer(umask=umask)
    with server:
        yield server


class Remote:
    """Arrange and inspect files on the SFTP server's side (as the login user owns them)."""

    def __init__(self, server: SshTestServer, base: str) -> None:
        self.server = server
        self.base = base
        self.dir = server.root / base
        self._mkdir(self.dir)

    def _mkdir(self, path: Path) -> None:
        owner = self.server.root.stat()
        missing = [p for p in (path, *path.parents) if not p.exists()]
        for directory in reversed(missing):
            directory.mkdir()
            os.chown(directory, owner.st_uid, owner.st_gid)

    def put(self, relative: str, data: bytes) -> Path:
        path = self.dir / relative
        self._mkdir(path.parent)
        path.write_bytes(data)
        owner = self.server.root.stat()
        os.chown(path, owner.st_uid, owner.st_gid)
        return path

    def path(self, relative: str) -> str:
        """The path as the SFTP client names it (relative to the login directory)."""
        return f"{self.base}/{relative}" if relative else self.base

    def files(self, relative: str = "") -> dict[str, bytes]:
        root = self.dir / relative
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
        }


@pytest.fixture
def remote(
    sftp_server: SshTestServer, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Remote:
    """A fresh directory on the server and the ``cluster`` connection (SFTP + SSH) pointing at it."""
    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(sftp_server))
    return Remote(sftp_server, f"t{hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:10]}")


@pytest.fixture(autouse=True)
def resume_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private resume-state directory per test (staging records its resumable temporaries there)."""
    directory = tmp_path / "resume-state"
    monkeypatch.setenv("IRODS_PROVIDER_STATE_DIR", str(directory))
    return directory


@pytest.fixture
def irods(irods_emulator, monkeypatch: pytest.MonkeyPatch) -> object:
    """The reset emulator as ``irods_default``."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT",
        f"irods://rods:rods-emulator@127.0.0.1:{irods_emulator.port}/http?zone=tempZone",
    )
    return irods_emulator


@pytest.fixture
def session(irods) -> Iterator[object]:
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook() as hook:
        yield hook.get_conn()


@pytest.fixture
def sftp_channel(remote: Remote) -> Iterator[tuple[Any, Any]]:
    """An SFTP endpoint on the ``cluster`` connection and one SFTP channel of it: (endpoint, channel)."""
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from irods_provider.sftp import SftpEndpoint

    with SftpEndpoint(SFTPHook(ssh_conn_id="cluster")) as sftp, sftp.channel() as client:
        yield sftp, client


@pytest.fixture
def md5_archive(
    irods_emulator_variants: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> EmulatorServer:
    """A SHA-256 zone whose ``archiveResc`` is held by a server configured for MD5 (irods/irods 4.3.4
    rsFileChksum.cpp:46-57 hashes on the leaf's server), the on-disk scheme cache on in this test's own
    state directory."""
    scheme_cache_on(monkeypatch, tmp_path)
    server: EmulatorServer = irods_emulator_variants(
        resources=("archiveResc",), resource_hash_schemes={"archiveResc": "md5"}
    )
    return server
