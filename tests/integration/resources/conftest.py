"""Resource fixtures: the preset-resources emulator behind ``irods_default`` (no default resource),
``irods_archive`` (``default_resource=archiveResc``) and ``irods_repl`` (``default_resource=replResc``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

if "irods_provider.testing.pytest_plugin" not in sys.modules:  # the root conftest may load it already
    from irods_provider.testing.pytest_plugin import (  # noqa: F401
        irods_emulator,
        irods_emulator_resources,
        irods_emulator_server,
    )

# Other test packages do ``from conftest import HOME``; whichever conftest is imported as ``conftest``
# must offer it.
HOME = "/tempZone/home/rods"


def conn_uri(server, extra: str = "") -> str:
    return f"irods://rods:rods-emulator@127.0.0.1:{server.port}/http?zone=tempZone{extra}"


@pytest.fixture
def zone(irods_emulator_resources, monkeypatch: pytest.MonkeyPatch) -> object:
    """The reset preset-resources emulator and its three connections."""
    server = irods_emulator_resources
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", conn_uri(server))
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_ARCHIVE", conn_uri(server, "&default_resource=archiveResc"))
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_REPL", conn_uri(server, "&default_resource=replResc"))
    return server


@pytest.fixture
def session(zone) -> Iterator[object]:
    """A client session as rods (no default resource), to arrange and inspect the zone."""
    from irods_provider.client import BasicAuth, IrodsSession

    with IrodsSession(zone.base_url, auth=BasicAuth("rods", "rods-emulator")) as s:
        yield s
