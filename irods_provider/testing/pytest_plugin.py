"""pytest plugin: one emulator per session, reset before each test that asks for it.

Enable with ``pytest_plugins = ["irods_provider.testing.pytest_plugin"]``. Fixtures:
``irods_emulator_server`` (session scope) and ``irods_emulator`` (function scope: state and faults reset,
same server object); ``irods_emulator_variants`` (session scope) builds emulators with federated zones or
an MD5 hash scheme, one per setup, reset on each request.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from irods_provider.testing._config import EmulatorConfig


@pytest.fixture(scope="session")
def irods_emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """An emulator on 127.0.0.1 and a free port for the whole session (spool in a temp dir)."""
    from irods_provider.testing._server import EmulatorServer

    spool: Path = tmp_path_factory.mktemp("irods-emulator-spool")
    server = EmulatorServer(EmulatorConfig(spool_dir=spool))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def irods_emulator(irods_emulator_server: object) -> object:
    """The session emulator with a fresh zone, default limits, no faults and no OpenID validator."""
    from irods_provider.testing._server import EmulatorServer

    assert isinstance(irods_emulator_server, EmulatorServer)
    defaults = EmulatorConfig()
    irods_emulator_server.set_limits(
        token_lifetime_seconds=defaults.token_lifetime_seconds,
        max_streams_per_handle=defaults.max_streams_per_handle,
        max_streams=defaults.max_streams,
        max_body_bytes=defaults.max_body_bytes,
        max_rows=defaults.max_rows,
        read_buffer_bytes=defaults.read_buffer_bytes,
        dstream_exposes_irods_error_codes=False,
    )
    irods_emulator_server.config.openid = None
    irods_emulator_server.reset()
    return irods_emulator_server


@pytest.fixture(scope="session")
def irods_emulator_variants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A factory of emulators with a zone setup (``federated_zones``, ``hash_scheme``), one per setup.

    ``irods_emulator_variants(federated_zones=["otherZone"], hash_scheme="md5")`` returns a started
    server, shared by every test asking for the same setup and reset (fresh zones) on each call.
    """
    from irods_provider.testing._server import EmulatorServer

    servers: dict[tuple[tuple[str, ...], str], EmulatorServer] = {}

    def variant(*, federated_zones: Sequence[str] = (), hash_scheme: str = "sha256") -> EmulatorServer:
        key = (tuple(federated_zones), hash_scheme)
        server = servers.get(key)
        if server is None:
            spool: Path = tmp_path_factory.mktemp("irods-emulator-variant-spool")
            config = EmulatorConfig(spool_dir=spool, federated_zones=list(key[0]), hash_scheme=hash_scheme)
            server = servers[key] = EmulatorServer(config).start()
        server.config.openid = None
        server.reset()
        return server

    try:
        yield variant
    finally:
        for server in servers.values():
            server.stop()
