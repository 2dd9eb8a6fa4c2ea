"""Session configuration helpers: base URL, timeouts, TLS verification."""

from __future__ import annotations

import enum
import logging
import os
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# httpx2 imports its transport layer (httpcore2) when the first client is built: ~40 ms, several times that
# inside a staging task, where the SSH handshake and the lineage lookup compete for the interpreter. Imported
# with the client instead, the task's setup before the first byte does not pay it.
import httpcore2  # noqa: F401
import httpx2

from irods_provider.exceptions import IrodsConfigurationError, IrodsUsageError

__all__ = [
    "DEFAULT_POOL_LIMITS",
    "DEFAULT_TIMEOUT",
    "USE_DEFAULT",
    "OutcomeWait",
    "TimeoutTypes",
    "Timeouts",
    "UseDefault",
    "build_base_url",
    "client_options",
    "load_ca_bundle",
    "shared_ssl_context",
]

logger = logging.getLogger("irods_provider.client")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed to connect, to read a reply, to send a body, and to wait for a pooled connection.

    ``None`` disables one limit. ``read`` bounds each wait for reply bytes and also the whole body of a
    bounded reply once its headers arrived, ``read`` seconds per started 8 MiB (a JSON reply, a read with a
    ``count``, a transfer's chunk; not a whole object read without one), so a server trickling its reply
    cannot hold a request forever. Reads and writes of large bodies need ``read``/``write``
    above the server's 30 s request deadline only when the network is slow.

    Example:

    ```python
    from irods_provider.client import BasicAuth, IrodsSession, Timeouts

    timeout = Timeouts(connect=5.0, read=300.0)  # slow checksums of large objects
    base_url = "https://irods.example.org/irods-http-api/0.7.0"
    with IrodsSession(base_url, auth=BasicAuth("alice", "secret"), timeout=timeout) as session:
        print(session.data_objects.calculate_checksum("/tempZone/home/alice/big.tar"))
    ```
    """

    connect: float | None = 10.0
    read: float | None = 60.0
    write: float | None = 60.0
    pool: float | None = 30.0

    def to_httpx(self) -> httpx2.Timeout:
        """The equivalent httpx2.Timeout."""
        return httpx2.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeWait:
    """How long a checksum, copy or replication whose reply was lost is waited for in the catalog.

    The iRODS HTTP API cuts every request off at its whole-request deadline (``requests.timeout_in_seconds``,
    30 s by default), closing the connection without a reply while the server finishes the work. The client
    then reads the outcome from the catalog instead of resending (a resend restarts a forced checksum, and
    fails a copy whose first try made its target), and waits for it at most ``max(min_seconds, size /
    bytes_per_second)`` from when the reply was lost: ``bytes_per_second`` is a conservative rate of a busy
    server's storage (hashing or copying), ``size`` the object's. Then :class:`IrodsOutcomeUnknownError`.
    Polls start at ``first_poll`` seconds apart and double up to ``max_poll``. A tree's removal is waited for
    while it shrinks: ``min_seconds`` without progress end the wait.

    Example:

    ```python
    from irods_provider.client import BasicAuth, IrodsSession, OutcomeWait

    wait = OutcomeWait(min_seconds=600, bytes_per_second=20 * 1024 * 1024)  # tape-backed resources
    base_url = "https://irods.example.org/irods-http-api/0.7.0"
    with IrodsSession(base_url, auth=BasicAuth("alice", "secret"), outcome_wait=wait) as session:
        print(session.data_objects.calculate_checksum("/tempZone/home/alice/big.tar", force=True))
    ```
    """

    min_seconds: float = 120.0
    bytes_per_second: float = 10 * 1024 * 1024
    first_poll: float = 0.1
    max_poll: float = 5.0
    server_deadline: float = 30.0
    """The server's whole-request deadline (``requests.timeout_in_seconds``; set it when a site changed it):
    a verification whose reply is lost after this long was cut off by it, and is not sent again."""

    def seconds_for(self, size: int) -> float:
        """The wait allowed for work on ``size`` bytes."""
        return max(self.min_seconds, size / self.bytes_per_second)


TimeoutTypes = Timeouts | float | httpx2.Timeout | None
DEFAULT_TIMEOUT = Timeouts()
#: httpx's pool (100 connections) keeping 64 alive instead of 20: the transfer engine runs up to 64 small
#: files at once, and a connection closed after each request costs a TCP (and TLS) handshake per request.
DEFAULT_POOL_LIMITS = httpx2.Limits(max_connections=100, max_keepalive_connections=64)
API_VERSION = "0.7.0"


class UseDefault(enum.Enum):
    """Sentinel type: "use the session's setting" (``None`` already means "no timeout")."""

    USE_DEFAULT = "USE_DEFAULT"


USE_DEFAULT = UseDefault.USE_DEFAULT


def build_base_url(
    *,
    host: str,
    port: int | None = None,
    scheme: str = "https",
    path_prefix: str = "",
    version: str = API_VERSION,
) -> str:
    """``scheme://host:port[/prefix]/irods-http-api/<version>`` (no trailing slash)."""
    if scheme not in ("http", "https"):
        raise IrodsConfigurationError(f"unsupported URL scheme {scheme!r} (expected http or https)")
    if not host or "/" in host:
        raise IrodsConfigurationError(f"invalid host {host!r}")
    netloc = f"[{host}]" if ":" in host and not host.startswith("[") else host
    if port is not None:
        netloc = f"{netloc}:{int(port)}"
    prefix = "/".join(part for part in path_prefix.split("/") if part)
    prefix = f"/{prefix}" if prefix else ""
    return f"{scheme}://{netloc}{prefix}/irods-http-api/{version}"


def to_timeout(timeout: TimeoutTypes) -> httpx2.Timeout:
    """Normalise Timeouts, a number, None or httpx2.Timeout into an httpx2.Timeout."""
    if isinstance(timeout, Timeouts):
        return timeout.to_httpx()
    return timeout if isinstance(timeout, httpx2.Timeout) else httpx2.Timeout(timeout)


# Replies are never compressed: a small gzip body can inflate to gigabytes before any size check.
NO_COMPRESSION = {"Accept-Encoding": "identity"}


def load_ca_bundle(path: str) -> ssl.SSLContext:
    """A verifying SSL context trusting the default store plus the CA certificates in ``path`` (PEM).

    The bundle adds a CA (an internal one for the iRODS HTTP API, say); it does not replace the system's
    trust, so an OpenID provider with a publicly trusted certificate is still verified with the same setting.
    A missing, unreadable or non-PEM file is one IrodsConfigurationError with one wording (whatever the
    auth mode, and without telling which: the message does not reveal whether a path exists).
    """
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # the bundle alone: does it hold any certificate?
    try:
        probe.load_verify_locations(cafile=path)
        readable = probe.cert_store_stats()["x509"] > 0
    except (OSError, ssl.SSLError, ValueError):
        readable = False
    if not readable:
        raise IrodsConfigurationError(
            f"cannot load CA bundle {path!r}: not a readable PEM file of CA certificates (ca_bundle)"
        )
    context = httpx2.create_ssl_context(True)  # the default store (SSL_CERT_FILE/SSL_CERT_DIR honoured)
    context.load_verify_locations(cafile=path)
    return context


_SHARED: dict[tuple[object, ...], ssl.SSLContext] = {}
_SHARED_GUARD = threading.Lock()


def _file_identity(path: str | None) -> tuple[int, int, int] | None:
    """What tells a replaced file from the one loaded (inode, size, mtime); None when it cannot be read."""
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _trust_key(verify: bool | str) -> tuple[object, ...]:
    """The cache key of a trust source: the CA bundle path or the default store (its environment
    overrides and compiled-in file), each with the identity of the file, so a replaced bundle is loaded
    anew."""
    cafile = os.environ.get("SSL_CERT_FILE")
    capath = os.environ.get("SSL_CERT_DIR")
    default = ssl.get_default_verify_paths().openssl_cafile
    store = (cafile, capath, _file_identity(cafile or default))
    if isinstance(verify, str):  # a bundle adds to the default store: both identify it
        return ("bundle", verify, _file_identity(verify), *store)
    return ("default", *store)


def shared_ssl_context(verify: bool | str = True) -> ssl.SSLContext:
    """One verifying SSL context per trust source (``True``: the default store; a path: the default store
    plus that CA bundle) for the whole process, shared by every client (loading a CA store costs 25-50 ms
    per client).

    Nothing here weakens verification: the context is httpx2's own default (or :func:`load_ca_bundle`'s)
    and nobody changes its trust settings after it is made. A bundle replaced on disk is loaded anew.
    """
    if verify is False:
        raise IrodsUsageError("shared_ssl_context is for verifying contexts only")
    key = _trust_key(verify)
    with _SHARED_GUARD:
        context = _SHARED.get(key)
        if context is None:
            context = load_ca_bundle(verify) if isinstance(verify, str) else httpx2.create_ssl_context(True)
            for stale in [k for k in _SHARED if k[:2] == key[:2]]:  # the same source, replaced since
                del _SHARED[stale]
            _SHARED[key] = context
    return context


def client_options(
    *, timeout: TimeoutTypes, verify: bool | str | ssl.SSLContext, url: str | None = None
) -> dict[str, Any]:
    """Keyword arguments shared by the sync and async httpx2 clients (one shared verifying context).

    A client that only ever requests the plain ``http://`` ``url`` (no redirects are followed) makes no TLS
    handshake: it gets a verifying context that trusts no CA instead of loading the CA store for nothing.
    """
    if verify is False:
        logger.warning("TLS certificate verification is DISABLED for the iRODS HTTP API session")
        verify_arg: bool | ssl.SSLContext = False
    elif isinstance(verify, ssl.SSLContext):
        verify_arg = verify
    elif url is not None and urlsplit(url).scheme == "http":
        verify_arg = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # certificate and host name required; no CA
    else:
        verify_arg = shared_ssl_context(verify)
    return {
        "timeout": to_timeout(timeout),
        "verify": verify_arg,
        "follow_redirects": False,
        "headers": dict(NO_COMPRESSION),
    }
