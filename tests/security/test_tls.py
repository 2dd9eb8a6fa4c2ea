"""TLS: the emulator over HTTPS with a test CA; verification is on by default and only off when asked."""

from __future__ import annotations

import hashlib
import json
import logging
import ssl

import httpx2
import pytest
from security_support import HOME, irods_conn_json

from irods_provider.client import AsyncIrodsSession, BasicAuth, IrodsSession, RetryPolicy
from irods_provider.exceptions import IrodsConfigurationError, IrodsConnectionError
from irods_provider.hooks.irods import IrodsHook

pytestmark = pytest.mark.timeout(60)

DISABLED_WARNING = "TLS certificate verification is DISABLED"


def _session(server, **kwargs) -> IrodsSession:
    return IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator"), timeout=10, **kwargs)


def _round_trip(session: IrodsSession) -> None:
    data = b"over TLS " * 1000
    session.data_objects.write(f"{HOME}/tls.bin", data)
    assert (
        hashlib.sha256(session.data_objects.read(f"{HOME}/tls.bin")).digest() == hashlib.sha256(data).digest()
    )


def _disabled_warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if DISABLED_WARNING in r.getMessage() and r.levelno == logging.WARNING]


def test_self_signed_server_rejected_by_default_before_any_credential_is_sent(tls_emulator, caplog) -> None:
    caplog.set_level(logging.WARNING)
    with _session(tls_emulator) as s, pytest.raises(IrodsConnectionError) as caught:
        s.collections.stat(HOME)
    text = str(caught.value)
    assert "CERTIFICATE_VERIFY_FAILED" in text
    assert "certificate" in text.lower()
    assert tls_emulator.token_count() == 0, "a login reached the server over an unverified channel"
    assert not _disabled_warnings(caplog)


@pytest.mark.parametrize("as_context", [False, True], ids=["ca-bundle-path", "ssl-context"])
def test_accepted_with_the_ca_bundle(tls_emulator, pki, caplog, as_context) -> None:
    caplog.set_level(logging.WARNING)
    verify = ssl.create_default_context(cafile=str(pki.ca)) if as_context else str(pki.ca)
    with _session(tls_emulator, verify=verify) as s:
        assert tls_emulator.base_url.startswith("https://127.0.0.1:")
        _round_trip(s)
    assert not _disabled_warnings(caplog)


def test_an_unrelated_ca_is_rejected(tls_emulator, pki) -> None:
    with _session(tls_emulator, verify=str(pki.other_ca)) as s, pytest.raises(IrodsConnectionError) as caught:
        s.collections.stat(HOME)
    assert "certificate verify failed" in str(caught.value)
    assert "unable to get local issuer certificate" in str(caught.value)


def test_expired_certificate_rejected(expired_tls_emulator, pki) -> None:
    with (
        _session(expired_tls_emulator, verify=str(pki.ca)) as s,
        pytest.raises(IrodsConnectionError) as caught,
    ):
        s.collections.stat(HOME)
    assert "certificate has expired" in str(caught.value)


def test_certificate_for_another_host_rejected(wrong_host_tls_emulator, pki) -> None:
    with (
        _session(wrong_host_tls_emulator, verify=str(pki.ca)) as s,
        pytest.raises(IrodsConnectionError) as caught,
    ):
        s.collections.stat(HOME)
    assert "IP address mismatch" in str(caught.value) or "Hostname mismatch" in str(caught.value)


def test_verify_false_only_on_request_and_warns(tls_emulator, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="irods_provider")
    with _session(tls_emulator, verify=False) as s:
        _round_trip(s)
    warnings = _disabled_warnings(caplog)
    assert len(warnings) == 1
    assert warnings[0].name.startswith("irods_provider")


def test_unreadable_ca_bundle_is_a_configuration_error(tls_emulator, tmp_path) -> None:
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(IrodsConfigurationError, match="cannot load CA bundle") as caught:
        _session(tls_emulator, verify=str(missing))
    assert str(missing) in str(caught.value)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(IrodsConfigurationError, match="cannot load CA bundle"):
        _session(tls_emulator, verify=str(garbage))


def test_https_client_against_plain_http_server_names_tls(irods_emulator) -> None:
    url = irods_emulator.base_url.replace("http://", "https://")
    with (
        IrodsSession(url, auth=BasicAuth("rods", "rods-emulator"), timeout=10) as s,
        pytest.raises(IrodsConnectionError) as caught,
    ):
        s.collections.stat(HOME)
    assert "SSL" in str(caught.value) or "TLS" in str(caught.value)


def test_plain_http_client_against_https_server_fails_typed(tls_emulator) -> None:
    url = tls_emulator.base_url.replace("https://", "http://")
    with (
        IrodsSession(url, auth=BasicAuth("rods", "rods-emulator"), timeout=10) as s,
        pytest.raises((IrodsConnectionError,)) as caught,
    ):
        s.collections.stat(HOME)
    assert "server closed or broke the connection" in str(caught.value) or "HTTP" in str(caught.value)
    assert tls_emulator.token_count() == 0


async def test_async_session_verifies_too(tls_emulator, pki) -> None:
    async with AsyncIrodsSession(
        tls_emulator.base_url, auth=BasicAuth("rods", "rods-emulator"), timeout=10
    ) as s:
        with pytest.raises(IrodsConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await s.collections.stat(HOME)
    async with AsyncIrodsSession(
        tls_emulator.base_url, auth=BasicAuth("rods", "rods-emulator"), timeout=10, verify=str(pki.ca)
    ) as s:
        await s.data_objects.write(f"{HOME}/async-tls.bin", b"async over TLS")
        assert await s.data_objects.read(f"{HOME}/async-tls.bin") == b"async over TLS"


# ---- through the Airflow hook -------------------------------------------------------------------------


def test_hook_rejects_without_ca_bundle(tls_emulator, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_TLS", irods_conn_json(tls_emulator))
    hook = IrodsHook("irods_tls")
    assert hook.settings.verify is True
    with hook, pytest.raises(IrodsConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        hook.get_conn().collections.stat(HOME)
    ok, message = IrodsHook("irods_tls").test_connection()
    assert not ok
    assert "TLS" in message
    assert "certificate" in message.lower()


def test_hook_accepts_with_ca_bundle_extra(tls_emulator, pki, monkeypatch, caplog) -> None:
    caplog.set_level(logging.WARNING)
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_TLS", irods_conn_json(tls_emulator, ca_bundle=str(pki.ca)))
    with IrodsHook("irods_tls") as hook:
        assert hook.settings.verify == str(pki.ca)
        _round_trip(hook.get_conn())
    ok, message = IrodsHook("irods_tls").test_connection()
    assert ok, message
    assert message.startswith(
        f"Connected to the iRODS HTTP API 0.7.0 (detected automatically) at {tls_emulator.base_url}"
    )
    assert not _disabled_warnings(caplog)


def test_hook_verify_tls_false_warns(tls_emulator, monkeypatch, caplog) -> None:
    caplog.set_level(logging.WARNING)
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_TLS", irods_conn_json(tls_emulator, verify_tls="false"))
    with IrodsHook("irods_tls") as hook:
        assert hook.settings.verify is False
        _round_trip(hook.get_conn())
    assert len(_disabled_warnings(caplog)) == 1


def test_hook_missing_ca_bundle_file_is_named(tls_emulator, monkeypatch, tmp_path) -> None:
    missing = str(tmp_path / "absent-ca.pem")
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_TLS", irods_conn_json(tls_emulator, ca_bundle=missing))
    with (
        IrodsHook("irods_tls") as hook,
        pytest.raises(IrodsConfigurationError, match="cannot load CA bundle"),
    ):
        hook.get_conn()
    ok, message = IrodsHook("irods_tls").test_connection()
    assert not ok
    assert missing in message


class CountingTransport(httpx2.HTTPTransport):
    """Counts the requests the client tries to send (each one is a TLS handshake attempt here)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.attempts = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.attempts += 1
        return super().handle_request(request)


def test_certificate_failure_is_not_retried(tls_emulator) -> None:
    transport = CountingTransport()
    with (
        IrodsSession(
            tls_emulator.base_url, auth=BasicAuth("rods", "rods-emulator"), timeout=10, transport=transport
        ) as s,
        pytest.raises(IrodsConnectionError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        s.collections.stat(HOME)
    assert transport.attempts == 1


def test_plain_http_against_the_tls_port_suggests_https(tls_emulator, monkeypatch) -> None:
    """Test connection over http to a TLS-only port: the message says to switch the Protocol to https."""
    conn = json.loads(irods_conn_json(tls_emulator)) | {"schema": "http"}
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_WRONG_PROTOCOL", json.dumps(conn))
    ok, message = IrodsHook("irods_wrong_protocol", retry=RetryPolicy.never()).test_connection()
    assert not ok
    assert message.endswith(
        f". Port {tls_emulator.port} speaks TLS: set the Protocol (schema) field to https"
    )
    assert tls_emulator.token_count() == 0
