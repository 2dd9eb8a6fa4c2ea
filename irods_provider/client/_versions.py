"""What differs between iRODS HTTP API releases, as one table consulted where requests are built and sent.

Each :class:`ApiVersion` row holds the facts a client needs about one release (read from
irods/irods_client_http_api at the tag; ``data_objects`` = ``endpoints/data_objects/src/main.cpp``; see
``irods-http-api-versions.md`` section 2). Code asks the row (``api.header_form_writes``,
``api.check(op)``), never compares version strings. A server newer than the newest known release is
driven with the newest known behaviour after one warning; one older than the oldest with the oldest.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from irods_provider._error_codes import error_code
from irods_provider.client._operation import Operation, Reply
from irods_provider.exceptions import IrodsConfigurationError, IrodsResponseError, IrodsUsageError

__all__ = [
    "KNOWN_VERSIONS",
    "NEWEST_KNOWN",
    "OPENID_CLIENT_MODE_LOGIN",
    "ApiVersion",
    "LoginScheme",
    "OpenFailureShape",
    "api_version_facts",
    "version_from_url",
]

logger = logging.getLogger("irods_provider.client")
T = TypeVar("T")

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")
_URL_VERSION = re.compile(r"/(\d+\.\d+\.\d+)/*$")
_HEADER_PREFIX = "irods-api-request-"
#: Bytes of a multipart write body that are not data: boundaries, part headers, lpath and the other
#: fields (an iRODS path is at most 1088 bytes), with a wide margin.
MULTIPART_FRAMING_RESERVE = 8 * 1024
_INVALID_HANDLE = error_code("INVALID_HANDLE")


#: The ``Authorization`` scheme of a login: HTTP Basic, or ``iRODS`` (OpenID client mode, 0.4.0/0.5.0).
LoginScheme = Literal["Basic", "iRODS"]
#: The operation name of an OpenID client-mode login (``POST /authenticate`` with ``Authorization: iRODS``).
OPENID_CLIENT_MODE_LOGIN = "authenticate.openid_client_mode"


@dataclass(frozen=True, slots=True)
class OpenFailureShape:
    """How a release reports that ``operation`` could not open its object, when it differs from 0.7.0.

    A reply with ``http_status`` and an empty body is read as 0.7.0's answer for the same condition:
    ``canonical_status`` with ``canonical_code`` in the envelope (None: no envelope, e.g. read's 400).
    """

    operation: str
    http_status: int
    canonical_status: int
    canonical_code: int | None
    #: The old status also stands for passing failures (0.5.0 answers a read 500 when its iRODS connection
    #: fails, as 0.7.0 does): the rewritten error keeps it as ``sent_status``, so it is retried as sent.
    retried: bool = False
    #: A parameter whose presence makes the shape not retried after all (a write through a parallel-write
    #: handle: a stream that went bad stays bad, so resending cannot help).
    final_with: str | None = None


@dataclass(frozen=True, slots=True)
class ApiVersion:
    """The behaviour of one iRODS HTTP API release that a client must adapt to.

    ``version`` is what the server reported (or the URL named); ``behaves_as`` the known release whose
    facts are used (they differ only for unknown releases).
    """

    behaves_as: str
    #: ``irods-api-request-op: write`` header-form writes (core/src/session.cpp:131-133 since 0.6.0);
    #: before, such a request is refused with 400, so writes go as multipart ``op=write``.
    header_form_writes: bool
    #: parallel_write_init opens stream-count + 1 streams (data_objects:1089 at 0.5.0, :1413 at 0.6.0,
    #: bug #489). The client asks for the N it uses, sends stream indexes 0..N-1 only and still shuts
    #: the handle down; 0.7.0 opens exactly N.
    parallel_write_extra_stream: bool
    #: ``/info`` key of the per-handle stream cap (information/src/main.cpp; renamed in 0.7.0, where the
    #: old name became the server-wide cap).
    info_streams_per_handle_key: str
    #: ``modify_replica`` expiry property (renamed ``new-data-expiry-time`` in 0.7.0, #494).
    modify_replica_expiry_param: str
    #: Operations this release does not have (it answers 400 "Operation not supported").
    missing_operations: frozenset[str]
    #: (operation, parameter) pairs this release accepts and silently ignores: refused before sending.
    ignored_parameters: frozenset[tuple[str, str]]
    #: Failed opens reported differently from 0.7.0 (0.5.0: HTTP 500 with an empty body).
    open_failures: tuple[OpenFailureShape, ...] = ()
    #: OpenID client mode (``Authorization: iRODS`` logins): 0.1.0 to 0.5.0; removed in 0.6.0 (#416, 7b37b7f),
    #: where such a login gets a bare 400 (endpoints/authentication/src/main.cpp:260 at 0.6.0).
    openid_client_mode: bool = False
    #: A ``parallel_write_init`` whose stream cannot open (no permission, no collection, a collection, the
    #: object locked by another open) crashes 0.4.0 and 0.5.0 (#402, fixed in 0.6.0 by d3f53ca: the stream
    #: constructor frees its transport and throws, and the unwinding odstream's close() uses the freed
    #: pointer, data_objects:117-120 at 0.5.0), taking every token and handle of the process with it. The
    #: client opens the object the same way with an empty ``write`` first, whose open failure is a plain
    #: 500 (:911-915), and sends the init only after that succeeded.
    init_open_failure_crashes: bool = False
    version: str = ""
    known: bool = True
    _failures: Mapping[str, OpenFailureShape] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "version", self.version or self.behaves_as)
        object.__setattr__(self, "_failures", {shape.operation: shape for shape in self.open_failures})

    def check(self, op: Operation[Any]) -> None:
        """Raise IrodsUsageError, before anything is sent, if this release would refuse or ignore ``op``."""
        if op.name == OPENID_CLIENT_MODE_LOGIN and not self.openid_client_mode:
            raise IrodsConfigurationError(
                f"iRODS HTTP API {self.version} has no OpenID client mode (auth_mode openid_client_mode): "
                "0.6.0 removed it (irods/irods_client_http_api#416), so the server would answer a bare 400. "
                "Get a token from the OpenID provider yourself (auth_mode openid_password, "
                "openid_client_credentials or openid_refresh_token); nothing was sent",
                operation=op.name,
            )
        if op.name in self.missing_operations:
            raise IrodsUsageError(
                f"iRODS HTTP API {self.version} has no {op.name.split('.')[-1]} operation "
                f"(added in 0.6.0); nothing was sent",
                operation=op.name,
                path=op.path,
            )
        for parameter in _parameters(op):
            if (op.name, parameter) in self.ignored_parameters:
                raise IrodsUsageError(
                    f"iRODS HTTP API {self.version} silently ignores {parameter!r} on {op.name} "
                    f"(honoured from 0.6.0 on); nothing was sent",
                    operation=op.name,
                    path=op.path,
                )

    def honours(self, operation: str, parameter: str) -> bool:
        """Whether this release acts on ``parameter`` of ``operation`` (False: it would silently ignore it,
        so :meth:`check` refuses a request that carries it)."""
        return (operation, parameter) not in self.ignored_parameters

    def decode_canonical(self, op: Operation[Any], reply: Reply, decode: Callable[[Reply], T]) -> T:
        """``decode`` of :meth:`canonical_reply`; its error keeps the status sent if the shape is retried."""
        canonical = self.canonical_reply(op, reply)
        try:
            return decode(canonical)
        except IrodsResponseError as error:
            shape = self._failures.get(op.name)
            if canonical is not reply and shape is not None and shape.retried and not _final(shape, op):
                error.sent_status = reply.status
            raise

    def canonical_reply(self, op: Operation[Any], reply: Reply) -> Reply:
        """``reply`` rewritten to 0.7.0's shape when it is this release's way of saying "cannot open"."""
        shape = self._failures.get(op.name)
        if shape is None or reply.status != shape.http_status or reply.content.strip():
            return reply
        content = b""
        if shape.canonical_code is not None:
            message = (
                f"iRODS HTTP API {self.version} answered HTTP {reply.status} with an empty body, "
                "its way of reporting that the data object could not be opened"
            )
            envelope = {"status_code": shape.canonical_code, "status_message": message}
            content = json.dumps({"irods_response": envelope}).encode()
        return Reply(status=shape.canonical_status, headers=reply.headers, content=content)

    def write_payload_limit(self, body_limit: int) -> int:
        """The most data bytes one write may carry under a request body limit of ``body_limit``.

        A body over the limit gets no response at all (the server just closes the connection), so
        multipart writes leave room for their framing; header-form writes carry only the data.
        """
        if self.header_form_writes:
            return body_limit
        return max(1, body_limit - MULTIPART_FRAMING_RESERVE)

    def stream_indexes(self, stream_count: int) -> range:
        """The stream indexes to use on a handle opened with ``stream_count`` (never the extra one)."""
        return range(stream_count)

    def modify_replica_fields(self, *, expiry: str | None = None) -> tuple[tuple[str, str], ...]:
        """The ``modify_replica`` form field for a new expiry time, under this release's name."""
        return () if expiry is None else ((self.modify_replica_expiry_param, expiry),)


def _final(shape: OpenFailureShape, op: Operation[Any]) -> bool:
    return shape.final_with is not None and shape.final_with in set(_parameters(op))


def _parameters(op: Operation[Any]) -> Iterable[str]:
    for key, _ in op.fields:
        yield key
    for key, _ in op.headers:
        lowered = key.lower()
        if lowered.startswith(_HEADER_PREFIX):
            yield lowered.removeprefix(_HEADER_PREFIX)


_TARGETING = frozenset(
    {
        ("data_objects.read", "resource"),
        ("data_objects.read", "replica-number"),
        ("data_objects.write", "replica-number"),
        ("data_objects.parallel_write_init", "resource"),
        ("data_objects.parallel_write_init", "replica-number"),
        ("data_objects.replicate", "src-replica-number"),
        ("data_objects.modify_replica", "new-data-access-time"),
    }
)

_V070 = ApiVersion(
    behaves_as="0.7.0",
    header_form_writes=True,
    parallel_write_extra_stream=False,
    info_streams_per_handle_key="max_number_of_streams_per_parallel_write_handle",
    modify_replica_expiry_param="new-data-expiry-time",
    missing_operations=frozenset(),
    ignored_parameters=frozenset(),
)
_V060 = ApiVersion(
    behaves_as="0.6.0",
    header_form_writes=True,
    parallel_write_extra_stream=True,
    info_streams_per_handle_key="max_number_of_parallel_write_streams",
    modify_replica_expiry_param="new-data-expiry",
    missing_operations=frozenset(),
    ignored_parameters=frozenset(),
)
_V050 = ApiVersion(
    behaves_as="0.5.0",
    header_form_writes=False,
    parallel_write_extra_stream=True,
    info_streams_per_handle_key="max_number_of_parallel_write_streams",
    modify_replica_expiry_param="new-data-expiry",
    missing_operations=frozenset({"data_objects.truncate"}),
    ignored_parameters=_TARGETING,
    # data_objects:911-915 (write) and :1093-1100 (parallel_write_init) at 0.5.0: HTTP 500, empty body,
    # where 0.6.0 answers 200 + INVALID_HANDLE; read (:712-716) 500 where 0.6.0+ answers 400.
    # A plain write's empty 500 also stands for a write that failed part-way (:405-411, 438-446): the
    # stream is closed all the same (its destructor), so the same bytes at the same offset are resent.
    # Through a handle it means a stream gone bad for good (:911-915 checks it before the bytes): final.
    open_failures=(
        OpenFailureShape(
            "data_objects.write", 500, 200, _INVALID_HANDLE, retried=True, final_with="parallel-write-handle"
        ),
        OpenFailureShape("data_objects.parallel_write_init", 500, 200, _INVALID_HANDLE),
        OpenFailureShape("data_objects.read", 500, 400, None, retried=True),
    ),
    openid_client_mode=True,
    init_open_failure_crashes=True,
)

#: 0.4.0 (tag 0.4.0, 0e0fd03): every endpoint a client calls is byte-identical to 0.5.0's (``git diff
#: 0.4.0 0.5.0 -- endpoints`` touches only endpoints/authentication, i.e. the OpenID client mode), so the
#: row is 0.5.0's; the line numbers above hold at 0.4.0. The only other visible change is that 0.4.0's
#: protected-resource mode validates OpenID access tokens at the provider's introspection endpoint only
#: (core/src/common.cpp:417-437 at 0.4.0), which the client does not see.
_V040 = replace(_V050, behaves_as="0.4.0", version="0.4.0")

#: Known releases, newest first (the order ``auto`` discovery probes them in).
KNOWN: dict[str, ApiVersion] = {row.behaves_as: row for row in (_V070, _V060, _V050, _V040)}
KNOWN_VERSIONS: tuple[str, ...] = tuple(KNOWN)
NEWEST_KNOWN = KNOWN_VERSIONS[0]
#: Every operation name some known release restricts (others need no version check).
RESTRICTED_OPERATIONS: frozenset[str] = frozenset(
    name
    for row in KNOWN.values()
    for name in (
        *row.missing_operations,
        *(op for op, _ in row.ignored_parameters),
        *(shape.operation for shape in row.open_failures),
    )
) | {OPENID_CLIENT_MODE_LOGIN}


def _parse(version: str) -> tuple[int, int, int] | None:
    match = _VERSION.match(version.strip())
    return None if match is None else (int(match[1]), int(match[2]), int(match[3]))


@functools.lru_cache(maxsize=64)
def api_version_facts(version: str) -> ApiVersion:
    """The row for ``version``: exact for a known release; the nearest known one (and one warning) else.

    Cached, so each unknown version is warned about once per process.
    """
    version = version.strip()
    row = KNOWN.get(version)
    if row is not None:
        return row
    parsed = _parse(version)
    if parsed is None:
        nearest, relation = KNOWN[NEWEST_KNOWN], "not an X.Y.Z version"
    else:
        older = [KNOWN[v] for v in KNOWN_VERSIONS if _known_key(v) <= parsed]
        nearest = older[0] if older else KNOWN[KNOWN_VERSIONS[-1]]
        if parsed > _known_key(NEWEST_KNOWN):
            relation = "newer than every known version"
        elif not older:
            relation = "older than every known version"
        else:
            relation = "not a known version"
    logger.warning(
        "iRODS HTTP API %s is %s (%s); using the behaviour of %s",
        version,
        relation,
        ", ".join(KNOWN_VERSIONS),
        nearest.behaves_as,
    )
    return _as_unknown(nearest, version)


def _known_key(version: str) -> tuple[int, int, int]:
    parsed = _parse(version)
    assert parsed is not None
    return parsed


def _as_unknown(row: ApiVersion, version: str) -> ApiVersion:
    return replace(row, version=version, known=False)


def version_from_url(url: str) -> str | None:
    """The ``X.Y.Z`` last path segment of an API base URL (``.../irods-http-api/0.6.0``), else None."""
    match = _URL_VERSION.search(url.split("?", 1)[0])
    return None if match is None else match[1]
