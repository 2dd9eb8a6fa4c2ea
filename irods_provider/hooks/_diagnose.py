"""Explain a failed connection test in plain words (DNS, refused, TLS, credentials, version, OpenID).

Also the checks ``test_connection`` adds on top: the zone exists, the protocol matches the port, a typo
in an extra's name, and the connection id the user typed in the UI.
"""

from __future__ import annotations

import contextlib
import difflib
import socket
import ssl
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from irods_provider.client._redact import scrub
from irods_provider.exceptions import (
    IrodsAuthenticationError,
    IrodsConfigurationError,
    IrodsNotACollectionError,
    IrodsNotFoundError,
    IrodsPermissionError,
    IrodsProtocolError,
    IrodsResponseError,
    IrodsTimeoutError,
)
from irods_provider.hooks._connection import EXTRA_DEFAULTS, ConnectionSettings

__all__ = ["describe_failure", "extra_key_hint", "missing_zone", "protocol_hint", "typed_connection_id"]

#: iRODS codes a stat of ``/<zone>`` answers for a zone the server does not know (besides not-found and
#: not-a-collection, which the 0.5-0.7 servers return for a missing path): SYS_INVALID_ZONE_NAME and
#: CAT_INVALID_ZONE (from the iRODS error table; not observed against a real server here).
_ZONE_CODES = (-26000, -828000)

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
    try:
        text = _describe(error, settings=settings, step=step)
    except Exception:  # a diagnosis must never turn a failed test into a raised one
        text = f"The connection test failed ({type(error).__name__}: {error})"
    return scrub(text, settings.secrets(), limit=1000)


def _describe(error: BaseException, *, settings: ConnectionSettings, step: str) -> str:
    parts = urlsplit(settings.base_url)
    where = f"{parts.hostname}:{parts.port}"
    detail = f" ({type(error).__name__}: {error})"
    if isinstance(error, IrodsConfigurationError):
        return f"The connection is misconfigured: {error}"
    if settings.openid is not None and isinstance(error, IrodsAuthenticationError):
        if error.operation in ("openid_token", "openid_discovery"):
            return f"The OpenID provider refused the {settings.openid.grant} grant{detail}"
        return (
            f"The iRODS HTTP API refused the tokens the OpenID provider issued for client "
            f"{settings.openid.options.client_id!r} ({settings.auth_mode}){detail}"
        )
    if settings.openid is not None and _is_openid(error):
        return f"Could not get a token from the OpenID provider{detail}"
    if _any(error, (socket.gaierror,), _DNS_WORDS):
        return f"DNS lookup failed: cannot resolve host {parts.hostname!r}"
    if _any(error, (ssl.SSLError, ssl.CertificateError), _TLS_WORDS):
        hint = protocol_hint(settings)
        return f"TLS handshake with {where} failed (certificate or protocol mismatch){detail}{hint}"
    if _any(error, (ConnectionRefusedError,), ("connection refused", "connect call failed")):
        return f"Connection refused by {where}: nothing is listening there"
    if isinstance(error, IrodsTimeoutError):
        return f"Timed out talking to {where}"
    if isinstance(error, IrodsAuthenticationError):
        if settings.access_token is not None:
            return f"The server refused the static bearer token (token){detail}"
        who = f"user {settings.username!r}" if settings.username else "the connection (no login set)"
        return f"The server refused the credentials of {who} ({settings.auth_mode}){detail}"
    if isinstance(error, IrodsProtocolError) or (
        step == "reach" and isinstance(error, IrodsResponseError) and error.http_status == 404
    ):
        return (
            f"{settings.base_url} is not an iRODS HTTP API of the expected version "
            f"(check the api_path and api_version extras){detail}{protocol_hint(settings)}"
        )
    hint = protocol_hint(settings) if step == "reach" else ""
    return f"Could not {'reach' if step == 'reach' else 'use'} the iRODS HTTP API at {where}{detail}{hint}"


def _speaks_tls(host: str, port: int, timeout: float) -> bool:
    """Whether ``host:port`` completes a TLS handshake (certificate not checked: nothing is sent)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return True
    except (OSError, ValueError):
        return False


def _speaks_plain_http(host: str, port: int, timeout: float) -> bool:
    """Whether ``host:port`` answers a plain-text HTTP request with an HTTP status line."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(f"HEAD / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode("ascii", "replace"))
            return sock.recv(5) == b"HTTP/"
    except OSError:
        return False


def protocol_hint(settings: ConnectionSettings) -> str:
    """A sentence telling to switch the Protocol when the port speaks the other one; else ``""``.

    Probes the port once (bounded by the connect timeout, at most 5 s) without sending any credential.
    """
    parts = urlsplit(settings.base_url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    timeout = min(settings.connect_timeout, 5.0)
    if parts.scheme == "https" and _speaks_plain_http(host, port, timeout):
        return f". Port {port} answers plain HTTP: set the Protocol (schema) field to http"
    if parts.scheme == "http" and _speaks_tls(host, port, timeout):
        return f". Port {port} speaks TLS: set the Protocol (schema) field to https"
    return ""


def missing_zone(session: Any, zone: str, local_zone: str | None) -> str | None:
    """``None`` when ``zone`` is the server's own or ``/<zone>`` exists (or is hidden from this user), else
    a sentence naming the zones.

    The zones named are the server's own (``/info``) and the top-level collections this user can list.
    """
    if zone == local_zone:
        return None
    try:
        session.collections.stat(f"/{zone}")
        return None
    except IrodsPermissionError:
        return None
    except (IrodsNotFoundError, IrodsNotACollectionError):
        pass
    except IrodsResponseError as error:
        if error.irods_code not in _ZONE_CODES:
            raise
    known = {local_zone} if local_zone else set()
    # The root may not be listable for this user: the server's own zone is still known.
    with contextlib.suppress(IrodsResponseError):
        known |= {entry.path.strip("/") for entry in session.collections.iterate("/")}
    names = ", ".join(sorted(z for z in known if z)) or "none visible"
    return f"The server has no zone {zone!r} (its zones: {names}): fix the Zone field or leave it empty"


def extra_key_hint(extras: Iterable[str], known: Iterable[str] = EXTRA_DEFAULTS) -> str:
    """``did you mean`` suggestions for extras that are not known keys (difflib), or ``""``."""
    choices = list(known)
    hints = []
    for key in sorted(set(extras) - set(choices)):
        close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
        if close:
            hints.append(f"{key!r}: did you mean {close[0]!r}?")
    return "; ".join(hints)


def typed_connection_id(conn_id: str) -> str:
    """The connection id the user typed, when Airflow's UI/API tests it under a random temporary id.

    ``POST /api/v2/connections/test`` exports the connection as ``AIRFLOW_CONN_<random>`` and builds the
    hook with that id; the id the user typed is only in the route's ``test_body``. Looked up on the call
    stack (the route calls ``Connection.test_connection`` which calls the hook in the same thread); any
    other caller gets ``conn_id`` back unchanged.
    """
    frame = sys._getframe(1)
    for _ in range(40):
        if frame.f_back is None:
            break
        frame = frame.f_back
        names: Mapping[str, Any] = frame.f_locals
        body = names.get("test_body")
        typed = getattr(body, "connection_id", None)
        if names.get("transient_conn_id") == conn_id and isinstance(typed, str) and typed:
            return typed
    return conn_id
