"""Transfer-operator fixtures: the reset emulator as ``irods_default`` (AIRFLOW_CONN_* env) and a session."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

if "irods_provider.testing.pytest_plugin" not in sys.modules:  # the root conftest may load it already
    from irods_provider.testing.pytest_plugin import irods_emulator, irods_emulator_server  # noqa: F401

# Other test packages do ``from conftest import HOME``; whichever conftest is imported as ``conftest`` must
# offer it.
HOME = "/tempZone/home/rods"


@pytest.fixture
def irods(irods_emulator, monkeypatch: pytest.MonkeyPatch) -> object:
    """The reset emulator, reachable through the ``irods_default`` connection."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT",
        f"irods://rods:rods-emulator@127.0.0.1:{irods_emulator.port}/http?zone=tempZone",
    )
    return irods_emulator


@pytest.fixture
def session(irods) -> Iterator[object]:
    """A client session as rods, to arrange and inspect the zone."""
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook() as hook:
        yield hook.get_conn()
