"""Fixtures for the staging security tests: SSH servers (OpenSSH first), a ``cluster`` connection, iRODS.

Imported by the test modules themselves (``from staging_support import ...``) so the suite's conftest stays
untouched. Each SFTP test runs against Debian's sshd where it can start (marked ``openssh``) and against the
embedded asyncssh server.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from irods_provider.testing.sftp import (
    EmbeddedSftpServer,
    OpenSshServer,
    SshTestServer,
    airflow_connection_json,
)

HOME = "/tempZone/home/rods"


@pytest.fixture(scope="module", params=[pytest.param("openssh", marks=pytest.mark.openssh), "asyncssh"])
def sftp_server(request: pytest.FixtureRequest) -> Iterator[SshTestServer]:
    """A real OpenSSH server (skipped, saying why, where sshd cannot run) and the embedded asyncssh one."""
    server: SshTestServer
    if request.param == "openssh":
        reason = OpenSshServer.unavailable_reason()
        if reason is not None:
            pytest.skip(f"OpenSSH variant skipped: {reason}")
        server = OpenSshServer()
    else:
        server = EmbeddedSftpServer()
    with server:
        yield server


class Remote:
    """Files on the SFTP server's side, owned by the login user (what an attacker sharing it can do too)."""

    def __init__(self, server: SshTestServer, base: str) -> None:
        self.server = server
        self.base = base
        self.dir = server.root / base
        self.mkdir(self.dir)

    def chown(self, path: Path) -> None:
        owner = self.server.root.stat()
        os.chown(path, owner.st_uid, owner.st_gid, follow_symlinks=False)

    def mkdir(self, path: Path) -> None:
        missing = [p for p in (path, *path.parents) if not p.exists()]
        for directory in reversed(missing):
            directory.mkdir()
            self.chown(directory)

    def put(self, relative: str, data: bytes) -> Path:
        path = self.dir / relative
        self.mkdir(path.parent)
        path.write_bytes(data)
        self.chown(path)
        return path

    def symlink(self, relative: str, target: str) -> Path:
        """Plant ``relative`` as a symlink to ``target`` (relative targets stay inside chrooted servers)."""
        path = self.dir / relative
        self.mkdir(path.parent)
        if path.is_symlink() or path.exists():
            path.unlink()
        path.symlink_to(target)
        self.chown(path)
        return path

    def path(self, relative: str) -> str:
        """The path as the SFTP client names it (relative to the login directory)."""
        return f"{self.base}/{relative}" if relative else self.base


@pytest.fixture
def remote(
    sftp_server: SshTestServer, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Remote:
    """A fresh directory on the server and the ``cluster`` connection pointing at it."""
    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(sftp_server))
    return Remote(sftp_server, f"s{hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:10]}")


@pytest.fixture
def resume_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "resume-state"
    monkeypatch.setenv("IRODS_PROVIDER_STATE_DIR", str(directory))
    return directory


@pytest.fixture
def irods(irods_emulator: object, monkeypatch: pytest.MonkeyPatch, resume_state_dir: Path) -> object:
    """The reset emulator as ``irods_default`` (and a private resume-state directory)."""
    port = irods_emulator.port  # type: ignore[attr-defined]
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT", f"irods://rods:rods-emulator@127.0.0.1:{port}/http?zone=tempZone"
    )
    return irods_emulator


@pytest.fixture
def session(irods: object) -> Iterator[object]:
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook() as hook:
        yield hook.get_conn()
