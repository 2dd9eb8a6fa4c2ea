"""pytest plugin: one emulator per session, reset before each test that asks for it.

Enable with ``pytest_plugins = ["irods_provider.testing.pytest_plugin"]``. Fixtures:
``irods_emulator_server`` (session scope) and ``irods_emulator`` (function scope: state and faults reset,
same server object), both API 0.7.0; ``irods_emulator_factory`` (session scope) starts emulators of any
API version on demand (``factory("0.5.0")``, one per version, shared for the session) and
``irods_emulator_at`` (function scope) returns ``at("0.6.0")``: that server, reset like ``irods_emulator``;
``irods_emulator_variants`` (session scope) builds emulators with federated zones (each with its own
resources: ``resources=``, ``zone_resources=``), an MD5 hash scheme or another iRODS release
(``irods_server_version="rods5.0.1"``), one per setup, reset on each request;
``irods_emulator_resources`` is ``irods_emulator`` with the preset storage resources.

The plugin turns off keeping zones' checksum schemes between processes
(``IRODS_PROVIDER_CHECKSUM_SCHEME_CACHE=off`` unless set): emulators of either scheme come and go on reused
loopback ports, where a scheme kept from one would be a wrong hint for the next.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from irods_provider.testing._config import EmulatorConfig
from irods_provider.testing._versions import DEFAULT_API_VERSION, DEFAULT_IRODS_SERVER_VERSION, profile_for

if TYPE_CHECKING:
    from irods_provider.testing._server import EmulatorServer


def pytest_configure(config: pytest.Config) -> None:
    """Keep no zone's checksum scheme between the session's processes (see the module's docstring)."""
    os.environ.setdefault("IRODS_PROVIDER_CHECKSUM_SCHEME_CACHE", "off")


def _fresh(server: EmulatorServer) -> EmulatorServer:
    """Reset a server to a fresh zone, default limits, no faults and no OpenID validator."""
    defaults = EmulatorConfig()
    server.set_limits(
        token_lifetime_seconds=defaults.token_lifetime_seconds,
        max_streams_per_handle=defaults.max_streams_per_handle,
        max_streams=defaults.max_streams,
        max_body_bytes=defaults.max_body_bytes,
        max_rows=defaults.max_rows,
        read_buffer_bytes=defaults.read_buffer_bytes,
        dstream_exposes_irods_error_codes=False,
        request_timeout_seconds=defaults.request_timeout_seconds,
        server_io_bytes_per_second=defaults.server_io_bytes_per_second,
        clock_offset_seconds=defaults.clock_offset_seconds,
    )
    server.config.openid = None
    server.config.resources = defaults.resources
    server.config.default_resources = defaults.default_resources
    server.config.server_hostname = defaults.server_hostname
    server.config.resource_hosts = defaults.resource_hosts
    server.reset()
    return server


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
    return _fresh(irods_emulator_server)


@pytest.fixture(scope="session")
def irods_emulator_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], EmulatorServer]]:
    """``factory(api_version="0.7.0")``: that API version's emulator, one per version per session."""
    from irods_provider.testing._server import EmulatorServer

    servers: dict[str, EmulatorServer] = {}

    def factory(api_version: str = DEFAULT_API_VERSION) -> EmulatorServer:
        profile_for(api_version)  # ValueError for an unsupported version, before anything starts
        if api_version not in servers:
            spool = tmp_path_factory.mktemp(f"irods-emulator-{api_version}-spool")
            server = EmulatorServer(EmulatorConfig(spool_dir=spool, api_version=api_version))
            servers[api_version] = server.start()
        return servers[api_version]

    try:
        yield factory
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def irods_emulator_at(
    irods_emulator_factory: Callable[[str], EmulatorServer],
) -> Callable[[str], EmulatorServer]:
    """``at("0.5.0")``: the session's emulator of that API version with a fresh zone and default limits."""
    return lambda api_version: _fresh(irods_emulator_factory(api_version))


@pytest.fixture(scope="session")
def irods_emulator_variants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A factory of emulators with a zone setup, one per setup: ``federated_zones``, ``hash_scheme``,
    ``irods_server_version`` (the iRODS release, which picks the GenQuery1 parser), ``resources`` (every
    zone's extra resources), ``zone_resources`` (a federated zone's own, in place of ``resources``),
    ``resource_hash_schemes`` (``{"archiveResc": "md5"}``: the scheme of the server holding a resource) and
    ``zone_hash_schemes`` (a federated zone's servers' scheme).

    ``irods_emulator_variants(federated_zones=["otherZone"], hash_scheme="md5")`` returns a started
    server, shared by every test asking for the same setup and reset (fresh zones) on each call.
    """
    from irods_provider.testing._server import EmulatorServer

    servers: dict[tuple[Any, ...], EmulatorServer] = {}

    def variant(
        *,
        federated_zones: Sequence[str] = (),
        hash_scheme: str = "sha256",
        irods_server_version: str = DEFAULT_IRODS_SERVER_VERSION,
        resources: Sequence[str] = (),
        zone_resources: Mapping[str, Sequence[str]] | None = None,
        resource_hash_schemes: Mapping[str, str] | None = None,
        zone_hash_schemes: Mapping[str, str] | None = None,
    ) -> EmulatorServer:
        per_zone = tuple(sorted((zone, tuple(specs)) for zone, specs in (zone_resources or {}).items()))
        schemes = (
            tuple(sorted((resource_hash_schemes or {}).items())),
            tuple(sorted((zone_hash_schemes or {}).items())),
        )
        key = (tuple(federated_zones), hash_scheme, irods_server_version, tuple(resources), per_zone, schemes)
        server = servers.get(key)
        if server is None:
            spool: Path = tmp_path_factory.mktemp("irods-emulator-variant-spool")
            config = EmulatorConfig(
                spool_dir=spool,
                federated_zones=list(key[0]),
                hash_scheme=hash_scheme,
                irods_server_version=irods_server_version,
                resources=key[3],
                zone_resources=dict(per_zone),
                resource_hash_schemes=dict(schemes[0]),
                zone_hash_schemes=dict(schemes[1]),
            )
            server = servers[key] = EmulatorServer(config).start()
        server.config.openid = None
        server.reset()
        return server

    try:
        yield variant
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def irods_emulator_resources(irods_emulator: object) -> object:
    """:func:`irods_emulator` whose zone also holds the :data:`RESOURCE_PRESET` resources.

    ``demoResc`` stays the default; ``archiveResc`` is a second unixfilesystem resource and
    ``replResc`` a replication resource over ``replResc_ufs0`` and ``replResc_ufs1``.
    """
    from irods_provider.testing._config import RESOURCE_PRESET
    from irods_provider.testing._server import EmulatorServer

    assert isinstance(irods_emulator, EmulatorServer)
    irods_emulator.config.resources = RESOURCE_PRESET
    irods_emulator.reset()
    return irods_emulator
