"""Verifying every replica of an uploaded object before it is published (see :class:`ReplicaVerification`).

A replication resource (or a compound one) copies a write onto its other children when the write closes, so
a new object may have several replicas, and ``calculate_checksum`` hashes only the one the server votes for.
Here each replica must be good and hash, recomputed by the server (``force``), to the bytes the engine sent.

Why per replica and not ``calculate_checksum all=1``: over good replicas that differ, rsDataObjChksum
(irods/irods server/api/src/rsDataObjChksum.cpp, ``do_lookup_or_update``, 4.3.2 to 5.0.2) returns status 0
with a NULL checksum and its warning only in rError, which the HTTP API never shows; its response then
builds a std::string from that NULL (data_objects/src/main.cpp:2670 at 0.7.0): HTTP 500 from a libstdc++
build, a read through a null pointer from the libc++ build made against iRODS 4.3. And ``all`` skips stale
replicas silently. ``replica-number`` on calculate_checksum is passed on as REPL_NUM_KW by every release
(data_objects:2095 at 0.5.0, :2537 at 0.6.0, :2643 at 0.7.0), unlike read/write targeting before 0.6.0, so
this works the same against 0.5.0.
"""

from __future__ import annotations

import logging
import posixpath
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from irods_provider.client._events import emit
from irods_provider.exceptions import (
    IrodsChecksumMismatchError,
    IrodsNotADataObjectError,
    IrodsStaleReplicaError,
)

from ._api import ReplicaLike, SessionLike
from ._config import ChecksumScheme, ReplicaVerification, TransferConfig
from ._copy import (
    CopyResult,
    Rehash,
    _root,
    _zone,
    check_server_checksum,
    learn_checksum_scheme,
    verify_checksum,
)
from ._hashes import scheme_of

log = logging.getLogger(__name__)

# What each session learned: does an upload to (zone, resource, collection) get several replicas?
# Per collection, because a site's resource policy may pick the resource by path (acSetRescSchemeForCreate
# on ``$objPath like "/zone/home/project/*"``): one collection replicated, its sibling not. ``_PROBING``
# while the first upload there finds out (the others wait for its answer rather than asking too).
_PROBING = object()
_Key = tuple[str | None, str | None, str]
_LAYOUTS: weakref.WeakKeyDictionary[Any, dict[_Key, object]] = weakref.WeakKeyDictionary()
_LAYOUTS_CHANGED = threading.Condition()


def verify_upload(
    session: SessionLike,
    path: str,
    result: CopyResult,
    *,
    config: TransferConfig,
    rehash: Rehash | None = None,
) -> str:
    """Verify the uploaded object at ``path`` (a temporary, not yet published) against ``result``, every
    replica of it as ``config.verify_replicas`` asks; the zone's checksum. A replica that is not good
    raises :class:`IrodsStaleReplicaError`, one whose bytes differ :class:`IrodsChecksumMismatchError`,
    each naming the replica number and resource hierarchy. ``rehash``: the source hashed again in a
    scheme a server answered that the transfer did not compute (called once per such scheme)."""
    mode, rehash = config.verify_replicas, _once(rehash)
    by_collection = config.resource is None  # the site's policy may pick the resource by collection

    def voted() -> str:
        return verify_checksum(
            session, path, result, resource=config.resource, rehash=rehash, by_collection=by_collection
        )

    if mode is ReplicaVerification.DEFAULT:
        return voted()
    key = (_zone(path), config.resource, posixpath.dirname(path))
    several = _claim(session, key) if mode is ReplicaVerification.AUTO else True
    if several is False:
        return voted()
    learned: bool | None = None
    try:
        replicas = session.data_objects.replicas(path)
        learned = len(replicas) > 1
    except IrodsNotADataObjectError:
        if mode is ReplicaVerification.ALL:
            raise
        # The catalog does not list it to this user (a ticket's access): only the voted replica can be
        # checked, here and in the session's later uploads there.
        log.warning("the replicas of %s are not listed to this user: only one replica is verified", path)
        learned = False
        return voted()
    finally:
        if several is None:
            _settle(session, key, learned)
    _require_good(path, replicas)
    if len(replicas) == 1:
        return voted()
    return _verify_each(session, path, result, replicas, rehash=rehash, by_collection=by_collection)


def _once(rehash: Rehash | None) -> Rehash | None:
    """``rehash`` run once per scheme (several replicas may answer another scheme), its results kept."""
    if rehash is None:
        return None
    done: list[CopyResult] = []

    def run(scheme: ChecksumScheme) -> CopyResult:
        for result in done:
            if result.checksum_in(scheme) is not None:
                return result
        done.append(rehash(scheme))
        return done[-1]

    return run


def verify_in_place(session: SessionLike, path: str, checksum: str, *, mode: ReplicaVerification) -> None:
    """Verify the replicas of ``path`` after its voted replica was overwritten in place (a copy onto it)
    and proven to hold ``checksum``: unless ``mode`` is DEFAULT, every good replica must hash afresh to it,
    and a replica under the same root resource as a good one must be good (its replication failed
    otherwise: :class:`IrodsStaleReplicaError`). Replicas on other root resources go stale, as ``iput -f``
    leaves them (a copy writes one replica and its replication resource's siblings): expected, logged."""
    if mode is ReplicaVerification.DEFAULT:
        return
    try:
        replicas = session.data_objects.replicas(path)
    except IrodsNotADataObjectError:
        if mode is ReplicaVerification.ALL:
            raise
        log.warning("the replicas of %s are not listed to this user: only one replica is verified", path)
        return
    good = [r for r in replicas if r.status == "1"]
    roots = {_root_of(r) for r in good}
    _require_good(path, [r for r in replicas if _root_of(r) in roots])
    if left := [r.hierarchy for r in replicas if _root_of(r) not in roots]:
        log.info("%s overwritten in place: its replicas on %s are stale now (as after iput -f)", path, left)
    for replica in good if len(good) > 1 else ():
        server = session.data_objects.calculate_checksum(
            path, replica_number=replica.number, force=True, replicas_before=replicas
        )
        if server != checksum:
            emit("checksum_mismatch")
            raise IrodsChecksumMismatchError(
                "a replica of the object overwritten in place differs from the bytes copied onto it",
                expected=checksum,
                actual=server,
                operation="verify",
                path=path,
                replica_number=replica.number,
                resource=replica.hierarchy,
            )


def _root_of(replica: ReplicaLike) -> str:
    return replica.hierarchy.partition(";")[0]


def _require_good(path: str, replicas: Sequence[ReplicaLike]) -> None:
    for replica in replicas:
        if replica.status != "1":
            raise IrodsStaleReplicaError(
                "a replica of the uploaded object is not good (its copy did not complete); not published",
                replica_number=replica.number,
                resource=replica.hierarchy,
                status=replica.status,
                operation="verify",
                path=path,
            )


def _verify_each(
    session: SessionLike,
    path: str,
    result: CopyResult,
    replicas: Sequence[ReplicaLike],
    *,
    rehash: Rehash | None,
    by_collection: bool = False,
) -> str:
    """Have the server hash each replica afresh and compare it with ``result``; the (common) checksum.

    Replicas of one root resource on servers of different schemes answer both; what is learned for the root
    is then the other one (SHA-256 is always computed as well), or the next upload there would lack it
    again; so is what is learned for the collection with ``by_collection`` (an upload naming no resource)."""
    checksum = ""
    answers: dict[str, str] = {}
    try:
        for replica in replicas:
            server = session.data_objects.calculate_checksum(
                path, replica_number=replica.number, force=True, replicas_before=replicas
            )
            root = _root_of(replica)
            other = scheme_of(server) is not ChecksumScheme.SHA256
            answers[root] = server if other else answers.get(root, server)
            checksum = check_server_checksum(
                session,
                path,
                server,
                result,
                replica_number=replica.number,
                resource=replica.hierarchy,
                learn=False,
                rehash=rehash,
            )
    finally:
        for root, answer in answers.items():
            learn_checksum_scheme(session, path, answer, resource=root)
        others = [answer for answer in answers.values() if scheme_of(answer) is not ChecksumScheme.SHA256]
        if by_collection and answers:
            learn_checksum_scheme(session, path, (others or [*answers.values()])[0], by_collection=True)
    return checksum


def _claim(session: object, key: _Key) -> bool | None:
    """What ``session`` knows of uploads to ``key``: several replicas or not; None: the caller finds out
    (and must :func:`_settle`), while the others asking meanwhile wait for its answer."""
    try:
        with _LAYOUTS_CHANGED:
            known = _LAYOUTS.setdefault(_root(session), {})
            while known.get(key) is _PROBING:
                _LAYOUTS_CHANGED.wait()
            value = known.get(key)
            if value is None:
                known[key] = _PROBING
            return value if isinstance(value, bool) else None
    except TypeError:  # a session that cannot be weakly referenced learns nothing: it always asks
        return None


def _settle(session: object, key: _Key, several: bool | None) -> None:
    """Record what the probe of ``key`` found (None: it failed, the next upload asks again)."""
    try:
        with _LAYOUTS_CHANGED:
            known = _LAYOUTS.setdefault(_root(session), {})
            if several is None:
                known.pop(key, None)
            else:
                known[key] = several
            _LAYOUTS_CHANGED.notify_all()
    except TypeError:
        return
