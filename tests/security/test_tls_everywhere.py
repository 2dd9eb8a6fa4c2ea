"""TLS verification is on by default on every way in, not only the hook's session: the fsspec filesystem
(explicit URL, ``auto`` version discovery, an Airflow connection through ObjectStoragePath) and the
triggers the triggerer runs. A server whose certificate the default store does not trust is refused with a
typed error before any credential is sent; the connection's ``ca_bundle`` extra makes it trusted."""

from __future__ import annotations

import asyncio
from unittest import mock

import pytest
from security_support import HOME, irods_conn_json

from irods_provider.client._discovery import forget_discovered_versions
from irods_provider.exceptions import IrodsConnectionError
from irods_provider.fs._filesystem import IrodsFileSystem
from irods_provider.triggers.irods import IrodsPathTrigger

pytestmark = pytest.mark.timeout(60)

CONN = "irods_tls_everywhere"


@pytest.fixture(autouse=True)
def _fresh() -> None:
    forget_discovered_versions()
    IrodsFileSystem.clear_instance_cache()


@pytest.mark.parametrize("versioned", [True, False], ids=["pinned-version", "auto-discovery"])
def test_the_filesystem_refuses_an_untrusted_server_and_trusts_a_bundle(tls_emulator, pki, versioned) -> None:
    url = tls_emulator.base_url if versioned else tls_emulator.base_url.rsplit("/", 1)[0]
    refused = IrodsFileSystem(
        base_url=url, username="rods", password="rods-emulator", skip_instance_cache=True
    )
    try:
        with pytest.raises(IrodsConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            refused.ls(HOME)
    finally:
        refused.close_session()
    assert tls_emulator.token_count() == 0, "a login reached the server over an unverified channel"
    trusted = IrodsFileSystem(
        base_url=url, username="rods", password="rods-emulator", verify=str(pki.ca), skip_instance_cache=True
    )
    try:
        trusted.pipe_file(f"{HOME}/fs-tls.txt", b"over TLS")
        assert trusted.cat_file(f"{HOME}/fs-tls.txt") == b"over TLS"
    finally:
        trusted.close_session()


def test_object_storage_paths_use_the_connections_tls_settings(tls_emulator, pki, monkeypatch) -> None:
    from airflow.sdk import ObjectStoragePath

    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN.upper()}", irods_conn_json(tls_emulator))
    refused = ObjectStoragePath(f"irods://{CONN}@{HOME}/osp-tls.txt")
    try:
        with pytest.raises(IrodsConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            refused.write_bytes(b"x")
    finally:
        refused.fs.close_session()
    assert tls_emulator.token_count() == 0
    IrodsFileSystem.clear_instance_cache()
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN.upper()}", irods_conn_json(tls_emulator, ca_bundle=str(pki.ca)))
    path = ObjectStoragePath(f"irods://{CONN}@{HOME}/osp-tls.txt")
    try:
        path.write_bytes(b"over TLS")
        assert path.read_bytes() == b"over TLS"
    finally:
        path.fs.close_session()


def _first_event(trigger: IrodsPathTrigger) -> dict[str, object]:
    async def first() -> dict[str, object]:
        with mock.patch.object(IrodsPathTrigger, "_sleep", side_effect=asyncio.CancelledError):
            event = await anext(trigger.run())
        return event.payload  # type: ignore[no-any-return]

    return asyncio.run(first())


def test_a_trigger_refuses_an_untrusted_server_and_trusts_the_connections_bundle(
    tls_emulator, pki, monkeypatch
) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN.upper()}", irods_conn_json(tls_emulator))
    payload = _first_event(IrodsPathTrigger(path=HOME, irods_conn_id=CONN, poke_interval=1))
    assert payload["status"] == "error"
    assert payload["error_class"] == "IrodsConnectionError"
    assert "CERTIFICATE_VERIFY_FAILED" in str(payload["message"])
    assert tls_emulator.token_count() == 0
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN.upper()}", irods_conn_json(tls_emulator, ca_bundle=str(pki.ca)))
    payload = _first_event(IrodsPathTrigger(path=HOME, irods_conn_id=CONN, poke_interval=1))
    assert payload["status"] == "success", payload
