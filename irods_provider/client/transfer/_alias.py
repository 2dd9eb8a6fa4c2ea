"""Reading data objects whose path holds ``+`` or ``'``: through a server-side copy to a readable alias.

The iRODS HTTP API (every release, 0.4.0 to 0.7.0) percent-decodes GET query-string values and then turns
every ``+`` into a space (core/src/common.cpp ``to_argument_list``), so ``data_objects.read`` and ``stat``
(GETs) can never address such a path, not even as ``%2B``. A ``'`` arrives intact, but both handlers take
the size from ``fs::client::data_object_size`` (data_objects/src/main.cpp:762 read, :2025 stat at 0.7.0),
which on an HTTP API built with iRODS 4.3 pastes the parent and the name unescaped into a GenQuery1 string
(irods lib/filesystem/src/filesystem.cpp:745-750 at 4.3.4): an odd number of quotes in either finds nothing
(SYS_NO_GOOD_REPLICA; read answers HTTP 500). POSTs (multipart) carry both intact, the server's own
operations (copy, checksum) bind the path safely, and the provider's catalog queries escape it
(``match_condition``). So a download of such an object:

- copies it server-side (``data_objects.copy``, a POST) to a hidden, uniquely named object in the user's
  home collection, ``<home>/.irods-provider-read.irods-alias-<32 hex>`` (the engine's temporary-name rule:
  hidden from listings and plans, removed by ``collections.remove_temporaries`` like the others);
- reads the alias, and verifies the bytes against the ORIGINAL object's checksum (``calculate_checksum``
  is a POST): a bad copy, or an original changed meanwhile, is a checksum mismatch, never accepted;
- takes the source's size, mtime and stored checksum from the catalog (``collections.lookup``);
- removes the alias (no trash) when the read ends, whatever the outcome; a failure cleanup is registered
  with the transfer's coordinator where the alias is created.

A worker killed meanwhile leaves its alias behind: each new alias first removes this user's aliases older
than :data:`ALIAS_MAX_AGE` seconds in that collection (one GenQuery, asked of its zone). The copy needs write
access in that home (a refusal says so), and costs the server a read and a write of the object (and the
quota its size while the read lasts).
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from irods_provider.client._genquery import genquery_condition, prefix_condition
from irods_provider.client._locks import unreadable_error
from irods_provider.client._models import EntryKind
from irods_provider.client._paths import needs_catalog
from irods_provider.client._temporaries import login_name
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsChecksumMismatchError,
    IrodsError,
    IrodsInvalidPathError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsPermissionError,
)

from ._api import DataObjectStatLike, SessionLike
from ._config import ChecksumScheme
from ._coordinator import TransferCoordinator
from ._copy import (
    StreamHasher,
    server_checksum_matches,
    sha2_checksum,
    verify_checksum,
)
from ._hashes import scheme_of
from ._retry import is_unclear

__all__ = [
    "ALIAS_MAX_AGE",
    "ALIAS_PREFIX",
    "CatalogStat",
    "ReadAlias",
    "alias_collection",
    "needs_alias",
    "read_object",
    "source_stat",
    "verify_bytes",
]

log = logging.getLogger(__name__)

#: The name every read alias starts with (then 32 hex digits): a temporary name of the engine.
ALIAS_PREFIX = ".irods-provider-read.irods-alias-"
#: Aliases older than this (seconds, by their mtime) are left-overs of killed reads: swept when a new one is
#: made. A read that lasts longer may lose its alias to another read's sweep (and then fails, retryable).
ALIAS_MAX_AGE = 24 * 3600
#: Seconds an alias copy whose outcome is unclear (its reply lost) may stay locked before it is given up,
#: at least; longer for a large object, at :data:`ALIAS_COPY_MIN_RATE` bytes per second.
ALIAS_COPY_WAIT_MIN = 600.0
ALIAS_COPY_MIN_RATE = 10 * 1024 * 1024


def needs_alias(path: str) -> bool:
    """Whether the server's ``read`` may not serve ``path`` (it holds ``+`` or ``'``: see
    :func:`~irods_provider.client._paths.needs_catalog`), so it is read through an alias."""
    return needs_catalog(path)


@dataclass(frozen=True, slots=True)
class CatalogStat:
    """A data object's size, stored checksum and mtime as the catalog knows them (its newest good replica)."""

    size: int
    checksum: str | None
    modified_at: int | None


def source_stat(session: SessionLike, path: str) -> DataObjectStatLike:
    """``data_objects.stat(path)``, or for a ``+`` path the catalog's answer (``collections.lookup``);
    IrodsNotADataObjectError when ``path`` is a collection or nothing, IrodsLockedError while another client
    is still writing it and the SYS_NO_GOOD_REPLICA error when its write failed, as from ``stat``."""
    if not needs_alias(path):
        return session.data_objects.stat(path)
    try:
        entry = session.collections.lookup(path)
    except IrodsNotFoundError as exc:
        raise IrodsNotADataObjectError(
            "no data object at this path (or not visible)", operation="collections.lookup", path=path
        ) from exc
    if entry.kind is not EntryKind.DATA_OBJECT:
        raise IrodsNotADataObjectError("a collection, not a data object", operation="stat", path=path)
    # What stat answers SYS_NO_GOOD_REPLICA: being written (locked), or its write failed (all stale); the
    # alias's server-side copy would read a stale replica and close good, a failed write's bytes.
    if (unreadable := unreadable_error(path, entry.replicas, operation="collections.lookup")) is not None:
        raise unreadable
    return CatalogStat(size=entry.size or 0, checksum=entry.checksum, modified_at=entry.modified_at)


_SERVER_MISSES = {
    "'+'": "which the iRODS HTTP API (every release, 0.4.0 to 0.7.0) turns into a space in GET query strings",
    "a single quote": "which an iRODS HTTP API built with iRODS 4.3 pastes unescaped into the GenQuery1 "
    "string of its data-object read and stat, so they may not find it",
}


def _why(path: str) -> str:
    """Why ``path`` is read through an alias, for messages."""
    if "+" in path:
        return "GET query strings turn '+' into a space"
    return "the server's data-object read may not find a path holding a quote"


def alias_collection(session: SessionLike, path: str) -> str:
    """The user's home collection in ``path``'s zone, where aliases of ``path`` are made: ``/<zone>/home/
    <user>``, or ``/<zone>/home/<user>#<home zone>`` in a federated zone (as ``IrodsHook.home_collection``).

    Refused (IrodsInvalidPathError) when the credentials name no user or the home holds ``+`` or ``'``
    itself.
    """
    zone = path.split("/")[1]
    user = login_name(session)
    if user is not None:
        name, _, user_zone = user.partition("#")
        local = user_zone or getattr(session.limits, "irods_zone", None) or zone
        home = f"/{zone}/home/{name}" if local == zone else f"/{zone}/home/{name}#{local}"
        if not needs_alias(home):
            return home
    char = "'+'" if "+" in path else "a single quote"
    why = "the credentials name no user" if user is None else f"the home collection {home!r} holds {char} too"
    raise IrodsInvalidPathError(
        f"path contains {char}, {_SERVER_MISSES[char]}; it is read through a server-side copy in the user's "
        f"home collection, but {why}: rename the object to avoid {char}",
        operation="data_objects.read",
        path=path,
    )


class ReadAlias:
    """A readable name for ``source``: ``source`` itself, or (a ``+`` path) a server-side copy of it made
    now and removed by :meth:`close` (a context manager; idempotent).

    ``coordinator``: the copy's removal is registered as one of its failure cleanups. ``verify``: compare the
    copy's checksum with the original's at once (for readers that cannot hash every byte in order, such as
    random access); IrodsChecksumMismatchError, and the copy removed, when they differ. ``size``: the
    source's, if known (how long a copy whose reply was lost may still be running). ``src_resource``: copy
    the replica under this root resource (the copy's ``src-resource``); ``expected``: the checksum ``verify``
    compares with (that replica's catalog checksum), instead of the one the server returns for the source.
    """

    def __init__(
        self,
        session: SessionLike,
        source: str,
        *,
        coordinator: TransferCoordinator | None = None,
        verify: bool = False,
        size: int | None = None,
        src_resource: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.session = session
        self.source = source
        self.path = source
        self._made = False
        self._size = size
        self._src_resource = src_resource
        self._expected = expected
        if not needs_alias(source):
            return
        home = alias_collection(session, source)
        _sweep(session, home)
        self.path = f"{home}/{ALIAS_PREFIX}{uuid.uuid4().hex}"
        self._made = True
        if coordinator is not None:
            coordinator.add_failure_cleanup(lambda _cause: self.close())
        try:
            self._copy(home)
            if verify:
                self._verify()
        except BaseException:
            self.close()
            raise
        log.info("reading %s through the server-side copy %s", source, self.path)

    def _copy(self, home: str) -> None:
        """Make the copy, reading its outcome back after a failure that does not say whether the server
        acted (:meth:`_await_copy`)."""
        try:
            self._send_copy(home)
        except IrodsError as exc:
            if not is_unclear(exc):
                raise
            self._await_copy(home, exc)

    def _await_copy(self, home: str, cause: IrodsError) -> None:
        """After an unclear failure of the copy (a lost reply, a bare HTTP 500, or the server's whole-request
        deadline, 30 s by default, cutting off a large object's copy while the server goes on): the alias
        good is done (its bytes are still checked against the original's checksum); locked, its copy is
        still running and is waited for (at most :data:`ALIAS_COPY_WAIT_MIN` seconds, or the object's size
        at :data:`ALIAS_COPY_MIN_RATE`); absent, the copy is sent once more. Else ``cause`` is raised."""
        deadline = time.monotonic() + max(ALIAS_COPY_WAIT_MIN, (self._size or 0) / ALIAS_COPY_MIN_RATE)
        resent, pause = False, 0.1
        log.warning(
            "the read alias copy of %s failed unclearly (%s): reading its outcome back", self.source, cause
        )
        while (state := self._alias_state()) != "good":
            if state == "absent" and not resent:
                resent = True
                try:
                    self._send_copy(home)
                    return
                except IrodsAlreadyExistsError:  # the first copy reached the server after all
                    continue
                except IrodsError as exc:
                    if not is_unclear(exc):
                        raise
                    continue
            if state != "busy" or time.monotonic() > deadline:
                raise cause
            time.sleep(pause)
            pause = min(2 * pause, 5.0)

    def _alias_state(self) -> str:
        """``good`` (a good replica), ``busy`` (being written: intermediate or locked), ``absent`` or
        ``bad`` (stale: the copy failed)."""
        try:
            statuses = {r.status for r in self.session.data_objects.replicas(self.path)}
        except (IrodsNotADataObjectError, IrodsNotFoundError):
            return "absent"
        if "1" in statuses:
            return "good"
        return "bad" if statuses <= {"0"} else "busy"

    def _send_copy(self, home: str) -> None:
        """Send the copy; a refusal says that it needs write access in ``home``, not only read access to the
        source (the server's CAT_NO_ACCESS_PERMISSION does not say which was missing)."""
        try:
            self.session.data_objects.copy(  # a new name
                self.source, self.path, replicas_before=(), src_resource=self._src_resource
            )
        except IrodsPermissionError as exc:
            raise exc.retold(
                f"reading this path goes through a server-side copy in {home} ({_why(self.source)}), and "
                f"the copy was refused: it needs read access to the object and write access in {home}",
                kind=IrodsPermissionError,
                operation="data_objects.copy",
                path=self.source,
            ) from exc

    @property
    def aliased(self) -> bool:
        """Whether reads go to a copy (and :meth:`close` removes it)."""
        return self.path != self.source

    def _verify(self) -> None:
        api = self.session.data_objects
        # the copy's checksum is computed afresh (``force``): a copy may carry the source's stored one over
        expected = self._expected or api.calculate_checksum(self.source)
        actual = api.calculate_checksum(self.path, force=True)
        if scheme_of(expected) != scheme_of(actual):
            actual = self._hash_copy(expected)
        if expected != actual:
            raise IrodsChecksumMismatchError(
                "the server-side copy made to read this path differs from it",
                expected=expected,
                actual=actual,
                operation="verify",
                path=self.source,
            )

    def _hash_copy(self, expected: str) -> str:
        """The copy's checksum in ``expected``'s scheme, from its bytes read in order here: the original's
        stored checksum is of another scheme than the zone's (an MD5 kept in a SHA-256 zone, or the reverse),
        and the server hashes the copy only in the zone's scheme (no request names a scheme)."""
        from ._reader import open_reader  # _reader builds on this module

        scheme = scheme_of(expected)
        hasher = StreamHasher(schemes=() if scheme is None else (scheme,))
        with open_reader(self.session, self.path) as reader:
            while chunk := reader.read_chunk():
                hasher.update(chunk)
        result = hasher.result()
        if server_checksum_matches(expected, result):
            return expected
        return (None if scheme is None else result.checksum_in(scheme)) or sha2_checksum(result.sha256)

    def close(self) -> None:
        """Remove the copy (no trash), once; a failure is logged (the next sweep removes it), never raised."""
        if not self._made:
            return
        self._made = False
        try:
            self.session.data_objects.remove(self.path, no_trash=True)
        except IrodsNotFoundError:
            pass
        except IrodsError as exc:
            log.warning("could not remove the read alias %s of %s: %s", self.path, self.source, exc)

    def __enter__(self) -> ReadAlias:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _sweep(session: SessionLike, home: str, *, now: float | None = None) -> int:
    """Remove this user's aliases in ``home`` older than :data:`ALIAS_MAX_AGE` (killed reads left them):
    one GenQuery, asked of ``home``'s zone (a federated zone's catalog answers only when named); an alias
    with several replicas is old only when its newest replica is. Best effort (errors are logged). Returns
    how many went."""
    cutoff = (time.time() if now is None else now) - ALIAS_MAX_AGE
    where = f"{genquery_condition('COLL_NAME', home)} and {prefix_condition('DATA_NAME', ALIAS_PREFIX)}"
    removed = 0
    try:
        query: Any = session.query  # type: ignore[attr-defined]
        newest: dict[str, int] = {}  # one row per replica whose mtime differs: the newest decides
        for name, mtime in query.genquery(
            f"select DATA_NAME, DATA_MODIFY_TIME where {where}", zone=query.zone_for(home)
        ):
            if name.startswith(ALIAS_PREFIX):
                newest[name] = max(newest.get(name, 0), int(mtime or 0))
        for name in sorted(name for name, mtime in newest.items() if mtime < cutoff):
            with contextlib.suppress(IrodsNotFoundError):  # another read's sweep took it first
                session.data_objects.remove(f"{home}/{name}", no_trash=True)
                removed += 1
    except IrodsError as exc:
        log.warning("could not sweep old read aliases in %s: %s", home, exc)
    if removed:
        log.info("removed %d read alias(es) older than %d s in %s", removed, ALIAS_MAX_AGE, home)
    return removed


def read_object(session: SessionLike, path: str, *, verify: bool = True) -> bytes:
    """The whole content of ``path`` in memory; a ``+`` path through its alias, checked against the
    original's checksum (``verify``), the alias removed afterwards."""
    if not needs_alias(path):
        return session.data_objects.read(path)
    with ReadAlias(session, path) as alias:
        data = session.data_objects.read(alias.path)
    if verify:
        verify_bytes(session, path, data)
    return data


def verify_bytes(session: SessionLike, path: str, data: bytes) -> str:
    """Check ``data`` (all of ``path``, read through an alias) against ``path``'s own checksum (a POST):
    IrodsChecksumMismatchError when they differ; returns the checksum."""
    hasher = StreamHasher(schemes=tuple(ChecksumScheme))  # the original's stored checksum: of any scheme
    hasher.update(data)
    return verify_checksum(session, path, hasher.result(), learn=False)
