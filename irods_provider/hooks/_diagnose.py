"""Explain a failed connection test in plain words (DNS, refused, TLS, credentials, version, OpenID)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

from irods_provider.client._redact import scrub
from irods_provider.exceptions import (
    IrodsAuthenticationError,
    IrodsConfigurationError,
    IrodsProtocolError,
    IrodsResponseError,
    IrodsTimeoutError,
)
from irods_provider.hooks._connection import ConnectionSettings

__all__ = ["describe_failure"]

_DNS_WORDS = ("name or service not known", "nodename nor servname", "getaddrinfo", "name resolution")
_TLS_WORDS = ("ssl", "certificate", "tls", "wrong version number")


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _any(error: BaseException, kinds: tuple[type[BaseException], ...], words: tuple[str, ...]) -> bool:
    for item in _chain(error):
        if isinstance(item, kinds):
            return True
        text = str(item).lower()
        if any(word in text for word in words):
            return True
    return False


def _is_openid(error: BaseException) -> bool:
    return any(
        "openid" in str(item).lower() or "token endpoint" in str(item).lower() for item in _chain(error)
    )


def describe_failure(error: BaseException, *, settings: ConnectionSettings, step: str) -> str:
    """One sentence naming what failed, with every secret of the connection scrubbed from it.

    ``step`` is ``reach`` (``/info``) or ``login`` (authenticated). The UI shows the sentence unmasked,
    so text from the server or the OpenID provider must not carry a secret or a token into it.
    """
    return scrub(_describe(error, settings=settings, step=step), settings.secrets(), limit=1000)


def _describe(error: BaseException, *, settings: ConnectionSettings, step: str) -> str:
    parts = urlsplit(settings.base_url)
    where = f"{parts.hostname}:{parts.port}"
    detail = f" ({type(error).__name__}: {error})"
    if isinstance(error, IrodsConfigurationError):
        return f"The connection is misconfigured: {error}"
    if settings.openid is not None and _is_openid(error):
        if isinstance(error, IrodsAuthenticationError):
            return f"The OpenID provider refused the {settings.openid.grant} grant{detail}"
        return f"Could not get a token from the OpenID provider{detail}"
    if _any(error, (socket.gaierror,), _DNS_WORDS):
        return f"DNS lookup failed: cannot resolve host {parts.hostname!r}"
    if _any(error, (ssl.SSLError, ssl.CertificateError), _TLS_WORDS):
        return f"TLS handshake with {where} failed (certificate or protocol mismatch){detail}"
    if _any(error, (ConnectionRefusedError,), ("connection refused", "connect call failed")):
        return f"Connection refused by {where}: nothing is listening there"
    if isinstance(error, IrodsTimeoutError):
        return f"Timed out talking to {where}"
    if isinstance(error, IrodsAuthenticationError):
        return (
            f"The server refused the credentials of user {settings.username!r} ({settings.auth_mode}){detail}"
        )
    if isinstance(error, IrodsProtocolError) or (
        step == "reach" and isinstance(error, IrodsResponseError) and error.http_status == 404
    ):
        return (
            f"{settings.base_url} is not an iRODS HTTP API of the expected version "
            f"(check the api_path and api_version extras){detail}"
        )
    return f"Could not {'reach' if step == 'reach' else 'use'} the iRODS HTTP API at {where}{detail}"
