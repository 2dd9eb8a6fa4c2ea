"""An OpenID discovery or token URL with credentials before ``@`` is refused when the connection is read,
naming the extra and never quoting the URL: the hook registers the connection's secret fields with the log
masker, not a password inside a URL, which then showed in ``repr(settings)`` and in every error naming the
provider ("cannot reach OpenID provider at https://svc:<password>@..."). The host field is refused alike."""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsConfigurationError
from irods_provider.hooks._connection import parse_connection

SECRET = "Sup3rS3cret-in-url"
BASE = {"conn_id": "c", "host": "h", "port": None, "schema": "https", "login": "u", "password": "p"}
OPENID = {"auth_mode": "openid_client_credentials", "openid_client_id": "c", "openid_client_secret": "cs"}


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("openid_discovery_url", f"https://svc:{SECRET}@idp.example.org/realms/x"),
        ("openid_grant_url", f"https://svc:{SECRET}@idp.example.org/realms/x/protocol/openid-connect/token"),
        ("openid_token_url", f"https://{SECRET}@idp.example.org/token"),
    ],
    ids=["discovery", "grant", "legacy-token-url"],
)
def test_an_openid_url_with_credentials_is_refused_without_quoting_it(key: str, url: str) -> None:
    with pytest.raises(IrodsConfigurationError) as refused:
        parse_connection(extras={**OPENID, key: url}, **BASE)
    assert key in str(refused.value)
    assert SECRET not in str(refused.value)


def test_an_openid_url_with_an_at_sign_in_its_path_is_kept() -> None:
    url = "https://idp.example.org/realms/team@lab/.well-known/openid-configuration"
    settings = parse_connection(extras={**OPENID, "openid_discovery_url": url}, **BASE)
    assert settings.openid is not None
    assert settings.openid.options.discovery_url == url
