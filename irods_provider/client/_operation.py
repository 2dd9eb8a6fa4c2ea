"""An operation = a pure request description + a pure decoder; both sessions send them the same way."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx2

from irods_provider.client._errors import (
    error_for_data,
    irods_status,
    json_object,
    not_irods_json,
    retry_after_seconds,
)
from irods_provider.client._replies import ReplyShapeError
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsConfigurationError,
    IrodsError,
    IrodsProtocolError,
    IrodsServerBusyError,
)

__all__ = [
    "Body",
    "HeldBody",
    "Operation",
    "Reply",
    "decode_reply",
    "endpoint_url",
    "request_arguments",
    "token_problem",
]

T = TypeVar("T")


class Body(enum.Enum):
    """How a reply body is handed to the decoder."""

    JSON = "json"
    BYTES = "bytes"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class Reply:
    """The parts of an HTTP reply a decoder may look at."""

    status: int
    headers: Mapping[str, str]
    content: bytes


@dataclass(frozen=True, slots=True)
class Operation(Generic[T]):
    """One HTTP exchange with the iRODS HTTP API, described without doing any I/O.

    ``fields`` go to the query string for GET and to a multipart/form-data body for POST (multipart
    because the server turns ``+`` into a space in urlencoded bodies). ``content`` is a raw body
    (header-form write) sent with ``headers``; ``hold`` holds back the end of a multipart body (a
    pipelined parallel write, see :class:`~irods_provider.client.transfer.ParallelWriter`). ``idempotent``
    decides what the retry policy may repeat; iRODS codes in ``accept_codes`` reach the decoder instead of
    raising.
    """

    name: str
    method: str
    endpoint: str
    decode: Callable[[Any], T]
    fields: tuple[tuple[str, str | bytes], ...] = ()
    path: str | None = None
    destination: str | None = None
    """A copy's or rename's target: the path an "already exists" error names (others name ``path``)."""
    idempotent: bool = True
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # may hold Basic credentials
    content: bytes | None = field(default=None, repr=False)  # up to the server's body limit
    hold: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    """Called before the last bytes of a multipart body are sent (sync sessions only): the server reads a
    form's whole body before it acts, so nothing the request does happens before ``hold`` returns."""
    body: Body = Body.JSON
    authenticated: bool = True
    accept_codes: frozenset[int] = frozenset()
    resend_lost_reply: bool = True
    """False: a lost reply (:func:`~irods_provider.client._retry.reply_lost`) is not resent even when the
    operation is idempotent; the caller reads its outcome back (server-side work that may outlast the
    server's whole-request deadline, which a resend would restart)."""
    max_reply_bytes: int | None = None  # bound of a 200 body (None: the session's ReplyLimits decide)
    enveloped: bool = True
    """A JSON reply carries ``irods_response.status_code``: every endpoint's but ``/info``'s (each JSON body
    the HTTP API builds, 0.4.0 to 0.7.0, starts with it), so a 200 without it is no success."""


@functools.lru_cache(maxsize=256)
def endpoint_url(base_url: str, endpoint: str) -> httpx2.URL:
    """An endpoint's URL, parsed once per base URL: httpx parses a URL given as text for every request (pure
    Python, about 40 us of a small POST's 90 us to build), a parsed one is only copied."""
    return httpx2.URL(f"{base_url}/{endpoint}")


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot travel as a bearer token in an HTTP header, without quoting it; None if it can.

    HTTP libraries put a refused header value in their error text, so a token is checked before it is sent.
    """
    if token and token.isascii() and token.isprintable() and " " not in token:
        return None
    if not token:
        return "it is empty"
    position, char = next((i, c) for i, c in enumerate(token, 1) if not ("!" <= c <= "~"))
    what = f"the character U+{ord(char):04X}" if char.isascii() else "a non-ASCII character"
    return f"it holds {what} at position {position} of {len(token)} (HTTP headers allow visible ASCII only)"


def request_arguments(op: Operation[Any], *, base_url: str, token: str | None) -> dict[str, Any]:
    """Keyword arguments for ``httpx2.Client.request``/``build_request`` that send ``op``."""
    headers = dict(op.headers)
    if token is not None and op.authenticated:
        problem = token_problem(token)
        if problem is not None:
            raise IrodsConfigurationError(
                f"the bearer token cannot be sent: {problem}", operation=op.name, path=op.path
            )
        headers["Authorization"] = f"Bearer {token}"
    args: dict[str, Any] = {
        "method": op.method,
        "url": endpoint_url(base_url, op.endpoint),
        "headers": headers,
    }
    if op.content is not None:
        args["content"] = op.content
    elif op.method == "GET":
        if op.fields:
            args["params"] = op.fields
    elif op.fields:
        args["files"] = [(key, (None, value)) for key, value in op.fields]
    return args


class HeldBody(httpx2.SyncByteStream):
    """A request body whose last piece waits for ``hold()``; what ``hold`` raises aborts the request (its
    connection is closed, so the server never sees a whole body)."""

    def __init__(self, body: httpx2.SyncByteStream, hold: Callable[[], None]) -> None:
        self._body = body
        self._hold = hold

    def __iter__(self) -> Iterator[bytes]:
        pending: bytes | None = None
        for piece in self._body:
            if pending:
                yield pending
            pending = piece
        self._hold()
        if pending:
            yield pending


def html_instead_of_bytes(op: Operation[Any], headers: Mapping[str, str]) -> IrodsProtocolError | None:
    """The error for a 200 data reply that is an HTML page (a sign-on proxy's or a captive portal's), else
    None. The API sends a read's bytes as ``application/json`` (a ranged read) or ``application/octet-stream``
    (data_objects/src/main.cpp:324 at 0.7.0), and no endpoint of 0.4.0 to 0.7.0 answers ``text/html``."""
    media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if op.body is not Body.BYTES or media != "text/html":
        return None
    return IrodsProtocolError(
        "HTTP 200 reply is an HTML page, not the data object's bytes (a proxy or sign-on page in front of "
        "the iRODS HTTP API?)",
        operation=op.name,
        path=op.path,
    )


def decode_reply(op: Operation[T], reply: Reply) -> T:
    """Turn a reply into the operation's result, or raise the typed error it stands for."""
    if reply.status == 200 and (html := html_instead_of_bytes(op, reply.headers)) is not None:
        raise html
    if reply.status == 200 and op.body is not Body.JSON:
        # Raw bodies (data-object bytes, tokens) are never inspected for an iRODS envelope.
        raw = reply.content if op.body is Body.BYTES else reply.content.decode("utf-8", "replace")
        return _decoded(op, raw)
    data = json_object(reply.content)  # decoded once, for the error check and the result alike
    if (
        op.accept_codes
        and reply.status == 200
        and data is not None
        and irods_status(data)[0] in op.accept_codes
    ):
        return _decoded(op, data)
    error = error_for_data(status=reply.status, data=data, operation=op.name, path=op.path)
    if error is not None:
        if op.destination is not None and isinstance(error, IrodsAlreadyExistsError):
            error.path = op.destination
        if isinstance(error, IrodsServerBusyError):
            error.retry_after = retry_after_seconds(reply.headers.get("retry-after"))
        raise error
    if data is None:
        raise not_irods_json(reply.content, operation=op.name, path=op.path)
    if op.enveloped and irods_status(data)[0] is None:
        # A proxy's or impostor's {"status": "ok"} would otherwise pass for a done remove, rename or write.
        raise IrodsProtocolError(
            "HTTP 200 reply without irods_response.status_code: not what an iRODS HTTP API sends",
            operation=op.name,
            path=op.path,
        )
    return _decoded(op, data)


#: What a decoder raises on a reply field of a type the API never sends there (``int(None)``, ``x.get`` on a
#: string, a missing key, ``int(1e400)``): the reply, not the caller, is wrong.
_SHAPE_ERRORS = (TypeError, ValueError, KeyError, AttributeError, OverflowError, IndexError, RecursionError)


def _decoded(op: Operation[T], value: Any) -> T:
    """``op.decode(value)``; a reply it cannot read is an IrodsProtocolError naming the operation and path."""
    try:
        return op.decode(value)
    except IrodsError:
        raise
    except _SHAPE_ERRORS as exc:
        # Only our own field checks are quoted: other messages may quote a value (a ticket, a token).
        detail = str(exc) if isinstance(exc, ReplyShapeError) else type(exc).__name__
        raise IrodsProtocolError(
            f"the reply is not what an iRODS HTTP API sends ({detail})", operation=op.name, path=op.path
        ) from exc
