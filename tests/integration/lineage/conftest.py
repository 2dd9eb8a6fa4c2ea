"""Lineage fixtures: the reset emulator as ``irods_default``, an embedded SFTP server as ``cluster`` and an
enabled hook lineage collector (Airflow's is a no-op unless a plugin registers a reader)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from irods_provider.testing.sftp import EmbeddedSftpServer, airflow_connection_json

if "irods_provider.testing.pytest_plugin" not in sys.modules:  # the root conftest may load it already
    from irods_provider.testing.pytest_plugin import irods_emulator, irods_emulator_server  # noqa: F401

HOME = "/tempZone/home/rods"


@pytest.fixture(scope="module")
def sftp_server() -> Iterator[EmbeddedSftpServer]:
    with EmbeddedSftpServer() as server:
        yield server


class Remote:
    """Files on the SFTP server's side, owned like the server's root, under a per-test directory."""

    def __init__(self, server: EmbeddedSftpServer, base: str) -> None:
        self.server = server
        self.base = base
        self.dir = server.root / base

    def put(self, relative: str, data: bytes) -> Path:
        path = self.dir / relative
        owner = self.server.root.stat()
        for directory in reversed([p for p in path.parents if not p.exists()]):
            directory.mkdir()
            os.chown(directory, owner.st_uid, owner.st_gid)
        path.write_bytes(data)
        os.chown(path, owner.st_uid, owner.st_gid)
        return path

    def path(self, relative: str) -> str:
        """The path relative to the login directory (what operators are given)."""
        return f"{self.base}/{relative}"

    def absolute(self, relative: str) -> str:
        """The absolute path SFTP clients see (what lineage names)."""
        return f"{self.server.remote_root.rstrip('/')}/{self.base}/{relative}"

    @property
    def namespace(self) -> str:
        return f"file://{self.server.host}:{self.server.port}"


@pytest.fixture
def remote(sftp_server: EmbeddedSftpServer, monkeypatch: pytest.MonkeyPatch, request) -> Remote:
    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(sftp_server))
    return Remote(sftp_server, f"lin_{request.node.name.replace('[', '_').replace(']', '')}")


@pytest.fixture
def irods(irods_emulator, monkeypatch: pytest.MonkeyPatch) -> object:
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
def collector(monkeypatch: pytest.MonkeyPatch):
    """A real (collecting) hook lineage collector in place of the process-wide one."""
    from airflow.sdk import lineage

    fresh = lineage.HookLineageCollector()
    monkeypatch.setattr(lineage, "get_hook_lineage_collector", lambda: fresh)
    return fresh
