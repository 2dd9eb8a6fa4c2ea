"""Issue 18, "sound today": behaviours the review found correct, pinned so they stay so.

No redirect is followed by either HTTP client (the iRODS session, the OpenID client); OpenID TLS is verified;
the remote ``sha256sum`` command quotes its path (``shlex.quote`` after ``--``); NUL and backslashes are
refused in relative names. Plus finding 7's last part: a remote command's output is bounded.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
from hostile_server import Reply, Request, hostile_server

from irods_provider.client import IrodsSession, OpenIdClientCredentials, RetryPolicy, StaticToken
from irods_provider.client._openid import _OpenIdTokenSource
from irods_provider.exceptions import (
    IrodsConnectionError,
    IrodsError,
    IrodsInvalidPathError,
    IrodsProtocolError,
)
from irods_provider.transfers import _sftp_endpoint
from irods_provider.transfers._selection import safe_relative

pytestmark = pytest.mark.timeout(60)

WELL_KNOWN = "/.well-known/openid-configuration"


@pytest.fixture(autouse=True)
def _close_sources(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    opened: list[_OpenIdTokenSource] = []
    original = _OpenIdTokenSource.__init__

    def init(self: _OpenIdTokenSource, *args: Any, **kwargs: Any) -> None:
        opened.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(_OpenIdTokenSource, "__init__", init)
    yield
    for source in opened:
        with contextlib.suppress(AttributeError):
            source.close()


def _redirect_to(target: str) -> Reply:
    return Reply(status=302, headers={"Location": target, "Content-Length": "0"})


def test_the_irods_session_follows_no_redirect() -> None:
    with (
        hostile_server(lambda r: Reply(chunks=[b"{}"])) as elsewhere,
        hostile_server(lambda r: _redirect_to(f"{elsewhere.url}/irods-http-api/0.7.0/info")) as server,
        IrodsSession(
            f"{server.url}/irods-http-api/0.7.0", auth=StaticToken("t0ken-Abc123"), retry=RetryPolicy.never()
        ) as session,
        pytest.raises(IrodsError) as caught,
    ):
        session.collections.stat("/tempZone/home")
    assert elsewhere.requests == [], "the bearer token followed a redirect"
    assert "302" in str(caught.value)


def test_the_openid_client_follows_no_redirect() -> None:
    with (
        hostile_server(lambda r: Reply(chunks=[b"{}"])) as elsewhere,
        hostile_server(lambda r: _redirect_to(f"{elsewhere.url}{WELL_KNOWN}")) as server,
    ):
        source = OpenIdClientCredentials(
            client_id="c", client_secret="cs-Abc-123456", discovery_url=server.url, allow_insecure_http=True
        )
        with pytest.raises(IrodsProtocolError, match="HTTP 302"):
            source.get_token()
    assert elsewhere.requests == []


def test_openid_tls_is_verified(pki) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)

    def handler(request: Request) -> Reply:
        return Reply(chunks=[json.dumps({"issuer": "x", "token_endpoint": "y"}).encode()])

    with hostile_server(handler, tls=context) as server:
        source = OpenIdClientCredentials(
            client_id="c", client_secret="cs-Abc-123456", discovery_url=server.url
        )
        with pytest.raises(IrodsConnectionError, match="cannot reach OpenID provider"):
            source.get_token()
    assert server.requests == [], "a request went out over an unverified channel"


# ---- remote sha256sum ---------------------------------------------------------------------------------


class _Recorder:
    """Stands in for an SftpEndpoint's command runner."""

    def __init__(self, out: bytes) -> None:
        self.commands: list[str] = []
        self.out = out

    def __call__(self, command: str, **kwargs: object) -> tuple[int, bytes, bytes]:
        self.commands.append(command)
        return 0, self.out, b""


def _endpoint(recorder: _Recorder) -> Any:
    endpoint = _sftp_endpoint.SftpEndpoint.__new__(_sftp_endpoint.SftpEndpoint)
    endpoint.home = "/home/svc"
    endpoint.run = recorder  # type: ignore[method-assign]
    return endpoint


@pytest.mark.parametrize(
    "path",
    ["/home/svc/a b.txt", "/home/svc/-rf", "/data/x;rm -rf ~", "/data/$(id)", "/data/`id`'q\"", "/d/\nx"],
)
def test_remote_sha256sum_quotes_its_path_after_double_dash(path: str) -> None:
    recorder = _Recorder(b"a" * 64 + b"  file\n")
    assert _endpoint(recorder).sha256sum(path) == "a" * 64
    (command,) = recorder.commands
    assert command.startswith("sha256sum -- ")
    assert shlex.split(command) == ["sha256sum", "--", path.removeprefix("/home/svc/")]


def test_malformed_remote_sha256sum_output_is_no_digest() -> None:
    assert _endpoint(_Recorder(b"not a digest\n")).sha256sum("/data/x") is None


def test_nul_in_an_sftp_path_is_refused() -> None:
    with pytest.raises(IrodsInvalidPathError, match="NUL"):
        _endpoint(_Recorder(b"")).resolve("/data/a\x00b")


@pytest.mark.parametrize(
    ("name", "why"), [("a\\b", "backslash, which an SFTP server on Windows"), ("a\x00b", "NUL")]
)
def test_backslash_and_nul_in_relative_names_are_refused(name: str, why: str) -> None:
    with pytest.raises(IrodsInvalidPathError, match="unsafe relative path") as caught:
        safe_relative(name)
    assert why in str(caught.value)  # the cause is named, and the path rides on the error
    assert caught.value.path == name


class _Stream:
    """A channel file that would produce ``size`` bytes; records the largest read asked for."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.asked: list[int] = []

    def read(self, n: int = -1) -> bytes:
        self.asked.append(n)
        return b"x" * (self.size if n < 0 else min(n, self.size))


def test_remote_command_output_is_bounded() -> None:
    stream = _Stream(10 * 1024 * 1024)
    with pytest.raises(IrodsProtocolError, match="'sha256sum' exceeds 65536 bytes"):
        _sftp_endpoint._read_bounded(stream, 65536, "sha256sum -- x")  # type: ignore[arg-type]
    assert stream.asked == [65537], "the whole output was requested"
    assert _sftp_endpoint._read_bounded(_Stream(100), 65536, "sha256sum -- x") == b"x" * 100  # type: ignore[arg-type]
