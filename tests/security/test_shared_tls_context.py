"""One verifying SSL context per trust source per process: shared by every session, never weakened.

Loading a CA store costs 25-50 ms per client, so sessions (and the version probe, and OpenID clients) share
one context per trust source. Sharing must not change what is trusted: a session that trusts a private CA
leaves the default store alone (a self-signed server is still refused by the next default session, before
any credential), and a CA bundle replaced on disk is loaded anew.
"""

from __future__ import annotations

import os
import shutil
import ssl

import httpx2
import pytest
from security_support import HOME

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.client._config import client_options, shared_ssl_context
from irods_provider.exceptions import IrodsConnectionError, IrodsUsageError

pytestmark = pytest.mark.timeout(60)


def _session(server, **kwargs) -> IrodsSession:
    return IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator"), timeout=10, **kwargs)


def test_default_sessions_share_one_verifying_context() -> None:
    first = client_options(timeout=1, verify=True)["verify"]
    assert first is client_options(timeout=1, verify=True)["verify"] is shared_ssl_context(True)
    assert first.verify_mode == ssl.CERT_REQUIRED
    assert first.check_hostname is True
    with pytest.raises(IrodsUsageError):
        shared_ssl_context(False)


def test_a_private_ca_does_not_leak_into_the_shared_default(tls_emulator, pki) -> None:
    with _session(tls_emulator, verify=str(pki.ca)) as trusting:
        assert trusting.collections.stat(HOME).path == HOME
    assert tls_emulator.token_count() == 1
    tls_emulator.reset()
    for _ in range(2):  # the second default session reuses the context the first one made
        with _session(tls_emulator) as default, pytest.raises(IrodsConnectionError) as caught:
            default.collections.stat(HOME)
        assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert tls_emulator.token_count() == 0, "a login reached the server over an unverified channel"


def test_the_same_bundle_is_loaded_once(tls_emulator, pki) -> None:
    assert shared_ssl_context(str(pki.ca)) is shared_ssl_context(str(pki.ca))
    assert shared_ssl_context(str(pki.ca)) is not shared_ssl_context(True)


def test_a_replaced_ca_bundle_is_loaded_anew(tls_emulator, pki, tmp_path) -> None:
    bundle = tmp_path / "ca.pem"
    shutil.copy(pki.other_ca, bundle)
    with _session(tls_emulator, verify=str(bundle)) as s, pytest.raises(IrodsConnectionError) as caught:
        s.collections.stat(HOME)
    assert "unable to get local issuer certificate" in str(caught.value)
    staged = tmp_path / "ca.pem.new"
    shutil.copy(pki.ca, staged)
    os.replace(staged, bundle)  # rotated in place, as a configuration manager does
    with _session(tls_emulator, verify=str(bundle)) as s:
        assert s.collections.stat(HOME).path == HOME


def test_a_plain_http_client_loads_no_ca_store_and_still_verifies(tls_emulator) -> None:
    """Only ever asking an ``http://`` URL, a client makes no handshake: its context trusts no CA, and it
    still requires a valid certificate (it refuses a TLS server where an unverifying context would not)."""
    options = client_options(timeout=5, verify=True, url="http://127.0.0.1:9/irods-http-api/0.7.0")
    context = options["verify"]
    assert context is not shared_ssl_context(True)
    assert context.cert_store_stats()["x509_ca"] == 0
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    with httpx2.Client(**options) as client, pytest.raises(httpx2.ConnectError) as caught:
        client.get(f"{tls_emulator.base_url}/info")
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    https = client_options(timeout=5, verify=True, url=tls_emulator.base_url)
    assert https["verify"] is shared_ssl_context(True)
