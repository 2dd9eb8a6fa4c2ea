"""The one copy loop for any file-like source and sink, and checksum verification against the server."""

from __future__ import annotations

import hashlib
import posixpath
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from irods_provider.client._events import emit
from irods_provider.exceptions import (
    IrodsChecksumMismatchError,
    IrodsIntegrityError,
    IrodsTransferCancelledError,
)

from ._api import SessionLike
from ._config import MIB, ChecksumScheme
from ._coordinator import TransferCoordinator
from ._hashes import format_checksum, new_digest, same_stored_checksum, scheme_of
from ._scheme_cache import (
    cache_location,
    cached_collections,
    cached_scheme,
    keep_collection,
    keep_scheme,
    origin_of,
)


class Readable(Protocol):
    """Anything with ``read(n) -> bytes`` (local files, SFTP files, fsspec files, our reader)."""

    def read(self, n: int = ..., /) -> bytes: ...


class Writable(Protocol):
    """Anything with ``write(bytes)`` (local files, SFTP files, fsspec files, our writer)."""

    def write(self, data: bytes, /) -> Any: ...


@dataclass(frozen=True)
class CopyResult:
    """What one copy moved: byte count and digests of the bytes in order."""

    size: int
    sha256: bytes
    md5: bytes | None = None
    server_checksum: str | None = None
    """The zone's checksum once verified (``sha2:...``, MD5 hex, ...), else None."""
    others: tuple[tuple[ChecksumScheme, bytes], ...] = ()
    """Digests of the schemes besides SHA-256 and MD5 (SHA-512, SHA-1, ADLER-32) that were computed."""

    @property
    def irods_checksum(self) -> str:
        """The checksum as the zone stores it: the verified server answer, else ``sha2:`` + base64 SHA-256."""
        return self.server_checksum or sha2_checksum(self.sha256)

    def checksum_in(self, scheme: ChecksumScheme) -> str | None:
        """The bytes' checksum written as a zone of ``scheme`` stores it; None when it was not computed."""
        if scheme is ChecksumScheme.SHA256:
            digest: bytes | None = self.sha256
        else:
            digest = self.md5 if scheme is ChecksumScheme.MD5 else dict(self.others).get(scheme)
        return None if digest is None else format_checksum(scheme, digest)


def sha2_checksum(digest: bytes) -> str:
    """Format a SHA-256 digest the way iRODS stores it."""
    return format_checksum(ChecksumScheme.SHA256, digest)


class StreamHasher:
    """SHA-256, and optionally MD5 (``md5``) and the other schemes in ``schemes``, over bytes fed in order."""

    def __init__(self, *, md5: bool = False, schemes: Iterable[ChecksumScheme] = ()) -> None:
        self._sha = hashlib.sha256()
        wanted = set(schemes) - {ChecksumScheme.SHA256}
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 or ChecksumScheme.MD5 in wanted else None
        self._others = {scheme: new_digest(scheme) for scheme in wanted - {ChecksumScheme.MD5}}
        self.count = 0

    def update(self, data: bytes | memoryview) -> None:
        """Feed the next bytes."""
        self._sha.update(data)
        if self._md5 is not None:
            self._md5.update(data)
        for digest in self._others.values():
            digest.update(data)
        self.count += len(data)

    def result(self) -> CopyResult:
        """The byte count and digests so far."""
        md5 = self._md5.digest() if self._md5 is not None else None
        others = tuple((scheme, digest.digest()) for scheme, digest in self._others.items())
        return CopyResult(size=self.count, sha256=self._sha.digest(), md5=md5, others=others)


#: The source hashed again from its first byte in the scheme passed (and SHA-256; raising when it changed),
#: an answer's scheme the transfer did not compute (see :func:`~._opened.rehasher`).
Rehash = Callable[[ChecksumScheme], CopyResult]


def copy(
    source: Readable,
    sink: Writable,
    *,
    chunk_size: int = 8 * MIB,
    limit: int | None = None,
    hasher: StreamHasher | None = None,
    coordinator: TransferCoordinator | None = None,
    cancel_event: threading.Event | None = None,
    report_progress: bool = True,
    on_chunk: Callable[[int], object] | None = None,
) -> CopyResult:
    """Copy ``source`` to ``sink`` in ``chunk_size`` reads (at most ``limit`` bytes), hashing in byte order
    (each chunk right after the sink took it).

    Cancellation (``cancel_event`` or the coordinator's) and the coordinator's first error are checked before
    every read. The sink is neither closed nor aborted here: its owner decides (so a cancelled writer is
    aborted
    and its parallel-write handle shut down). ``on_chunk(total)`` runs after each chunk (a test hook).
    """
    hasher = hasher or StreamHasher()
    cancel = cancel_event or (coordinator.cancel_event if coordinator is not None else None)
    remaining = limit
    read_chunk = getattr(source, "read_chunk", None)
    while remaining is None or remaining > 0:
        if cancel is not None and cancel.is_set():
            raise IrodsTransferCancelledError(
                "transfer cancelled", path=coordinator.path if coordinator is not None else None
            )
        if coordinator is not None:
            coordinator.raise_if_failed()
        want = chunk_size if remaining is None else min(chunk_size, remaining)
        data = read_chunk() if read_chunk is not None and remaining is None else source.read(want)
        if not data:
            break
        # Handed on before it is hashed: the first chunk's write (an upload's first request) need not
        # wait for the hash. Still in byte order; a sink copies or sends what it keeps, never alters it.
        sink.write(data)
        hasher.update(data)
        if remaining is not None:
            remaining -= len(data)
        if report_progress and coordinator is not None:
            coordinator.progress(len(data))
        if on_chunk is not None:
            on_chunk(hasher.count)
    return hasher.result()


def skip_bytes(source: Readable, count: int, *, hasher: StreamHasher, chunk_size: int = 8 * MIB) -> None:
    """Advance ``source`` by ``count`` bytes, hashing them (the prefix a resumed upload does not resend)."""
    if count <= 0:
        return
    left = count
    while left > 0:
        data = source.read(min(chunk_size, left))
        if not data:
            raise IrodsIntegrityError(f"source ended {left} bytes before the committed offset {count}")
        hasher.update(data)
        left -= len(data)


# What each session learned (or was told) about its zones' schemes: {None (pinned) or (zone, root resource or
# None: the zone's entry, the hint for a resource not known yet): scheme}, which of those came from what an
# earlier process kept (:mod:`._scheme_cache`), not from an answer, and which were asked of that cache.
_Key = tuple[str, str | None]
_SCHEMES: weakref.WeakKeyDictionary[Any, dict[_Key | None, ChecksumScheme]] = weakref.WeakKeyDictionary()
_FROM_CACHE: weakref.WeakKeyDictionary[Any, set[_Key]] = weakref.WeakKeyDictionary()
_LOOKED_UP: weakref.WeakKeyDictionary[Any, set[_Key]] = weakref.WeakKeyDictionary()
_SCHEMES_LOCK = threading.Lock()
# The scheme of uploads naming no resource per collection (a site may pick the resource by path): {zone:
# {collection: (scheme, when learned, kept by an earlier process)}}, read from the disk once per zone.
_Entry = tuple[ChecksumScheme, float, bool]
_COLLECTIONS: weakref.WeakKeyDictionary[Any, dict[str, dict[str, _Entry]]] = weakref.WeakKeyDictionary()
REFRESH_SECONDS = 3600.0
"""A confirmed collection entry older than this is kept again (entries expire after a day)."""


def _root(session: object) -> object:
    """The real session under wrappers (``__wrapped__``), which per-session state is keyed by."""
    while (inner := getattr(session, "__wrapped__", None)) is not None:
        session = inner
    return session


def _zone(path: str | None) -> str | None:
    return path[1:].split("/", 1)[0] if path and path.startswith("/") else None


def _resource(resource: str | None) -> str | None:
    """The root resource of a name or hierarchy (``root;child;leaf``), which schemes are kept by."""
    return resource.partition(";")[0] or None if resource else None


def pin_checksum_scheme(session: object, scheme: ChecksumScheme | str | None) -> None:
    """Fix the scheme every transfer of ``session`` hashes and verifies with (a connection's override)."""
    with _SCHEMES_LOCK:
        known = _SCHEMES.setdefault(_root(session), {})
        if scheme is None:
            known.pop(None, None)
        else:
            known[None] = ChecksumScheme(scheme)


def pinned_checksum_scheme(session: object) -> ChecksumScheme | None:
    """The scheme ``session`` is pinned to (:func:`pin_checksum_scheme`), None when it learns."""
    try:
        with _SCHEMES_LOCK:
            return (_SCHEMES.get(_root(session)) or {}).get(None)
    except TypeError:
        return None


def learn_checksum_scheme(
    session: object,
    path: str,
    checksum: str | None,
    *,
    resource: str | None = None,
    by_collection: bool = False,
) -> None:
    """Remember the scheme of a server answer for ``path`` on ``resource`` (its root resource or hierarchy;
    None: not known, the zone's entry) so the next transfers there hash only that, in this session and
    for the worker's later processes. ``by_collection``: an upload naming no resource, whose scheme is
    kept for ``path``'s collection too (see :func:`_learn_collection`)."""
    scheme = scheme_of(checksum)
    zone = _zone(path)
    if scheme is None or zone is None:
        return
    root, key = _root(session), (zone, _resource(resource))
    if by_collection and key[1] is None:
        _learn_collection(root, zone, posixpath.dirname(path), scheme)
    try:
        with _SCHEMES_LOCK:
            known = _SCHEMES.setdefault(root, {})
            from_cache = _FROM_CACHE.get(root, set())
            news = known.get(key) is not scheme or key in from_cache
            known[key] = scheme
            from_cache.discard(key)
    except TypeError:  # a session that cannot be weakly referenced simply learns nothing
        return
    origin = origin_of(root)
    if news and origin is not None:
        keep_scheme(origin, zone, scheme, key[1])


def known_checksum_scheme(
    session: object, path: str | None = None, *, resource: str | None = None
) -> ChecksumScheme | None:
    """The pinned scheme of ``session``, else the one learned for ``resource`` of ``path``'s zone, else
    the zone's (by this session, or kept by an earlier process of this worker), else None."""
    root, zone = _root(session), _zone(path)
    pinned = pinned_checksum_scheme(root)
    if pinned is not None or zone is None:
        return pinned
    name = _resource(resource)
    if name is not None:
        return _known(root, (zone, name)) or _known(root, (zone, None))
    found = _deepest(root, zone, posixpath.dirname(path)) if path else None
    return found[1][0] if found is not None else _known(root, (zone, None))


def _collections(root: object, zone: str) -> dict[str, _Entry]:
    """The collection entries of ``zone`` the session ``root`` knows (read from the disk the first time);
    TypeError for a session that cannot be weakly referenced."""
    with _SCHEMES_LOCK:
        table = (_COLLECTIONS.get(root) or {}).get(zone)
    if table is not None:
        return table
    origin = origin_of(root)
    kept = {} if origin is None else cached_collections(origin, zone)
    loaded = {collection: (scheme, learned, True) for collection, (scheme, learned) in kept.items()}
    with _SCHEMES_LOCK:
        return _COLLECTIONS.setdefault(root, {}).setdefault(zone, loaded)


def _deepest(root: object, zone: str, collection: str) -> tuple[str, _Entry] | None:
    """The entry of ``collection`` or of its deepest ancestor with one (a new sub-collection is most likely
    under its parent's policy), None when none has one."""
    try:
        table = _collections(root, zone)
    except TypeError:
        return None
    while (entry := table.get(collection)) is None:
        parent = posixpath.dirname(collection)
        if parent == collection:
            return None
        collection = parent
    return collection, entry


def _learn_collection(root: object, zone: str, collection: str, scheme: ChecksumScheme) -> None:
    """Keep ``scheme`` for ``collection`` when the hint was the other one (its deepest ancestor's entry, else
    the zone's; none: the zone's entry learns it), so a site of one scheme keeps no collection. A confirmed
    entry is kept again once older than :data:`REFRESH_SECONDS`."""
    found = _deepest(root, zone, collection)
    predicted = found[1][0] if found is not None else _known(root, (zone, None))
    now = time.time()
    if predicted is None:
        return
    if predicted is scheme:
        if found is None or now - found[1][1] < REFRESH_SECONDS:
            return
        collection = found[0]
    try:
        with _SCHEMES_LOCK:
            _COLLECTIONS.setdefault(root, {}).setdefault(zone, {})[collection] = (scheme, now, False)
    except TypeError:
        return
    if (origin := origin_of(root)) is not None:
        keep_collection(origin, zone, collection, scheme)


def _known(root: object, key: _Key) -> ChecksumScheme | None:
    """The scheme of ``key`` learned by the session ``root``, else kept on disk (asked once per key)."""
    try:
        with _SCHEMES_LOCK:
            scheme = (_SCHEMES.get(root) or {}).get(key)
            if scheme is not None or (origin := origin_of(root)) is None:
                return scheme
            looked_up = _LOOKED_UP.setdefault(root, set())
            if key in looked_up:  # once per session and key: a miss is not asked of the disk again
                return None
            looked_up.add(key)
    except TypeError:  # a session that cannot be weakly referenced: nothing kept for it
        return None
    cached = cached_scheme(origin, *key)
    if cached is not None:
        with _SCHEMES_LOCK:
            if _SCHEMES.setdefault(root, {}).setdefault(key, cached) is cached:
                _FROM_CACHE.setdefault(root, set()).add(key)
    return cached


#: How errors name each scheme.
_NAMES = {
    ChecksumScheme.SHA256: "SHA-256",
    ChecksumScheme.MD5: "MD5",
    ChecksumScheme.SHA512: "SHA-512",
    ChecksumScheme.SHA1: "SHA-1",
    ChecksumScheme.ADLER32: "ADLER-32",
}


def _computed(result: CopyResult) -> str:
    """The schemes ``result`` holds digests of, for an error."""
    names = ["SHA-256"] + (["MD5"] if result.md5 is not None else [])
    return " and ".join(names + [_NAMES[scheme] for scheme, _ in result.others])


def _only_sha256_reason(session: object, path: str, resource: str | None, scheme: ChecksumScheme) -> str:
    """Why ``scheme`` (the server's answer) was not computed for ``path`` on ``resource`` (for the error)."""
    root, zone, name = _root(session), _zone(path), _resource(resource)
    kept = _kept_hint(root, zone, path, name) if zone is not None else None
    theirs = _NAMES[scheme]
    if kept is not None:
        hint = known_checksum_scheme(session, path, resource=resource)
        return (
            f"an earlier process learned {kept} as {_NAMES[hint] if hint else 'another scheme'} (kept in "
            f"{cache_location()}); that is now replaced by {theirs} and nothing was published: the next "
            f"attempt hashes {theirs} too"
        )
    return (
        "checksum_scheme is pinned to another scheme, or the zone, that resource or that collection answered "
        "another scheme earlier, and the source cannot be read again (nothing was published: the next "
        f"attempt hashes {theirs} too); set checksum_scheme to {scheme.value} or leave it unset to learn it "
        "from the server"
    )


def _kept_hint(root: object, zone: str, path: str, name: str | None) -> str | None:
    """What the hint for ``path`` on ``name`` came from when an earlier process kept it, else None."""
    found = _deepest(root, zone, posixpath.dirname(path)) if name is None else None
    if found is not None:
        return f"collection {found[0]}" if found[1][2] else None
    try:
        with _SCHEMES_LOCK:
            known, from_cache = _SCHEMES.get(root) or {}, _FROM_CACHE.get(root, set())
            # The entry the hint came from: the resource's when there is one, else the zone's.
            key = (zone, name) if name is not None and (zone, name) in known else (zone, None)
            cached = key in from_cache
    except TypeError:
        return None
    return None if not cached else "that zone" if key[1] is None else f"resource {key[1]} of that zone"


def server_checksum_matches(server: str, result: CopyResult) -> bool | None:
    """Compare a ``calculate_checksum`` answer with local digests; None when the local digest is missing."""
    scheme = scheme_of(server)
    if scheme is None:
        raise IrodsIntegrityError(f"unrecognised checksum scheme in server answer {server!r}")
    ours = result.checksum_in(scheme)
    return None if ours is None else same_stored_checksum(server, ours)


def verify_checksum(
    session: SessionLike,
    path: str,
    result: CopyResult,
    *,
    force: bool = False,
    learn: bool = True,
    resource: str | None = None,
    rehash: Rehash | None = None,
    by_collection: bool = False,
) -> str:
    """Ask the server for ``path``'s checksum and compare it; a mismatch raises, never warns. Returns it.

    With ``learn`` the answer's format teaches the session the scheme of ``resource`` (the root resource
    the object was written to; None: not known) (see :func:`hasher_for`): only for an answer the server
    computes now (a new object, ``force``), never for a checksum an existing object may have kept from
    before the zone changed its scheme. ``rehash``, ``by_collection``: see :func:`check_server_checksum`.
    """
    server = session.data_objects.calculate_checksum(path, force=force)
    return check_server_checksum(
        session,
        path,
        server,
        result,
        learn=learn,
        target=resource,
        rehash=rehash,
        by_collection=by_collection,
    )


def check_server_checksum(
    session: object,
    path: str,
    server: str,
    result: CopyResult,
    *,
    replica_number: int | None = None,
    resource: str | None = None,
    learn: bool = True,
    target: str | None = None,
    rehash: Rehash | None = None,
    by_collection: bool = False,
) -> str:
    """Compare the server's checksum ``server`` of ``path`` (of one replica when ``replica_number`` is
    given, on hierarchy ``resource``) with ``result``'s digests; a mismatch raises, naming them. Returns it.
    ``learn``: ``server`` was computed now, in the scheme of the server holding the replica, which the
    session remembers for ``target`` (the root resource written to; default: ``resource``'s root).
    ``rehash``: the source hashed again from its first byte in the answer's scheme (raising when it changed),
    for an answer in a scheme the transfer did not compute; without it that answer raises
    IrodsIntegrityError.
    ``by_collection``: an upload naming no resource, whose scheme is learned for ``path``'s collection too."""
    target = target or resource
    verdict = server_checksum_matches(server, result)
    scheme = scheme_of(server) or ChecksumScheme.SHA256  # recognised, else server_checksum_matches raised
    if verdict is None and rehash is not None:
        result = rehash(scheme)
        verdict = server_checksum_matches(server, result)
    reason = _only_sha256_reason(session, path, target, scheme) if verdict is None else ""
    if learn:
        learn_checksum_scheme(session, path, server, resource=target, by_collection=by_collection)
    if verdict is None:
        raise IrodsIntegrityError(
            f"the zone answers {_NAMES[scheme]} checksums but only {_computed(result)} was computed "
            f"({reason})",
            operation="verify",
            path=path,
        )
    if not verdict:
        expected = result.checksum_in(scheme) or ""
        emit("checksum_mismatch")
        raise IrodsChecksumMismatchError(
            "checksum mismatch after transfer"
            if replica_number is None
            else "replica checksum mismatch after transfer",
            expected=expected,
            actual=server,
            operation="verify",
            path=path,
            replica_number=replica_number,
            resource=resource,
        )
    return server


def hasher_for(
    scheme: ChecksumScheme | str | None,
    session: object = None,
    path: str | None = None,
    *,
    stored: str | None = None,
    resource: str | None = None,
) -> StreamHasher:
    """A hasher computing what the server's scheme needs, in the same single pass as the copy.

    ``scheme`` (an explicit override) wins, then the scheme of ``stored`` (the checksum a download's source
    keeps, which the server answers whatever the zone's scheme is now), then the session's pinned or learned
    scheme for ``resource`` (the root resource written to) of ``path``'s zone, then the zone's; unknown →
    MD5 as well as SHA-256 (the two common schemes; another answer re-hashes a re-readable source, else
    fails before publishing and is learned). SHA-256 is always computed (reports and SFTP ``sha256sum``
    checks use it).
    """
    if scheme is not None:
        effective: ChecksumScheme | None = ChecksumScheme(scheme)
    else:
        effective = scheme_of(stored) or known_checksum_scheme(session, path, resource=resource)
    if effective is None:
        return StreamHasher(md5=True)
    return StreamHasher(schemes=(effective,))


def with_server_checksum(result: CopyResult, checksum: str) -> CopyResult:
    """``result`` carrying the verified server checksum (what reports show)."""
    return replace(result, server_checksum=checksum)


T = TypeVar("T")
U = TypeVar("U")


def alongside(
    background: Callable[[], T], foreground: Callable[[], U], *, name: str = "alongside"
) -> tuple[T, U]:
    """``background()`` on a helper thread (``name``) while ``foreground()`` runs here, so their round trips
    overlap; both have finished when this returns or raises. ``foreground``'s error wins (it is the step
    that came first when they ran one after the other), then ``background``'s."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(background())
        except BaseException as exc:  # handed to the caller below
            outcome.append(_Failed(exc))

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        front = foreground()
    finally:
        thread.join()
    back = outcome[0]
    if isinstance(back, _Failed):
        raise back.error
    return back, front


@dataclass(frozen=True)
class _Failed:
    error: BaseException
