"""The one boundary where httpx2 exceptions and HTTP replies become this package's exceptions."""

from __future__ import annotations

import contextlib
import email.utils
import json
import math
import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx2

from irods_provider.exceptions import (
    IrodsConfigurationError,
    IrodsConnectionError,
    IrodsError,
    IrodsProtocolError,
    IrodsResponseError,
    IrodsTimeoutError,
    response_error_class,
)

__all__ = [
    "HTTPX_ERROR_MAP",
    "error_for_data",
    "error_for_reply",
    "irods_status",
    "json_object",
    "map_httpx_errors",
    "not_irods_json",
    "retry_after_seconds",
    "tls_failure",
]

# Most specific first: the first isinstance match wins.
HTTPX_ERROR_MAP: tuple[tuple[type[BaseException], type[IrodsError], str], ...] = (
    (httpx2.ConnectTimeout, IrodsTimeoutError, "connect timeout"),
    (httpx2.ReadTimeout, IrodsTimeoutError, "read timeout"),
    (httpx2.WriteTimeout, IrodsTimeoutError, "write timeout"),
    (httpx2.PoolTimeout, IrodsTimeoutError, "timed out waiting for a pooled connection"),
    (httpx2.TimeoutException, IrodsTimeoutError, "timeout"),
    (httpx2.ConnectError, IrodsConnectionError, "cannot connect"),
    (httpx2.ReadError, IrodsConnectionError, "connection failed while reading"),
    (httpx2.WriteError, IrodsConnectionError, "connection failed while writing"),
    (httpx2.CloseError, IrodsConnectionError, "connection failed while closing"),
    (httpx2.NetworkError, IrodsConnectionError, "network error"),
    (httpx2.RemoteProtocolError, IrodsConnectionError, "server closed or broke the connection"),
    (httpx2.LocalProtocolError, IrodsProtocolError, "client-side HTTP protocol error"),
    (httpx2.ProtocolError, IrodsProtocolError, "HTTP protocol error"),
    (httpx2.ProxyError, IrodsConnectionError, "proxy error"),
    (httpx2.UnsupportedProtocol, IrodsConfigurationError, "unsupported URL scheme"),
    (httpx2.SSEError, IrodsProtocolError, "server-sent events error"),
    (httpx2.TransportError, IrodsConnectionError, "transport error"),
    (httpx2.DecodingError, IrodsProtocolError, "cannot decode the response body"),
    (httpx2.TooManyRedirects, IrodsProtocolError, "too many redirects"),
    (httpx2.RequestError, IrodsConnectionError, "request failed"),
    (httpx2.HTTPStatusError, IrodsResponseError, "unexpected HTTP status"),
    (httpx2.HTTPError, IrodsConnectionError, "HTTP error"),
    (httpx2.InvalidURL, IrodsConfigurationError, "invalid URL"),
    (httpx2.CookieConflict, IrodsProtocolError, "cookie conflict"),
    (httpx2.StreamConsumed, IrodsProtocolError, "response stream already consumed"),
    (httpx2.StreamClosed, IrodsProtocolError, "response stream already closed"),
    (httpx2.ResponseNotRead, IrodsProtocolError, "response body not read"),
    (httpx2.RequestNotRead, IrodsProtocolError, "request body not read"),
    (httpx2.StreamError, IrodsProtocolError, "response stream misused"),
)


@contextlib.contextmanager
def map_httpx_errors(*, operation: str, path: str | None) -> Iterator[None]:
    """Re-raise any httpx2 exception as the most specific IrodsError, chained with ``from``."""
    try:
        yield
    except IrodsError:
        raise
    except UnicodeEncodeError as exc:  # a header value HTTP cannot carry (its text quotes the value)
        raise IrodsConfigurationError(
            f"a request header holds a character HTTP cannot carry ({HIDDEN_HEADER})",
            operation=operation,
            path=path,
        ) from exc
    except Exception as exc:
        for source, target, what in HTTPX_ERROR_MAP:
            if isinstance(exc, source):
                raise target(f"{what}: {_detail(exc)}", operation=operation, path=path) from exc
        raise


HIDDEN_HEADER = "the value is not shown: it may hold a credential"


def _detail(exc: Exception) -> str:
    """An httpx2 error's text, unless it may quote a request header (h11 and h2 put a refused header's
    value, e.g. ``Bearer <token>``, in their messages)."""
    if isinstance(exc, httpx2.LocalProtocolError) and "header" in str(exc).lower():
        return f"a request header name or value HTTP does not allow ({HIDDEN_HEADER})"
    return str(exc)


# TLS errors that say the connection broke (worth another try), unlike verification or handshake refusals.
_TRANSIENT_SSL_ERRORS = (
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
    ssl.SSLSyscallError,
    ssl.SSLWantReadError,
    ssl.SSLWantWriteError,
)


def tls_failure(error: BaseException) -> ssl.SSLError | None:
    """The TLS verification or handshake refusal behind ``error`` (httpx2 chains it as cause/context).

    Such failures (untrusted or expired certificate, wrong host name, TLS spoken to a plain HTTP port)
    repeat identically on every attempt, so they are never retried.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError) and not isinstance(current, _TRANSIENT_SSL_ERRORS):
            return current
        current = current.__cause__ or current.__context__
    return None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (which value counts differs between parsers)."""
    data = dict(pairs)
    if len(data) != len(pairs):
        raise ValueError("a key is duplicated")
    return data


def _not_json_constant(name: str) -> Any:
    """Refuse ``NaN``/``Infinity``: Python's extensions, not JSON (RFC 8259), never sent by the server."""
    raise ValueError(f"{name} is not JSON")


def json_object(content: bytes) -> dict[str, Any] | None:
    """The reply body as a JSON object, or None when it is empty, not JSON (``NaN``, a duplicated key), or
    not an object (or nested too deep to decode: the iRODS HTTP API never nests more than a few levels)."""
    try:
        data = json.loads(content, object_pairs_hook=_unique_keys, parse_constant=_not_json_constant)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def not_irods_json(content: bytes, *, operation: str, path: str | None) -> IrodsProtocolError:
    """The error for a 200 reply that is not the JSON an iRODS HTTP API sends."""
    snippet = content[:80].decode("utf-8", "replace")
    return IrodsProtocolError(
        f"HTTP 200 reply is not the JSON an iRODS HTTP API 0.7 sends "
        f"(not an iRODS HTTP API, or the wrong version?): {snippet!r}",
        operation=operation,
        path=path,
    )


def irods_status(data: dict[str, Any]) -> tuple[int | None, str | None]:
    """The ``irods_response`` status code and message of a decoded reply (None when absent)."""
    envelope = data.get("irods_response")
    if not isinstance(envelope, dict):
        return None, None
    code = envelope.get("status_code")
    message = envelope.get("status_message")
    failed = envelope.get("failed_operation")
    if isinstance(failed, dict) and failed.get("error_message") and not message:
        message = f"operation {failed.get('operation_index')}: {failed['error_message']}"
    if isinstance(code, bool) or not isinstance(code, int | None):
        code = BAD_STATUS_CODE  # a status the API never sends (it sends an integer): not a success
    return code, (message if isinstance(message, str) else None)


#: What :func:`irods_status` reports for a ``status_code`` that is not a JSON integer (``"-170000"``,
#: ``-170000.0``, ``true``): no iRODS code, and never read as success.
BAD_STATUS_CODE = -(2**63)


def error_for_reply(
    *, status: int, content: bytes, operation: str, path: str | None
) -> IrodsResponseError | IrodsProtocolError | None:
    """The error a reply stands for, or None when it is a success (HTTP 200 and status_code 0)."""
    return error_for_data(status=status, data=json_object(content), operation=operation, path=path)


def error_for_data(
    *, status: int, data: dict[str, Any] | None, operation: str, path: str | None
) -> IrodsResponseError | IrodsProtocolError | None:
    """:func:`error_for_reply` for a body already decoded with :func:`json_object`."""
    code, message = irods_status(data) if data is not None else (None, None)
    if code == BAD_STATUS_CODE:
        return IrodsProtocolError(
            f"HTTP {status} reply whose irods_response.status_code is not an integer: not what an iRODS "
            "HTTP API sends",
            operation=operation,
            path=path,
        )
    if status == 200:
        if data is None:
            return None  # caller decides whether a non-JSON 200 is acceptable
        if code is None or code >= 0:
            return None
    elif status == 404 and operation not in _OPS_WITH_MEANINGFUL_404:
        return IrodsProtocolError(
            "HTTP 404 from the API base path: not an iRODS HTTP API, or the wrong version in the base URL",
            operation=operation,
            path=path,
        )
    cls = response_error_class(http_status=status, irods_code=code)
    summary = f"iRODS HTTP API refused {operation}" if status < 500 else f"iRODS HTTP API failed {operation}"
    return cls(
        summary,
        http_status=status,
        irods_code=code,
        operation=operation,
        path=path,
        server_message=message,
    )


# Operations where the server answers 404 for "no readable data object" (empty body).
_OPS_WITH_MEANINGFUL_404 = frozenset({"data_objects.read"})


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delay-seconds or an HTTP date); None when absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        return None
    seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None
