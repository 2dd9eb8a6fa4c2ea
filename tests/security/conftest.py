"""Security suite fixtures: an HTTPS emulator per certificate kind (good, expired, wrong host)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from security_support import Pki, build_pki

if "irods_provider.testing.pytest_plugin" not in sys.modules:  # the root conftest may load it already
    from irods_provider.testing.pytest_plugin import irods_emulator, irods_emulator_server  # noqa: F401

from irods_provider.testing import EmulatorConfig, EmulatorServer


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return build_pki(tmp_path_factory.mktemp("pki"))


def _https_emulator(cert: Path, key: Path) -> EmulatorServer:
    return EmulatorServer(EmulatorConfig(ssl_certfile=str(cert), ssl_keyfile=str(key))).start()


@pytest.fixture(scope="session")
def tls_emulator_server(pki: Pki) -> Iterator[EmulatorServer]:
    """An emulator over HTTPS with a certificate for 127.0.0.1/localhost signed by the test CA."""
    server = _https_emulator(pki.server_cert, pki.server_key)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tls_emulator(tls_emulator_server: EmulatorServer) -> EmulatorServer:
    tls_emulator_server.reset()
    return tls_emulator_server


@pytest.fixture(scope="session")
def expired_tls_emulator(pki: Pki) -> Iterator[EmulatorServer]:
    server = _https_emulator(pki.expired_cert, pki.expired_key)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def wrong_host_tls_emulator(pki: Pki) -> Iterator[EmulatorServer]:
    server = _https_emulator(pki.wrong_host_cert, pki.wrong_host_key)
    try:
        yield server
    finally:
        server.stop()
