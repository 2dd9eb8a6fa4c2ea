"""The one place the skip and overwrite policies are evaluated, and the destination adapters feeding it.

:func:`decide` is pure: given the policies, what is at the destination (:class:`DestinationState`: absent,
a file with its size and a lazily computed checksum, a directory, a symbolic link) and the source's size
and lazily computed checksum, it returns :class:`Write`, :class:`Skip` (with the reason the report shows)
or :class:`Refuse` (the typed error naming the path). Every copy direction asks its destination once per
file through one adapter (:func:`irods_destination`, :func:`local_destination`, and
``irods_provider.sftp._destination.sftp_destination``) and lets :func:`decide` judge.

Checksums are computed only when the CHECKSUM policy meets a destination of the source's size, each side
at most once, in the scheme of the side that stores one (an iRODS zone's ``sha2:`` or MD5): the other side
is hashed in that scheme (SHA-256 when neither stores one).

Under REFUSE a destination that an earlier try of the same task published (:class:`EarlierCopy`, from the
operator's record of that try) is skipped when it and the source still hold those bytes (:data:`EARLIER_TRY`):
an Airflow retry of a multi-file task then completes instead of refusing what its first try copied.

Deciding before the copy is not enough under REFUSE: a destination may appear while the bytes move. That
publish-time race check stays with each sink's publish (a rename that refuses an existing target).
"""

from __future__ import annotations

import enum
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import NoReturn

from irods_provider.client import Entry, EntryKind
from irods_provider.client._locks import is_no_good_replica, writing_error
from irods_provider.client._paths import needs_catalog
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsError,
    IrodsInvalidPathError,
    IrodsLockedError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsResponseError,
    IrodsSymlinkError,
)

from ._api import SessionLike
from ._config import MIB, ChecksumScheme, EarlierCopy, OverwritePolicy, SkipPolicy
from ._copy import CopyResult, StreamHasher
from ._hashes import same_stored_checksum, scheme_of
from ._integrity import _BINARY, _NOFOLLOW, local_error

__all__ = [
    "EARLIER_TRY",
    "SAME_CHECKSUM",
    "Checksum",
    "Decision",
    "DestinationKind",
    "DestinationState",
    "EarlierCopy",
    "Refuse",
    "Skip",
    "Write",
    "checksum_of",
    "decide",
    "irods_destination",
    "listed_destination",
    "local_checksum",
    "local_destination",
]

#: A checksum computed on demand, as an iRODS zone writes it (``sha2:<base64>`` or MD5 hex). Called with
#: None it answers the side's own stored checksum (None when it stores none); called with a scheme, a side
#: that stores none hashes itself in that scheme (a side that stores one answers that one regardless).
Checksum = Callable[[ChecksumScheme | None], str | None]

#: The skip reason of a destination whose checksum was compared with the source's and found the same.
SAME_CHECKSUM = "same checksum"
#: The skip reason of a destination an earlier try of this task published from the same source bytes.
EARLIER_TRY = "published by an earlier try of this task"


def _none(scheme: ChecksumScheme | None) -> str | None:
    return None


class _Once:
    """A :data:`Checksum` that computes each answer at most once (the policy may ask twice)."""

    def __init__(self, compute: Checksum) -> None:
        self._compute = compute
        self._answers: dict[ChecksumScheme | None, str | None] = {}

    def __call__(self, scheme: ChecksumScheme | None) -> str | None:
        if scheme not in self._answers:
            self._answers[scheme] = self._compute(scheme)
        return self._answers[scheme]


def stored_checksum(value: str | None, compute: Callable[[], str]) -> Checksum:
    """The :data:`Checksum` of a side that stores one (an iRODS object): ``value``, else ``compute()``
    (asked of the server only when the policy needs it)."""
    answer: list[str] = [value] if value else []

    def checksum(scheme: ChecksumScheme | None) -> str:
        if not answer:
            answer.append(compute())
        return answer[0]

    return checksum


def hashed_checksum(hash_in: Callable[[ChecksumScheme], str]) -> Checksum:
    """The :data:`Checksum` of a side that stores none (a file): hashed in the scheme asked, on demand."""
    return _Once(lambda scheme: None if scheme is None else hash_in(scheme))


def checksum_of(result: CopyResult, scheme: ChecksumScheme) -> str:
    """``result``'s digest of ``scheme`` formatted the way a zone of ``scheme`` stores its checksum."""
    checksum = result.checksum_in(scheme)
    if checksum is None:
        raise ValueError(f"no {scheme.value} digest was computed")  # a hasher made for another scheme
    return checksum


class DestinationKind(enum.Enum):
    """What is at a destination path."""

    ABSENT = "absent"
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"
    OTHER = "other"  # a FIFO, socket or device: never written, replaced or skipped


@dataclass(frozen=True)
class DestinationState:
    """What one question to the destination told: its kind, its size and its (lazy) checksum.

    A data object without a good replica is a FILE that is ``stale`` (its write failed: it is there, so
    REFUSE refuses it, but its size and checksum say nothing, so no skip policy takes it for done) or
    ``locked`` (another client is writing it: refused under every policy with that IrodsLockedError).
    """

    path: str
    kind: DestinationKind
    size: int | None = None
    checksum: Checksum = field(default=_none, compare=False)
    stale: bool = False
    locked: IrodsLockedError | None = field(default=None, compare=False)

    @classmethod
    def absent(cls, path: str) -> DestinationState:
        """Nothing at ``path``."""
        return cls(path, DestinationKind.ABSENT)

    @classmethod
    def file(cls, path: str, size: int | None, checksum: Checksum = _none) -> DestinationState:
        """A file (data object) of ``size`` bytes (None: unknown, never the same size)."""
        return cls(path, DestinationKind.FILE, size, checksum)

    @classmethod
    def unreadable(cls, path: str, locked: IrodsLockedError | None = None) -> DestinationState:
        """A data object without a good replica: another client writing it (``locked``), else stale."""
        return cls(path, DestinationKind.FILE, stale=locked is None, locked=locked)

    @property
    def exists(self) -> bool:
        """Whether anything is at the path."""
        return self.kind is not DestinationKind.ABSENT


@dataclass(frozen=True)
class Write:
    """Copy the file; ``replaces`` says something is there already (OVERWRITE)."""

    replaces: bool


@dataclass(frozen=True)
class Skip:
    """The destination counts as already transferred; ``reason`` is what the report shows, ``checksum``
    the destination's when the decision learned it."""

    reason: str
    checksum: str | None = None


@dataclass(frozen=True)
class Refuse:
    """The copy must not happen: ``error`` is the typed error naming the destination."""

    error: IrodsError

    def raise_error(self) -> NoReturn:
        """Raise the refusal's error."""
        raise self.error


Decision = Write | Skip | Refuse


def decide(
    *,
    skip: SkipPolicy,
    overwrite: OverwritePolicy,
    destination: DestinationState,
    source_size: int | None,
    source_checksum: Checksum = _none,
    operation: str = "copy",
    earlier: EarlierCopy | None = None,
) -> Decision:
    """What to do with one file under the skip and overwrite policies (pure, but for the lazy checksums).

    Nothing there: write. A directory, a symbolic link or another non-file (FIFO, socket, device) is never
    written through, replaced or skipped: refused, typed. A data object another client is writing is
    refused with its :class:`IrodsLockedError`, whatever the policies. A file: the skip policy first
    (EXISTS: any file; SIZE: the same known size; CHECKSUM: the same size and checksum; none of them a
    stale object, whose bytes are not what its last write meant), then REFUSE refuses
    (:class:`IrodsAlreadyExistsError` naming the path), unless ``earlier`` (what an earlier try of this task
    published there) is what both the destination and the source still hold (skipped, :data:`EARLIER_TRY`),
    and OVERWRITE writes over it.
    """
    path, kind = destination.path, destination.kind
    if kind is DestinationKind.ABSENT:
        return Write(replaces=False)
    if kind is DestinationKind.SYMLINK:
        message = "the destination is a symbolic link; refusing to write through or replace it"
        return Refuse(IrodsSymlinkError(message, operation=operation, path=path))
    if kind is DestinationKind.DIRECTORY:
        message = "the destination is a directory (or collection); a file cannot be published there"
        return Refuse(IrodsInvalidPathError(message, operation=operation, path=path))
    if kind is DestinationKind.OTHER:
        message = "the destination is not a regular file (a FIFO, socket or device); refusing to use it"
        return Refuse(IrodsInvalidPathError(message, operation=operation, path=path))
    if destination.locked is not None:
        return Refuse(destination.locked)
    ours, theirs = _asked_once(source_checksum), _asked_once(destination.checksum)
    there = replace(destination, checksum=theirs)
    reason = None if destination.stale else _skip_reason(skip, there, source_size, ours)
    if reason is not None:
        return Skip(reason)
    if overwrite is OverwritePolicy.REFUSE:
        if earlier is not None and not destination.stale and _holds(earlier, there, source_size, ours):
            return Skip(EARLIER_TRY, earlier.checksum)
        message = f"{path} already exists and the overwrite policy is REFUSE"
        if skip is SkipPolicy.CHECKSUM and not destination.stale and source_size == destination.size:
            message += _uncompared(ours, theirs)
        return Refuse(IrodsAlreadyExistsError(message, operation=operation, path=path))
    return Write(replaces=True)


def _holds(
    earlier: EarlierCopy, destination: DestinationState, source_size: int | None, source: Checksum
) -> bool:
    """Whether the destination and the source both still hold the bytes ``earlier`` records: the same size,
    and the same checksum in its scheme (a destination storing another scheme's never matches)."""
    scheme = scheme_of(earlier.checksum)
    if scheme is None or not destination.size == source_size == earlier.size:
        return False
    theirs, ours = destination.checksum(scheme), source(scheme)
    return (
        theirs is not None
        and ours is not None
        and same_stored_checksum(theirs, earlier.checksum)
        and same_stored_checksum(earlier.checksum, ours)
    )


def _asked_once(checksum: Checksum) -> Checksum:
    """``checksum`` asked at most once per scheme (each answer may be a request or a file's hash)."""
    answers: dict[ChecksumScheme | None, str | None] = {}

    def once(scheme: ChecksumScheme | None) -> str | None:
        if scheme not in answers:
            answers[scheme] = checksum(scheme)
        return answers[scheme]

    return once


def _uncompared(source: Checksum, destination: Checksum) -> str:
    """Why a CHECKSUM skip of two objects of one size did not decide, when it is that both keep checksums of
    different schemes (two zones of a federation hashing differently: neither server computes the other's
    scheme), else ``""``. Both were asked for already (:func:`_asked_once`): nothing is asked again."""
    theirs = destination(None)
    ours = source(scheme_of(theirs)) if theirs else None
    there, here = (scheme_of(theirs) if theirs else None), (scheme_of(ours) if ours else None)
    if there is None or here is None or there is here:
        return ""
    return (
        f" (skip='checksum' could not compare them: the destination keeps a {there.value} checksum, the "
        f"source a {here.value} one, as their zones hash differently; use skip='size' or overwrite)"
    )


def _skip_reason(
    skip: SkipPolicy, destination: DestinationState, source_size: int | None, source_checksum: Checksum
) -> str | None:
    """Why an existing destination file counts as done under ``skip`` (None: it does not)."""
    if skip is SkipPolicy.NEVER:
        return None
    if skip is SkipPolicy.EXISTS:
        return "destination exists"
    if source_size is None or destination.size != source_size:
        return None
    if skip is SkipPolicy.SIZE:
        return "same size"
    return SAME_CHECKSUM if same_checksum(source_checksum, destination.checksum) else None


def same_checksum(source: Checksum, destination: Checksum) -> bool:
    """Whether both sides hash alike, in the scheme of the side that stores a checksum (the destination's
    first), SHA-256 when neither does; an unrecognised stored checksum never matches."""
    theirs = destination(None)
    if theirs is not None:
        scheme = scheme_of(theirs)
        ours = None if scheme is None else source(scheme)
    else:
        ours = source(None)
        scheme = scheme_of(ours) if ours is not None else ChecksumScheme.SHA256
        if ours is None:
            ours = source(scheme)
        theirs = None if scheme is None else destination(scheme)
    return ours is not None and theirs is not None and same_stored_checksum(theirs, ours)


# -- destination adapters: one question per file ---------------------------------------------------------


def irods_destination(session: SessionLike, path: str) -> DestinationState:
    """What is at the data object ``path``, from one ``stat`` (a checksum is computed only if needed).

    The server's stat answers NOT_A_DATA_OBJECT alike for a missing path and a collection, so a
    collection reads as absent here; the publishing rename refuses it (``IrodsNotADataObjectError``).
    An object without a good replica (SYS_NO_GOOD_REPLICA) is stale, or locked when the client's stat
    found another client writing it (IrodsLockedError). A path with ``+`` cannot be stat-ed over GET (the
    API turns it into a space), nor some with ``'`` (``needs_catalog``): the catalog is asked instead
    (``collections.lookup``: size and stored checksum of the newest good replica).
    """
    api = session.data_objects
    if needs_catalog(path):
        return _catalog_destination(session, path)
    try:
        st = api.stat(path)
    except (IrodsNotADataObjectError, IrodsNotFoundError):
        return DestinationState.absent(path)
    except IrodsLockedError as exc:
        return DestinationState.unreadable(path, exc)
    except IrodsResponseError as exc:
        if not is_no_good_replica(exc):
            raise
        return DestinationState.unreadable(path)
    checksum = stored_checksum(st.checksum, lambda: api.calculate_checksum(path))
    return DestinationState.file(path, st.size, checksum)


def listed_destination(
    session: SessionLike, path: str, entry: Entry | None, *, operation: str = "stat"
) -> DestinationState:
    """What a catalog listing's ``entry`` for ``path`` (None: not listed) says is there; a collection
    reads as absent, as from ``stat``; an object without a good replica is stale or locked."""
    if entry is None or entry.kind is not EntryKind.DATA_OBJECT:
        return DestinationState.absent(path)
    if entry.replicas and not any(r.good for r in entry.replicas):
        return DestinationState.unreadable(path, writing_error(path, entry.replicas, operation=operation))
    checksum = stored_checksum(entry.checksum, lambda: session.data_objects.calculate_checksum(path))
    return DestinationState.file(path, entry.size, checksum)


def _catalog_destination(session: SessionLike, path: str) -> DestinationState:
    """What is at ``path`` by GenQuery (works for names holding ``+``): :func:`listed_destination`."""
    try:
        entry = session.collections.lookup(path)
    except IrodsNotFoundError:
        return DestinationState.absent(path)
    return listed_destination(session, path, entry, operation="collections.lookup")


def local_checksum(
    path: str, scheme: ChecksumScheme, *, chunk_size: int = 8 * MIB, dir_fd: int | None = None
) -> str:
    """Hash the local file ``path`` (never through a symbolic link at its name) in ``scheme``.

    Opened non-blocking and checked to be a regular file before any read: a FIFO swapped in never hangs
    the transfer (IrodsInvalidPathError). ``dir_fd``: ``path`` is a name in that open directory.
    """
    hasher = StreamHasher(schemes=(scheme,))
    name = os.path.basename(path) if dir_fd is not None else path
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | _BINARY | _NOFOLLOW, dir_fd=dir_fd)
    except OSError as exc:
        raise local_error(exc, path=path, doing="cannot hash the destination", operation="checksum") from exc
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IrodsInvalidPathError("not a regular file; not hashed", operation="checksum", path=path)
        os.set_blocking(fd, True)
        while data := fh.read(chunk_size):
            hasher.update(data)
    result = hasher.result()
    return checksum_of(result, scheme)


def local_destination(
    path: str | os.PathLike[str], *, chunk_size: int = 8 * MIB, dir_fd: int | None = None
) -> DestinationState:
    """What is at the local ``path``, from one ``lstat`` (hashed only if the policy needs it).

    A FIFO, socket or device is :attr:`DestinationKind.OTHER` (refused). ``dir_fd``: ``path``'s last
    component is looked up in that open directory, not through the path (whose parents could be swapped).
    A local error (a file where a parent directory should be, permission) is typed, naming the path.
    """
    local = os.fspath(path)
    try:
        st = os.lstat(os.path.basename(local) if dir_fd is not None else local, dir_fd=dir_fd)
    except FileNotFoundError:
        return DestinationState.absent(local)
    except OSError as exc:
        raise local_error(
            exc, path=local, doing="cannot inspect the destination", operation="download"
        ) from exc
    if stat.S_ISLNK(st.st_mode):
        return DestinationState(local, DestinationKind.SYMLINK)
    if stat.S_ISDIR(st.st_mode):
        return DestinationState(local, DestinationKind.DIRECTORY)
    if not stat.S_ISREG(st.st_mode):
        return DestinationState(local, DestinationKind.OTHER)
    checksum = hashed_checksum(
        lambda scheme: local_checksum(local, scheme, chunk_size=chunk_size, dir_fd=dir_fd)
    )
    return DestinationState.file(local, st.st_size, checksum)
