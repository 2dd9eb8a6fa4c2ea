"""Pure decisions about a server-side operation whose reply was lost, read from the catalog's replicas.

The iRODS HTTP API closes a connection without a reply when a handler outlasts its whole-request deadline
(``requests.timeout_in_seconds``, 30 s by default; core/src/session.cpp:78 at 0.7.0), and the server still
finishes the work. What the catalog shows then decides (see :mod:`._async._outcomes`, which polls):

- a checksum is registered when its hash ends (dataObjChksumAndRegInfo: irods 4.3.4
  server/api/src/rsDataObjChksum.cpp:587-619) and a registration leaves the replica's size and mtime alone
  (chlModDataObjMeta sets ``modify_ts`` only when asked: plugins/database/src/db_plugin.cpp:2207-2708), so a
  checksum that appears or changes on an otherwise unchanged replica is the server's answer;
- a copy opens its target for writing first (rsDataObjCopy.cpp:314-331): intermediate or locked while the
  bytes move, good with the source's size once closed, stale when it failed (rsDataObjClose.cpp:545-553);
- a replication's new replica is intermediate until finalized, then good with the source's size
  (finalize_destination_replica_for_replication: rsDataObjClose.cpp:267-330);
- a trim unlinks its replica's file and then unregisters it (rsDataObjTrim.cpp, through dataObjUnlinkS):
  the replica is listed, unchanged, until it is gone; an object left with one replica is not trimmed at all
  (the HTTP API's COPIES_KW "1": rsDataObjTrim.cpp:156-222), which the server answers as success;
- a recursive remove for good unlinks object after object and then unregisters the collections
  (``_rsPhyRmColl``: rsRmColl.cpp:352-465), one to the trash is one rename (rsMvCollToTrash, :640-761): the
  tree shrinks while it runs and the collection is gone when it is done.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from irods_provider.client._models import Replica

__all__ = [
    "Seen",
    "Verdict",
    "changed",
    "checksum_verdict",
    "copy_verdict",
    "newest_good",
    "replicate_verdict",
    "trim_verdict",
]

GOOD, STALE = "1", "0"


class Seen(enum.Enum):
    """What the catalog says about the operation."""

    DONE = "done"  # finished (a checksum: ``Verdict.checksum``)
    BUSY = "busy"  # still running: a replica is intermediate or locked
    PENDING = "pending"  # no trace of it yet: not started, still queued, or never arrived
    UNCLEAR = "unclear"  # a forced checksum equal to the stored one: only the bytes can tell
    CHANGED = "changed"  # the object changed (or went) meanwhile: the outcome means nothing
    FAILED = "failed"  # it ended without the result (a copy's target left stale)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A decision; ``replica`` is the one it is about (its size bounds the wait), ``why`` explains it."""

    seen: Seen
    why: str = ""
    replica: Replica | None = None
    checksum: str | None = None


def newest_good(replicas: Sequence[Replica]) -> Replica | None:
    """The good replica a request without targeting acts on: the newest, then the lowest number (as the
    server votes for reading and as ``stat`` reports)."""
    good = [r for r in replicas if r.status == GOOD]
    return max(good, key=lambda r: (r.modified_at, -r.number)) if good else None


def changed(before: Replica, now: Replica) -> str | None:
    """What differs between two looks at one replica (size, mtime, status), or None."""
    for name in ("size", "modified_at", "status"):
        if getattr(before, name) != getattr(now, name):
            return f"replica {now.number} {name} {getattr(before, name)} -> {getattr(now, name)}"
    return None


def _by_number(replicas: Sequence[Replica] | None, number: int) -> Replica | None:
    return next((r for r in replicas or () if r.number == number), None)


def _checksum_target(
    replicas: Sequence[Replica], resource: str | None, replica_number: int | None
) -> Replica | None:
    if replica_number is not None:
        return _by_number(replicas, replica_number)
    if resource is not None:
        under = [r for r in replicas if r.root == resource]
        return next((r for r in under if r.status == GOOD), under[0] if under else None)
    if not replicas:
        return None
    return newest_good(replicas) or max(replicas, key=lambda r: (r.modified_at, -r.number))


def checksum_verdict(
    before: Sequence[Replica] | None,
    now: Sequence[Replica] | None,
    *,
    force: bool,
    resource: str | None = None,
    replica_number: int | None = None,
) -> Verdict:
    """A checksum of one replica: ``before`` is the look taken before the request (``force``) or the first
    look after the loss (else None). Done when the target replica, unchanged otherwise, holds a checksum
    that (``force``) differs from the one it had before; unclear when it holds the very same one."""
    if now is None:
        return Verdict(Seen.CHANGED, "the data object is gone")
    target = _checksum_target(now, resource, replica_number)
    targeted = resource is not None or replica_number is not None
    if force and before is not None:  # the server hashed the replica whose checksum appeared or changed
        for replica in ([target] if target else []) if targeted else [r for r in now if r.status == GOOD]:
            earlier = _by_number(before, replica.number)
            if earlier is not None and replica.checksum and replica.checksum != earlier.checksum:
                done = Verdict(Seen.DONE, replica=replica, checksum=replica.checksum)
                return _unchanged_or(earlier, replica, done)
    if target is None:
        return Verdict(Seen.CHANGED, "the replica it hashes is gone")
    earlier = _by_number(before, target.number)
    if target.status not in (GOOD, STALE):
        return Verdict(Seen.CHANGED, f"replica {target.number} is being written (status {target.status})")
    if earlier is not None and (what := changed(earlier, target)) is not None:
        return Verdict(Seen.CHANGED, what, target)
    if not target.checksum:
        return Verdict(Seen.PENDING, f"replica {target.number} has no checksum yet", target)
    if force:
        return Verdict(Seen.UNCLEAR, f"replica {target.number} still holds the checksum it had", target)
    return Verdict(Seen.DONE, replica=target, checksum=target.checksum)


def _unchanged_or(earlier: Replica, replica: Replica, verdict: Verdict) -> Verdict:
    what = changed(earlier, replica)
    return verdict if what is None else Verdict(Seen.CHANGED, what, replica)


def copy_verdict(
    before: Sequence[Replica] | None, now: Sequence[Replica] | None, source_size: int | None
) -> Verdict:
    """A copy onto a target whose replicas were ``before`` (None: absent) and are ``now``: done when it
    changed and its newest good replica holds the source's size."""
    if now is None:
        return (
            Verdict(Seen.PENDING, "the target is not there")
            if before is None
            else Verdict(Seen.CHANGED, "the target is gone")
        )
    if busy := [r for r in now if r.status not in (GOOD, STALE)]:
        return Verdict(Seen.BUSY, f"replica {busy[0].number} is still being written", busy[0])
    if before is not None and _same(before, now):
        return Verdict(Seen.PENDING, "the target is unchanged")
    good = newest_good(now)
    if good is None:
        return Verdict(Seen.FAILED, "the target's replicas are stale: the copy failed", now[0])
    if source_size is not None and good.size != source_size:
        return Verdict(Seen.CHANGED, f"the target holds {good.size} bytes, the source {source_size}", good)
    return Verdict(Seen.DONE, replica=good)


def _same(before: Sequence[Replica], now: Sequence[Replica]) -> bool:
    if len(before) != len(now):
        return False
    return all((b := _by_number(before, r.number)) is not None and changed(b, r) is None for r in now)


def replicate_verdict(now: Sequence[Replica] | None, dst_resource: str) -> Verdict:
    """A replication to ``dst_resource``: done when every replica under it is good with the size of the
    newest good replica elsewhere (the source)."""
    if now is None:
        return Verdict(Seen.CHANGED, "the data object is gone")
    if busy := [r for r in now if r.status not in (GOOD, STALE)]:
        return Verdict(Seen.BUSY, f"replica {busy[0].number} is still being written", busy[0])
    targets = [r for r in now if r.root == dst_resource]
    source = newest_good([r for r in now if r.root != dst_resource]) or newest_good(now)
    if source is None:
        return Verdict(Seen.CHANGED, "the data object has no good replica")
    if targets and all(r.status == GOOD and r.size == source.size for r in targets):
        return Verdict(Seen.DONE, replica=source)
    return Verdict(Seen.PENDING, f"no good replica on {dst_resource} yet", source)


def trim_verdict(now: Sequence[Replica] | None, replica_number: int) -> Verdict:
    """A trim of ``replica_number``: done when that replica is gone, or when the object has one replica
    left (the server trims nothing then and answers success); running while it is listed."""
    if now is None:
        return Verdict(Seen.CHANGED, "the data object is gone")
    target = _by_number(now, replica_number)
    if target is None or len(now) <= 1:
        return Verdict(Seen.DONE, replica=target)
    if target.status not in (GOOD, STALE):
        return Verdict(Seen.BUSY, f"replica {target.number} is being written", target)
    return Verdict(Seen.PENDING, f"replica {replica_number} is still listed", target)
