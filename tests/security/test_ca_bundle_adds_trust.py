"""``ca_bundle`` adds a CA to the default trust; it does not replace it.

The usual site: the iRODS HTTP API has a certificate from an internal CA (the bundle), the OpenID provider one
from a CA the system trusts. One verify setting covers both endpoints, so the bundle must add to the system's
trust (simulated here with ``SSL_CERT_FILE``), never take its place.
"""

from __future__ import annotations

import json
import logging
import ssl
from pathlib import Path

import httpx2
import pytest
from hostile_server import Reply, Request, hostile_server
from security_support import Pki, make_ca, make_server_cert

from irods_provider.client import IrodsSession, build_token_source
from irods_provider.client._config import load_ca_bundle
from irods_provider.client._openid import ClientCredentialsGrant, OpenId, OpenIdOptions
from irods_provider.testing import EmulatorServer

pytestmark = pytest.mark.timeout(60)


def _public_idp_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context for the provider, signed by a CA that only the 'system store' trusts."""
    public_ca, ca_cert, ca_key = make_ca(tmp_path, "public-ca")
    cert, key = make_server_cert(tmp_path, "idp", ca_cert=ca_cert, ca_key=ca_key)
    monkeypatch.setenv("SSL_CERT_FILE", str(public_ca))  # the system store: the public CA only
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_bundle_verifies_irods_and_the_system_store_still_verifies_the_provider(
    tls_emulator: EmulatorServer, pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    internal_ca = str(pki.ca)

    def mint(request: Request) -> Reply:
        login = httpx2.post(
            f"{tls_emulator.base_url}/authenticate",
            auth=("rods", tls_emulator.config.admin_password),
            verify=ssl.create_default_context(cafile=internal_ca),
        )
        body = json.dumps({"access_token": login.text, "token_type": "Bearer", "expires_in": 300}).encode()
        return Reply(200, {"Content-Type": "application/json", "Content-Length": str(len(body))}, [body])

    with hostile_server(mint, tls=_public_idp_tls(tmp_path, monkeypatch)) as idp:
        options = OpenIdOptions(
            client_id="airflow", client_secret="s3cret-value", token_url=idp.url + "/token"
        )
        auth = build_token_source(OpenId(ClientCredentialsGrant(), options), verify=internal_ca, timeout=10)
        with IrodsSession(tls_emulator.base_url, auth=auth, verify=internal_ca) as session:
            assert session.collections.stat("/tempZone/home/rods").path == "/tempZone/home/rods"
        auth.close()


def test_bundle_context_trusts_the_default_store_and_the_bundle(
    pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    public_ca, _, _ = make_ca(tmp_path, "system-ca")
    monkeypatch.setenv("SSL_CERT_FILE", str(public_ca))
    subjects = {
        dict(item[0] for item in cert["subject"])["commonName"]
        for cert in load_ca_bundle(str(pki.ca)).get_ca_certs()
    }
    assert {"system-ca", "test-ca"} <= subjects


def test_disabled_verification_warns_for_the_provider_too(caplog: pytest.LogCaptureFixture) -> None:
    options = OpenIdOptions(
        client_id="airflow", client_secret="s3cret-value", token_url="https://idp.example/token"
    )
    with caplog.at_level(logging.WARNING):
        build_token_source(OpenId(ClientCredentialsGrant(), options), verify=False).close()
    assert "TLS certificate verification is DISABLED for the OpenID provider https://idp.example/token" in (
        caplog.text
    )
