"""Airflow-layer integration fixtures: ``irods`` connections per emulator user, through AIRFLOW_CONN_*."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

if "irods_provider.testing.pytest_plugin" not in sys.modules:  # the root conftest may load it already
    from irods_provider.testing.pytest_plugin import irods_emulator, irods_emulator_server  # noqa: F401

HOME = "/tempZone/home/rods"
ALICE_PASSWORD = "Alice-Pw-7qZ!x93kd"  # distinctive: searched for in captured logs


def conn_uri(server, user: str = "rods", password: str = "rods-emulator") -> str:
    from urllib.parse import quote

    return f"irods://{user}:{quote(password, safe='')}@127.0.0.1:{server.port}/http?zone=tempZone"


@pytest.fixture
def irods(irods_emulator, monkeypatch: pytest.MonkeyPatch) -> object:
    """The reset emulator with ``irods_default`` (rods) and ``irods_alice`` (a rodsuser) connections."""
    irods_emulator.add_user("alice", ALICE_PASSWORD)
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", conn_uri(irods_emulator))
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_ALICE", conn_uri(irods_emulator, "alice", ALICE_PASSWORD))
    return irods_emulator


@pytest.fixture
def session(irods) -> Iterator[object]:
    """A client session as rods, to arrange and inspect the zone."""
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook() as hook:
        yield hook.get_conn()
