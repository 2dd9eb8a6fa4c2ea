"""Every error this provider raises, in one hierarchy used by all layers.

    IrodsError                       anything raised by this package
    ├── IrodsUsageError              the caller asked for something impossible (no request sent)
    │   ├── IrodsInvalidPathError        a logical or local path that is malformed or unsafe
    │   │   └── IrodsSymlinkError            a symlink where a transfer refuses to follow one
    │   ├── IrodsConfigurationError      a connection, credential or option that cannot work
    │   └── IrodsRemoteMetadataError     an overwrite in a federated zone would drop the object's AVUs
    ├── IrodsTransportError          no usable reply: the request may or may not have been applied
    │   ├── IrodsTimeoutError            connect, read, write or pool timeout
    │   ├── IrodsConnectionError         refused, reset, dropped mid-body, DNS or TLS failure
    │   │   └── IrodsSftpConnectionError     an SSH/SFTP connection dropped, stalled or refused (retried)
    │   ├── IrodsProtocolError           the peer answered, but not as an iRODS HTTP API does
    │   ├── IrodsOutcomeUnknownError     a lost reply's server-side work could not be read back in time
    │   │   └── IrodsTicketOutcomeUnknownError a failed ticket create may have left a ticket nobody knows
    │   └── IrodsServerDeadlineError     work the server cannot finish within its request deadline
    ├── IrodsResponseError           the server answered no (HTTP status, iRODS code and name)
    │   ├── IrodsAuthenticationError     credentials refused, token unknown or expired, OpenID failure
    │   ├── IrodsBadRequestError         HTTP 400 with no iRODS code: a parameter the server refused
    │   ├── IrodsNotFoundError           the path or catalog row does not exist (or is invisible)
    │   ├── IrodsAlreadyExistsError      the target exists and overwriting was not allowed
    │   ├── IrodsPermissionError         the user lacks the permission or privilege
    │   ├── IrodsNotACollectionError     a collection was expected (NOT_A_COLLECTION)
    │   ├── IrodsNotADataObjectError     a data object was expected (NOT_A_DATA_OBJECT)
    │   ├── IrodsCollectionNotEmptyError removing a non-empty collection without recursion
    │   │   └── IrodsRemoveIncompleteError  a remove answered success but left part of the tree
    │   ├── IrodsServerBusyError         HTTP 429/503: stream or rate limits; retry later
    │   └── IrodsReplicaUnavailableError no replica or resource takes the operation (HIERARCHY_ERROR)
    │       └── IrodsLockedError             another writer holds the object (proven: replica statuses)
    ├── IrodsLocalFileError          the local file system refused a read or write (disk full, I/O error)
    ├── IrodsSftpFileError           the SFTP server answered a request with a failure (disk full, bad name)
    ├── IrodsSourceRemovalError      move: copies verified at their destinations, sources not removed
    ├── IrodsIntegrityError          the bytes are not what they should be
    │   ├── IrodsChecksumMismatchError   source and destination checksums differ (per replica when named)
    │   ├── IrodsStaleReplicaError       a replica of an uploaded object is not good (its copy failed)
    │   ├── IrodsOverwriteIncompleteError an overwrite in place did not finish; the old bytes are kept aside
    │   ├── IrodsSourceChangedError      a source changed (or was replaced) while it was copied
    │   └── IrodsTemporaryTakenOverError another writer of the same target took this one's temporary over
    └── IrodsTransferCancelledError  a transfer was cancelled (on_kill): nothing published, no handle open

Messages never contain passwords, client secrets or tokens.
"""

from __future__ import annotations

import errno as _errno
from typing import Any

from irods_provider._error_codes import error_name, vault_errno

__all__ = [
    "IrodsAlreadyExistsError",
    "IrodsAuthenticationError",
    "IrodsBadRequestError",
    "IrodsChecksumMismatchError",
    "IrodsClaimUnconfirmedError",
    "IrodsCollectionNotEmptyError",
    "IrodsConcurrentOverwriteError",
    "IrodsConfigurationError",
    "IrodsConnectionError",
    "IrodsError",
    "IrodsIntegrityError",
    "IrodsInvalidPathError",
    "IrodsListingError",
    "IrodsLocalFileError",
    "IrodsLockedError",
    "IrodsNotACollectionError",
    "IrodsNotADataObjectError",
    "IrodsNotADirectoryError",
    "IrodsNotFoundError",
    "IrodsOutcomeUnknownError",
    "IrodsOverwriteIncompleteError",
    "IrodsPathClaimedError",
    "IrodsPermissionError",
    "IrodsProtocolError",
    "IrodsRemoteMetadataError",
    "IrodsRemoveIncompleteError",
    "IrodsReplicaUnavailableError",
    "IrodsResponseError",
    "IrodsServerBusyError",
    "IrodsServerDeadlineError",
    "IrodsSftpConnectionError",
    "IrodsSftpFileError",
    "IrodsSourceChangedError",
    "IrodsSourceRemovalError",
    "IrodsStaleReplicaError",
    "IrodsSymlinkError",
    "IrodsTemporaryTakenOverError",
    "IrodsTicketOutcomeUnknownError",
    "IrodsTimeoutError",
    "IrodsTransferCancelledError",
    "IrodsTransportError",
    "IrodsUsageError",
    "response_error_class",
]


class IrodsError(Exception):
    """Base of every error raised by airflow-provider-irods."""

    def __init__(self, message: str, *, operation: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.path = path

    def _details(self) -> list[str]:
        details = []
        if self.operation:
            details.append(f"operation={self.operation}")
        if self.path is not None:
            details.append(f"path={self.path!r}")
        return details

    def __str__(self) -> str:
        details = self._details()
        return f"{self.message} ({', '.join(details)})" if details else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments do not survive default pickling; Airflow pickles exceptions.
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[IrodsError], state: dict[str, Any]) -> IrodsError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class IrodsUsageError(IrodsError, ValueError):
    """The caller asked for something impossible; nothing was sent to the server."""


class IrodsInvalidPathError(IrodsUsageError):
    """A logical or local path is malformed or would escape its target directory."""


class IrodsNotADirectoryError(IrodsInvalidPathError, NotADirectoryError):
    """A local or SFTP target directory (or one of its parents) is something else, e.g. a file in the way."""


class IrodsConfigurationError(IrodsUsageError):
    """A connection, credential or option is missing, malformed or contradictory."""


class IrodsRemoteMetadataError(IrodsUsageError):
    """An overwrite of an object in a federated zone would drop its AVUs: iRODS's atomic metadata call, the
    HTTP API's only way to set them, runs on the local zone's catalog and cannot reach that object.
    Refused before any byte is read; ``zone`` and ``attributes`` (names only, never values) say which."""

    def __init__(
        self,
        message: str,
        *,
        zone: str,
        attributes: tuple[str, ...],
        operation: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, path=path)
        self.zone = zone
        self.attributes = attributes


class IrodsTransportError(IrodsError):
    """No usable reply arrived; the request may or may not have been applied."""


class IrodsTimeoutError(IrodsTransportError, TimeoutError):
    """A connect, read, write or pool timeout expired."""


class IrodsConnectionError(IrodsTransportError, ConnectionError):
    """The connection was refused, reset or dropped, or DNS or TLS failed."""


class IrodsSftpConnectionError(IrodsConnectionError):
    """The SSH/SFTP side of a staging copy was lost (dropped, stalled or refused) beyond its retries.

    ``path`` names the file being copied (None outside one file); ``attempts`` counts the tries of that
    file; a staging run's partial report rides on it as ``report``.
    """

    def __init__(
        self, message: str, *, operation: str | None = None, path: str | None = None, attempts: int = 0
    ) -> None:
        super().__init__(message, operation=operation, path=path)
        self.attempts = attempts

    def _details(self) -> list[str]:
        return [*super()._details(), f"attempts={self.attempts}"] if self.attempts else super()._details()


class IrodsProtocolError(IrodsTransportError):
    """The peer answered, but not as an iRODS HTTP API server does (wrong version, not JSON, not iRODS)."""


class IrodsOutcomeUnknownError(IrodsTransportError):
    """A server-side operation (a checksum, copy or replication) lost its reply, and the catalog did not
    show its outcome within ``waited`` seconds; it may still finish. Never retried by the client: a resend
    restarts the server's work (a forced checksum) or fails on its own first try (a copy's target).

    Typically the iRODS HTTP API's whole-request deadline (``requests.timeout_in_seconds``, 30 s by
    default) cut off a large object's operation. ``http_status`` is the lost reply's (a gateway's 502/504),
    if any; the failure that lost it is chained as ``__cause__``.
    """

    def __init__(
        self,
        message: str,
        *,
        waited: float,
        http_status: int | None = None,
        operation: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, path=path)
        self.waited = waited
        self.http_status = http_status

    def _details(self) -> list[str]:
        details = [*super()._details(), f"waited={self.waited:.1f}s"]
        return details if self.http_status is None else [*details, f"HTTP {self.http_status}"]


class IrodsTicketOutcomeUnknownError(IrodsOutcomeUnknownError):
    """A ticket create failed once sent (a lost reply, or a failure after the server made the ticket) and
    the client could not settle whether a ticket it made is left on ``path``: one granting access there may
    exist that the caller does not know. ``possible_tickets``: the tickets of that type that appeared on the
    path during the call (bearer secrets: never in the message; another create of the same user may have
    made some of them); remove the ones that are not yours with ``tickets.remove``, or look again with
    ``tickets.on_path(path)``. Chained from the create's own failure."""

    def __init__(
        self,
        message: str,
        *,
        possible_tickets: tuple[str, ...] = (),
        http_status: int | None = None,
        operation: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, waited=0.0, http_status=http_status, operation=operation, path=path)
        self.possible_tickets = possible_tickets

    def _details(self) -> list[str]:
        details = [d for d in super()._details() if not d.startswith("waited=")]
        return [*details, f"possible_tickets={len(self.possible_tickets)}"]


class IrodsServerDeadlineError(IrodsTransportError):
    """A request whose server-side work (a verification hashing ``size`` bytes in ``replicas`` replicas)
    outlasts the HTTP API's whole-request deadline lost its reply after ``elapsed`` seconds, and that work
    leaves nothing in the catalog to read back. Never retried: a resend would do the whole work again and be
    cut off again. ``http_status`` is a gateway's 502/504, if any; the lost reply is chained as ``__cause__``.
    """

    def __init__(
        self,
        message: str,
        *,
        size: int,
        replicas: int,
        elapsed: float,
        http_status: int | None = None,
        operation: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, path=path)
        self.size, self.replicas, self.elapsed, self.http_status = size, replicas, elapsed, http_status

    def _details(self) -> list[str]:
        details = [*super()._details(), f"size={self.size}", f"elapsed={self.elapsed:.1f}s"]
        return details if self.http_status is None else [*details, f"HTTP {self.http_status}"]


class IrodsResponseError(IrodsError):
    """The server answered and refused: carries the HTTP status and the iRODS code and name."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        irods_code: int | None = None,
        operation: str | None = None,
        path: str | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, path=path)
        self.http_status = http_status
        self.irods_code = irods_code
        self.server_message = server_message
        #: The HTTP status the server sent when the client read it as the newest release's answer (0.4.0's and
        #: 0.5.0's empty 500 for a read is told as 0.6.0's 400) and the retry policy treats it as sent;
        #: None when ``http_status`` is what the server sent.
        self.sent_status: int | None = None

    def retold(
        self,
        message: str,
        *,
        kind: type[IrodsResponseError] | None = None,
        operation: str | None = None,
        path: str | None = None,
    ) -> IrodsResponseError:
        """This refusal said in ``message`` (as ``kind``, by default its own class): the server's HTTP status,
        iRODS code and message kept; ``operation`` and ``path`` replace this error's when given."""
        return (kind or type(self))(
            message,
            http_status=self.http_status,
            irods_code=self.irods_code,
            operation=operation or self.operation,
            path=path or self.path,
            server_message=self.server_message,
        )

    @property
    def irods_name(self) -> str | None:
        """The symbolic name of the iRODS code, e.g. ``CAT_NO_ACCESS_PERMISSION``."""
        return None if self.irods_code is None else error_name(self.irods_code)

    @property
    def errno_name(self) -> str | None:
        """The errno a storage resource's error carries (``"ENOSPC"`` in ``UNIX_FILE_WRITE_ERR -513028``:
        the vault's disk is full), or None."""
        number = None if self.irods_code is None else vault_errno(self.irods_code)
        return None if number is None else _errno.errorcode.get(number, str(number))

    def _details(self) -> list[str]:
        details = super()._details()
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.irods_code is not None:
            cause = f" ({self.errno_name} on the resource's storage)" if self.errno_name else ""
            details.append(f"iRODS {self.irods_name} {self.irods_code}{cause}")
        if self.server_message:
            details.append(f"server said: {self.server_message}")
        return details


class IrodsAuthenticationError(IrodsResponseError):
    """Credentials were refused, the token is unknown or expired, or the OpenID provider said no."""


class IrodsBadRequestError(IrodsResponseError):
    """HTTP 400 without an iRODS code: the server refused a parameter."""


class IrodsNotFoundError(IrodsResponseError, FileNotFoundError):
    """The path or catalog row does not exist, or is invisible to this user."""


class IrodsAlreadyExistsError(IrodsResponseError, FileExistsError):
    """The target exists and overwriting was not allowed."""


class IrodsPermissionError(IrodsResponseError, PermissionError):
    """The user lacks the permission or the privilege level for this operation."""


class IrodsNotACollectionError(IrodsResponseError, NotADirectoryError):
    """A collection was expected at this path (NOT_A_COLLECTION)."""


class IrodsNotADataObjectError(IrodsResponseError, IsADirectoryError):
    """A data object was expected at this path (NOT_A_DATA_OBJECT)."""


class IrodsCollectionNotEmptyError(IrodsResponseError):
    """The collection is not empty and recursion was not requested."""


class IrodsRemoveIncompleteError(IrodsCollectionNotEmptyError):
    """A collection remove the server answered with success left part of the tree: the HTTP API ignores
    what the removal returned (collections main.cpp:440-446 at 0.5.0-0.7.0; irods 4.3.4 filesystem.cpp:294),
    so an object another client is writing (its unlink refused, LOCKED_DATA_OBJECT_ACCESS) or one the
    user may not delete stays, with the collections holding it. The message says how much is left."""


class IrodsListingError(IrodsResponseError):
    """A collection's entries cannot be listed (e.g. the server cannot query a federated zone's catalog)."""


class IrodsServerBusyError(IrodsResponseError):
    """The server is out of parallel-write streams or asks to slow down (HTTP 429 or 503)."""

    #: Seconds the reply's ``Retry-After`` asked to wait before trying again (None: it did not say).
    retry_after: float | None = None


class IrodsReplicaUnavailableError(IrodsResponseError):
    """No replica or resource would take the operation on the data object (HIERARCHY_ERROR: every vote was
    zero, irods 4.3.4 irods_resource_redirect.cpp:244-245). Another write may hold it (then the subclass
    :class:`IrodsLockedError` is raised), its replicas' resources may be marked down (voting.cpp:21-26), or
    the resource named may hold no replica of it; the message says what the catalog shows."""


class IrodsLockedError(IrodsReplicaUnavailableError):
    """Another writer holds the data object: its code says so (INTERMEDIATE_REPLICA_ACCESS,
    LOCKED_DATA_OBJECT_ACCESS), or a HIERARCHY_ERROR's object has a replica the catalog marks intermediate
    or locked (the client reads the replicas before it raises this for HIERARCHY_ERROR)."""


class IrodsConcurrentOverwriteError(IrodsLockedError):
    """Another writer replaced the path while this one was replacing it by the rename publish (it published
    its object first, or moved the old one aside first): nothing of this upload was published and the other
    writer's object is left alone. Retrying overwrites the path again."""


class IrodsPathClaimedError(IrodsLockedError):
    """Another writer holds the path: it claimed it to overwrite it in place (its backup, ``claim``, records
    the writer and since when, epoch seconds), or took the claim over from this writer meanwhile."""

    def __init__(
        self,
        message: str,
        *,
        claim: str,
        writer: str | None = None,
        since: float | None = None,
        operation: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, path=path)
        self.claim = claim
        self.writer = writer
        self.since = since

    def _details(self) -> list[str]:
        return [*super()._details(), f"claim={self.claim}"]


class IrodsClaimUnconfirmedError(IrodsError):
    """A writer overwriting a path in place could not confirm it still holds its claim (``claim``): reading
    the claim failed, or its lease could not be renewed in time. ``cause`` is the underlying error (its
    HTTP status and iRODS code are copied here). The writer stopped before its next change to the path."""

    def __init__(
        self,
        message: str,
        *,
        claim: str,
        cause: BaseException | None = None,
        operation: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, path=path)
        self.claim = claim
        self.cause = cause
        self.http_status: int | None = getattr(cause, "http_status", None)
        self.irods_code: int | None = getattr(cause, "irods_code", None)
        self.irods_name: str | None = getattr(cause, "irods_name", None)

    def _details(self) -> list[str]:
        details = [*super()._details(), f"claim={self.claim}"]
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.irods_code is not None:
            details.append(f"iRODS {self.irods_name} {self.irods_code}")
        return details


class IrodsLocalFileError(IrodsError, OSError):
    """The local file system refused a read or write: disk full, quota, read-only, I/O error.

    ``errno_name`` names the cause (``"ENOSPC"``); ``errno`` holds its number as an ``OSError`` would.
    """

    def __init__(
        self, message: str, *, errno: int | None, operation: str | None = None, path: str | None = None
    ) -> None:
        super().__init__(message, operation=operation, path=path)
        self.errno = errno
        self.errno_name = None if errno is None else _errno.errorcode.get(errno, str(errno))

    def _details(self) -> list[str]:
        details = super()._details()
        return [*details, f"errno={self.errno_name}"] if self.errno_name else details


class IrodsSftpFileError(IrodsError, OSError):
    """A live SFTP server answered a request on a file with a failure status (``SSH_FX_FAILURE``: disk full,
    quota, I/O error; ``SSH_FX_BAD_MESSAGE``: e.g. a name too long): its answer, not a lost connection.

    ``server_message`` holds the server's text (OpenSSH says only ``"Failure"``).
    """

    def __init__(
        self, message: str, *, server_message: str, operation: str | None = None, path: str | None = None
    ) -> None:
        super().__init__(message, operation=operation, path=path)
        self.server_message = server_message

    def _details(self) -> list[str]:
        return [*super()._details(), f"server said: {self.server_message}"]


class IrodsSourceRemovalError(IrodsError):
    """A ``move`` whose copies landed, verified, but whose sources could not be removed (permission denied,
    a read-only file system): the data is safe at the destinations, the sources are still there.

    ``paths`` names every source kept, ``causes`` (same order) why; ``path`` is the first. A retry copies
    none of them again (their destinations hold the same bytes) and only tries the removals again.
    """

    def __init__(
        self,
        message: str,
        *,
        paths: tuple[str, ...],
        causes: tuple[str, ...],
        operation: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, path=paths[0] if paths else None)
        self.paths = paths
        self.causes = causes


class IrodsIntegrityError(IrodsError):
    """The bytes are not what they should be."""


class IrodsChecksumMismatchError(IrodsIntegrityError):
    """The checksum of the source differs from the destination's."""

    def __init__(
        self,
        message: str,
        *,
        expected: str,
        actual: str,
        operation: str | None = None,
        path: str | None = None,
        replica_number: int | None = None,
        resource: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, path=path)
        self.expected = expected
        self.actual = actual
        self.replica_number = replica_number
        self.resource = resource

    def _details(self) -> list[str]:
        return [
            *super()._details(),
            *_replica_details(self),
            f"expected={self.expected}",
            f"actual={self.actual}",
        ]


class IrodsStaleReplicaError(IrodsIntegrityError):
    """A replica of an uploaded object is not good (stale, or still locked): its copy did not complete."""

    def __init__(
        self,
        message: str,
        *,
        replica_number: int,
        resource: str,
        status: str,
        operation: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, path=path)
        self.replica_number = replica_number
        self.resource = resource
        self.status = status

    def _details(self) -> list[str]:
        return [*super()._details(), *_replica_details(self), f"status={self.status}"]


class IrodsOverwriteIncompleteError(IrodsIntegrityError):
    """An overwrite in place (a copy onto the object) did not finish; its previous content is kept at
    ``backup``."""

    def __init__(
        self, message: str, *, backup: str, operation: str | None = None, path: str | None = None
    ) -> None:
        super().__init__(message, operation=operation, path=path)
        self.backup = backup

    def _details(self) -> list[str]:
        return [*super()._details(), f"backup={self.backup}"]


def _replica_details(error: IrodsChecksumMismatchError | IrodsStaleReplicaError) -> list[str]:
    """``replica=N``, ``resource='root;leaf'`` when the error names one replica."""
    details = [] if error.replica_number is None else [f"replica={error.replica_number}"]
    return details + ([] if error.resource is None else [f"resource={error.resource!r}"])


class IrodsTransferCancelledError(IrodsError):
    """The transfer was cancelled; nothing was published and no parallel-write handle is left open."""


# -- Transfer integrity: sources that change or are swapped, destinations that could be redirected ---------


class _ChangeSeen(IrodsIntegrityError):
    """An integrity error that says what changed (``changed``)."""

    def __init__(
        self, message: str, *, changed: str, operation: str | None = None, path: str | None = None
    ) -> None:
        super().__init__(message, operation=operation, path=path)
        self.changed = changed

    def _details(self) -> list[str]:
        return [*super()._details(), f"changed={self.changed}"]


class IrodsSourceChangedError(_ChangeSeen):
    """A source changed while it was copied (appended, rewritten, still growing, replaced): not published.

    ``changed`` says what differs, e.g. ``"size 1024 -> 2048"`` or ``"mtime"``.
    """


class IrodsTemporaryTakenOverError(_ChangeSeen):
    """Another writer of the same target took over the temporary object this writer had closed (their
    shared, derived name), so publishing it would publish the other writer's bytes: nothing was published.

    ``changed`` says what gave it away, e.g. ``"a parallel-write handle is open on it"``.
    """


class IrodsSymlinkError(IrodsInvalidPathError):
    """A symbolic link where a transfer must not follow one (a source or temporary swapped or planted)."""


_CLASS_BY_IRODS_NAME: dict[str, type[IrodsResponseError]] = {
    "NOT_A_COLLECTION": IrodsNotACollectionError,
    "NOT_A_DATA_OBJECT": IrodsNotADataObjectError,
    "INVALID_OBJECT_TYPE": IrodsNotACollectionError,
    "OBJ_PATH_DOES_NOT_EXIST": IrodsNotFoundError,
    "USER_FILE_DOES_NOT_EXIST": IrodsNotFoundError,
    "CAT_NO_ROWS_FOUND": IrodsNotFoundError,
    "CAT_UNKNOWN_COLLECTION": IrodsNotFoundError,
    "CAT_UNKNOWN_FILE": IrodsNotFoundError,
    "CAT_INVALID_USER": IrodsNotFoundError,
    "CAT_INVALID_GROUP": IrodsNotFoundError,
    "SYS_RESC_DOES_NOT_EXIST": IrodsNotFoundError,
    "SYS_REPLICA_DOES_NOT_EXIST": IrodsNotFoundError,
    "CAT_TICKET_INVALID": IrodsNotFoundError,
    "OVERWRITE_WITHOUT_FORCE_FLAG": IrodsAlreadyExistsError,
    "CAT_NAME_EXISTS_AS_COLLECTION": IrodsAlreadyExistsError,
    "CAT_NAME_EXISTS_AS_DATAOBJ": IrodsAlreadyExistsError,
    "CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME": IrodsAlreadyExistsError,
    "CAT_NO_ACCESS_PERMISSION": IrodsPermissionError,
    "SYS_NO_API_PRIV": IrodsPermissionError,
    "CAT_INSUFFICIENT_PRIVILEGE_LEVEL": IrodsPermissionError,
    "SYS_USER_NO_PERMISSION": IrodsPermissionError,
    "CAT_TICKET_EXPIRED": IrodsPermissionError,
    "CAT_TICKET_USES_EXCEEDED": IrodsPermissionError,
    "CAT_TICKET_USER_EXCLUDED": IrodsPermissionError,
    "CAT_TICKET_HOST_EXCLUDED": IrodsPermissionError,
    "CAT_TICKET_GROUP_EXCLUDED": IrodsPermissionError,
    "CAT_TICKET_WRITE_USES_EXCEEDED": IrodsPermissionError,
    "CAT_TICKET_WRITE_BYTES_EXCEEDED": IrodsPermissionError,
    "SYS_COLLECTION_NOT_EMPTY": IrodsCollectionNotEmptyError,
    "CAT_COLLECTION_NOT_EMPTY": IrodsCollectionNotEmptyError,
    "HIERARCHY_ERROR": IrodsReplicaUnavailableError,
    "INTERMEDIATE_REPLICA_ACCESS": IrodsLockedError,
    "LOCKED_DATA_OBJECT_ACCESS": IrodsLockedError,
    "CAT_INVALID_AUTHENTICATION": IrodsAuthenticationError,
}

_CLASS_BY_HTTP_STATUS: dict[int, type[IrodsResponseError]] = {
    400: IrodsBadRequestError,
    401: IrodsAuthenticationError,
    403: IrodsPermissionError,
    404: IrodsNotFoundError,
    429: IrodsServerBusyError,
    503: IrodsServerBusyError,
}


def response_error_class(*, http_status: int | None, irods_code: int | None) -> type[IrodsResponseError]:
    """Pick the most specific error class for an HTTP status and iRODS code (the code wins)."""
    if irods_code is not None and irods_code < 0:
        cls = _CLASS_BY_IRODS_NAME.get(error_name(irods_code))
        if cls is not None:
            return cls
    if http_status is not None and http_status in _CLASS_BY_HTTP_STATUS:
        return _CLASS_BY_HTTP_STATUS[http_status]
    return IrodsResponseError
