"""pytest plugin: one emulator per session, reset before each test that asks for it.

Enable with ``pytest_plugins = ["irods_provider.testing.pytest_plugin"]``. Fixtures:
``irods_emulator_server`` (session scope) and ``irods_emulator`` (function scope: state and faults reset,
same server object).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from irods_provider.testing._config import EmulatorConfig


@pytest.fixture(scope="session")
def irods_emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """An emulator on 127.0.0.1 and a free port for the whole session (spool and register root in temp dirs).

    Files to ``register`` go under ``server.config.register_root``; any other host path is refused.
    """
    from irods_provider.testing._server import EmulatorServer

    spool: Path = tmp_path_factory.mktemp("irods-emulator-spool")
    register_root: Path = tmp_path_factory.mktemp("irods-emulator-register")
    server = EmulatorServer(EmulatorConfig(spool_dir=spool, register_root=register_root))
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
