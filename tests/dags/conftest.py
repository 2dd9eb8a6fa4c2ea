"""DAG tests: the migrated metadata DB (``airflow_db``, tests/conftest.py), emulators as irods_default."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from oidc_provider.harness import oidc_provider, protected_emulator

__all__ = ["oidc_provider"]

if "irods_provider.testing.pytest_plugin" not in sys.modules:  # the root conftest may load it already
    from irods_provider.testing.pytest_plugin import irods_emulator, irods_emulator_server  # noqa: F401


@pytest.fixture
def irods_default(irods_emulator, airflow_db, monkeypatch: pytest.MonkeyPatch):
    """The reset emulator, reachable as the ``irods_default`` connection."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT",
        f"irods://rods:rods-emulator@127.0.0.1:{irods_emulator.port}/http?zone=tempZone",
    )
    return irods_emulator


@pytest.fixture(scope="module")
def openid_emulator(oidc_provider):
    """An emulator in protected-resource mode: bearer tokens introspected at the provider, user from claim."""
    with protected_emulator(oidc_provider) as server:
        yield server
