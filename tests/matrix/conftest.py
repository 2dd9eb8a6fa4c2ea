"""The compatibility matrix: the same end-to-end scenarios against every emulator profile.

A profile is one server the provider must work with: today the HTTP API version (0.4.0 to 0.7.0);
more dimensions (checksum scheme, federated zone) are extra fields of :class:`Profile` and extra
entries in :data:`PROFILES`. One emulator per profile is shared by every scenario (session scope; pytest
groups the tests by profile so only one runs at a time) and reset before each scenario. The connection
never names a version: ``api_version`` stays at its default, ``auto``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from irods_provider.testing import EmulatorConfig, EmulatorServer
from irods_provider.testing.sftp import EmbeddedSftpServer, airflow_connection_json

HOME = "/tempZone/home/rods"


@dataclass(frozen=True)
class Profile:
    """One server setup of the matrix; ``options`` go to EmulatorConfig (future dimensions)."""

    api_version: str
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def id(self) -> str:
        extra = "-".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        return f"api-{self.api_version}" + (f"-{extra}" if extra else "")

    def emulator_config(self, spool: Path) -> EmulatorConfig:
        return EmulatorConfig(spool_dir=spool, api_version=self.api_version, **self.options)


PROFILES: tuple[Profile, ...] = (Profile("0.4.0"), Profile("0.5.0"), Profile("0.6.0"), Profile("0.7.0"))


@pytest.fixture(scope="session", params=PROFILES, ids=lambda p: p.id)
def profile(request: pytest.FixtureRequest) -> Profile:
    return request.param


@pytest.fixture(scope="session")
def matrix_server(profile: Profile, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """One emulator per profile for the whole session."""
    server = EmulatorServer(profile.emulator_config(tmp_path_factory.mktemp(f"matrix-{profile.id}"))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def irods(matrix_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    """The profile's emulator, reset, as ``irods_default`` with no version in the connection (auto)."""
    matrix_server.reset()
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT",
        f"irods://rods:rods-emulator@127.0.0.1:{matrix_server.port}/http?zone=tempZone",
    )
    return matrix_server


@pytest.fixture
def session(irods: EmulatorServer, profile: Profile) -> Iterator[Any]:
    """A session from the hook, after checking that auto-detection found the profile's version."""
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook() as hook:
        session = hook.get_conn()
        assert session.base_url == f"{irods.url}/irods-http-api/{profile.api_version}"
        assert session.api.behaves_as == profile.api_version
        yield session


@pytest.fixture(scope="session")
def sftp_server() -> Iterator[EmbeddedSftpServer]:
    """One embedded SFTP server for every profile."""
    with EmbeddedSftpServer() as server:
        yield server


@pytest.fixture
def cluster(
    sftp_server: EmbeddedSftpServer, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Path:
    """A fresh directory on the SFTP server (named after the test) and the ``cluster`` connection."""
    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(sftp_server))
    base = sftp_server.root / f"m{abs(hash(request.node.nodeid)) % 10**10}"
    base.mkdir()
    return base
