"""A base URL holding ``user:password@`` (``https://alice:secret@host/irods-http-api/0.7.0``): with no
``auth`` those are the Basic login's credentials, the URL the session keeps and requests carry none of
them (httpx would otherwise turn them into a Basic header on every request, over the bearer token: HTTP
400 after the login), and the password never shows in a log, a repr or an exception. With ``auth`` given
too, or a user without a password, the session refuses, naming the URL with its password left out."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest

from irods_provider.client import AsyncIrodsSession, BasicAuth, IrodsSession
from irods_provider.exceptions import IrodsConfigurationError, IrodsNotFoundError

pytestmark = pytest.mark.timeout(60)

PASSWORD = "pa:ss@w/rd%x"  # every character a URL must escape in its user information
DATA = bytes(range(256)) * 41


def _with_userinfo(base_url: str, user: str, password: str | None) -> str:
    scheme, _, rest = base_url.partition("://")
    info = quote(user, safe="") + ("" if password is None else ":" + quote(password, safe=""))
    return f"{scheme}://{info}@{rest}"


def _leaks(text: str) -> bool:
    return PASSWORD in text or quote(PASSWORD, safe="") in text


def test_url_credentials_log_in_and_never_show(irods_emulator, caplog) -> None:
    """alice logs in from the URL, writes and reads back her bytes; the password is nowhere to be read."""
    irods_emulator.add_user("alice", PASSWORD)
    url = _with_userinfo(irods_emulator.base_url, "alice", PASSWORD)
    caplog.set_level(logging.DEBUG)
    with IrodsSession(url) as session:
        path = "/tempZone/home/alice/from-url.bin"
        session.data_objects.write(path, DATA)
        assert session.data_objects.read(path) == DATA
        with pytest.raises(IrodsNotFoundError) as missing:
            session.data_objects.read("/tempZone/home/alice/missing.bin")
        assert session.base_url == irods_emulator.base_url
        shown = [repr(session), repr(session.auth), str(missing.value), repr(missing.value)]
    shown.append(caplog.text)
    assert not any(_leaks(text) for text in shown)


async def test_the_async_session_takes_them_too(irods_emulator) -> None:
    """The async twin: the same login, the same URL kept without them."""
    irods_emulator.add_user("alice", PASSWORD)
    url = _with_userinfo(irods_emulator.base_url, "alice", PASSWORD)
    async with AsyncIrodsSession(url) as session:
        path = "/tempZone/home/alice/from-url-async.bin"
        await session.data_objects.write(path, DATA)
        assert await session.data_objects.read(path) == DATA
        assert session.base_url == irods_emulator.base_url


def test_url_credentials_beside_auth_are_refused_without_the_password(irods_emulator) -> None:
    """Two sets of credentials: which one was meant is not guessed."""
    url = _with_userinfo(irods_emulator.base_url, "alice", PASSWORD)
    with pytest.raises(IrodsConfigurationError) as caught:
        IrodsSession(url, auth=BasicAuth("rods", "rods-emulator"))
    message = str(caught.value)
    assert "alice:***@" in message
    assert irods_emulator.base_url.partition("://")[2] in message
    assert not _leaks(message)
    assert not _leaks(repr(caught.value))


def test_a_user_without_a_password_is_refused(irods_emulator) -> None:
    """``https://alice@host/...``: a Basic login needs the password too."""
    url = _with_userinfo(irods_emulator.base_url, "alice", None)
    with pytest.raises(IrodsConfigurationError, match="names user 'alice' but no password"):
        IrodsSession(url)


def test_a_url_without_version_is_discovered_without_them(irods_emulator, caplog) -> None:
    """``resolve_base_url`` asks ``/info`` on the bare URL and hands the credentials on to the session."""
    from irods_provider.client._discovery import resolve_base_url

    irods_emulator.add_user("alice", PASSWORD)
    root = irods_emulator.base_url.rpartition("/")[0]
    caplog.set_level(logging.DEBUG)
    resolved = resolve_base_url(_with_userinfo(root, "alice", PASSWORD))
    assert resolved == _with_userinfo(irods_emulator.base_url, "alice", PASSWORD)
    with IrodsSession(resolved) as session:
        assert session.data_objects.exists("/tempZone/home/alice/none.bin") is False
    assert not _leaks(caplog.text)
