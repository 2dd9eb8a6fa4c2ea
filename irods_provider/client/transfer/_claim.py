"""Who overwrites a path in place: one writer at a time, named on the backup it keeps, alive while it renews.

An overwrite in place (:mod:`._copyover`) keeps the path's old bytes in a backup under a name derived from
the path. That name is also the *claim*: a writer copies the backup to a name of its own, records itself on
it (:data:`WRITER_ATTRIBUTE`: an attempt id unique to this overwrite, an owner key shared by the retries of
one transfer, the time, its lease) and renames it to the backup name. The catalog grants that rename to one
writer only: chlRenameObject refuses an existing name (db_plugin.cpp:10775-10786 at irods 4.3.4) and
R_DATA_MAIN's unique index on the collection and name (``idx_data_main2``, icatSysTables.sql.pp.in:202-204)
settles two renames at once.

A live writer renews its claim (:class:`Lease`) every fifth of its lease: one atomic metadata call replaces
its :data:`LEASE_ATTRIBUTE` AVU with the time now (``modify_metadata``, rc_atomic_apply_metadata_operations,
in every HTTP API release: endpoints/data_objects/src/main.cpp:233 at 0.5.0, :280 at 0.7.0). Another writer
finding a claim is refused (:class:`IrodsPathClaimedError`) unless the claim was not renewed for its lease
(its writer is dead: ``kill -9``, a lost host), carries no record, or is its own transfer's (a retry): then
it is an abandoned attempt's, resolved from its checksums (see :mod:`._copyover`), and the claim is taken by
the same exclusive rename. A live writer never lets its claim look abandoned: it starts no change to the
path unless its last renewal is younger than three fifths of the lease (:meth:`Lease.confirm`), so two
writers whose clocks agree within two fifths of the lease (two minutes at the default five) never both
proceed. A claim recorded without a lease (an older version, which did not renew) keeps others out a day.

A writer checks that the claim is still its own before it copies onto the path, before it puts its backup
back and before it removes the claim: one whose claim was taken over stops, never reverting the path under
the writer that holds it now. One that cannot read its claim (the read failed after its retries) or renew
it in time stops too, saying so (:class:`IrodsClaimUnconfirmedError`), not that it was taken over.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from irods_provider.client import AVU, MetadataOperation
from irods_provider.client._paths import temporary_prefix
from irods_provider.client._temporaries import LEASE_ATTRIBUTE, WRITER_ATTRIBUTE, latest_renewal
from irods_provider.exceptions import (
    IrodsClaimUnconfirmedError,
    IrodsError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsPathClaimedError,
)

from . import _resume
from ._api import SessionLike
from ._retry import ChunkRetrier

log = logging.getLogger(__name__)

#: How long a claim its writer stopped renewing keeps other writers out, by default (TransferConfig
#: ``claim_lease_seconds``); its writer renews it every fifth of that.
CLAIM_LEASE_SECONDS = 300.0
#: The lease of a claim recorded without one (by a version that did not renew it): a day, the default
#: minimum age of the temporaries' cleanup.
LEGACY_LEASE_SECONDS = 24 * 3600.0
#: Renewals per lease: a renewal that fails is tried again a fifth of the lease later.
RENEWALS_PER_LEASE = 5
#: The renewal time a writer records when it stops and leaves its claim (a backup it could not put back):
#: lapsed at once, so the next writer resolves it without waiting for the lease.
RELEASED = 1.0
#: The part of the lease a writer's last renewal may be old for it to start a change to the path: the
#: rest covers the clocks' disagreement between writers and the request's own time.
CONFIRM_FRACTION = 0.6


@dataclass(frozen=True)
class Claim:
    """One writer's record on the backup it claims a path with, and when it was last renewed."""

    attempt: str
    owner: str
    since: float
    lease: float = CLAIM_LEASE_SECONDS
    renewed: float = 0.0
    renewing: bool = True  # False: recorded by a version that did not renew (a lease of a day)

    @classmethod
    def new(cls, owner: str | None, temp: str, *, lease: float = CLAIM_LEASE_SECONDS) -> Claim:
        """This overwrite's record: a fresh attempt id and the owner key. ``owner``: the key every attempt
        of this transfer derives (an upload's resume key and path, see :class:`~._copyover.InPlace`); None
        takes it from the name of the temporary ``temp`` it publishes, which only a retry finding that same
        temporary shares (not one that had to write through a fresh name)."""
        key = owner_key(owner, temp)
        now = time.time()
        return cls(attempt=uuid.uuid4().hex[:16], owner=key, since=now, lease=lease, renewed=now)

    def stamped(self) -> Claim:
        """This record as of now (recorded when the claim is made, not when the overwrite began)."""
        now = time.time()
        return replace(self, since=now, renewed=now)

    @property
    def value(self) -> str:
        """The :data:`WRITER_ATTRIBUTE` value: ``<attempt> <owner> <epoch seconds>``, as versions that did
        not renew wrote it (they read it, and keep out of a claim it names, for a day)."""
        return f"{self.attempt} {self.owner} {int(self.since)}"

    def lease_value(self, stamp: float) -> str:
        """The :data:`LEASE_ATTRIBUTE` value of a renewal at ``stamp``: ``<attempt> <epoch seconds, ms>
        <lease seconds>``."""
        return f"{self.attempt} {stamp:.3f} {self.lease:g}"

    @property
    def last_renewed(self) -> float:
        """When the claim was last renewed (made, for one that does not renew; epoch seconds, its
        writer's clock). :data:`RELEASED` once its writer gave it up."""
        return self.renewed if self.renewing else self.since

    @classmethod
    def parse(cls, value: str) -> Claim | None:
        """A recorded claim; None when the value is not one."""
        parts = value.split(" ")
        if len(parts) != 3 or not parts[2].isdigit():
            return None
        since = float(parts[2])
        return cls(parts[0], parts[1], since, lease=LEGACY_LEASE_SECONDS, renewed=since, renewing=False)

    def part_name(self, path: str) -> str:
        """Where this transfer copies its backup before claiming: an ordinary temporary named from the owner
        key (a retry finds, and discards, what a killed attempt left), which the cleanup sweeps. It holds
        ``path``'s old bytes, never published: it does not end with the extension, so policies keyed on it
        (``acPostProcForCopy`` on ``*.fits``) leave a backup alone."""
        parent, _, name = path.rpartition("/")
        key = _resume.resume_key("keep-part", self.owner)[:12]
        return f"{parent}/{temporary_prefix(name, 'part', key_length=len(key))}{key}"


def owner_key(owner: str | None, temp: str) -> str:
    """The key naming a transfer (see :meth:`Claim.new`)."""
    return _resume.resume_key("owner", owner or temp.rpartition("/")[2])


def read_claim(
    session: SessionLike, claim: str, path: str, *, retry: ChunkRetrier | None = None, mine: bool = False
) -> tuple[bool, Claim | None, list[AVU]]:
    """Whether ``claim`` exists, the writer recorded on it (None: no record) with its latest renewal, and
    all its AVUs (read with ``retry``'s retries). A read that fails otherwise than by the claim's absence
    raises :class:`IrodsClaimUnconfirmedError` naming ``path``, the claim and the failure (``mine``: the
    reader holds the claim, as far as it knows)."""

    def read() -> list[AVU]:
        avus: list[AVU] = session.metadata.list(claim)
        return avus

    try:
        avus = read() if retry is None else retry.call(read)
    except (IrodsNotFoundError, IrodsNotADataObjectError):
        return False, None, []
    except IrodsError as exc:
        what = (
            "this writer cannot tell whether it still holds it, so it stopped before its next change to "
            "the path; the claim is left to lapse (its lease is no longer renewed), then the next writer "
            "resolves it"
            if mine
            else "whether another writer holds the path is unknown, so this writer changed nothing: retry"
        )
        raise IrodsClaimUnconfirmedError(
            f"could not read the claim {claim} on {path} ({type(exc).__name__}: {exc}); {what}",
            claim=claim,
            cause=exc,
            operation="upload",
            path=path,
        ) from exc
    found = _recorded(avus)
    return True, found, avus


def _recorded(avus: Sequence[AVU]) -> Claim | None:
    """The writer recorded in ``avus`` with its latest renewal and its lease (a writer with no renewal
    recorded did not renew: a lease of a day). Renewals of other attempts are ignored: a renewal racing a
    takeover may land on the new holder's claim."""
    found = next(
        (c for a in avus if a.attribute == WRITER_ATTRIBUTE and (c := Claim.parse(a.value)) is not None), None
    )
    if found is None:
        return None
    if (renewal := latest_renewal(avus, found.attempt)) is not None:
        found = replace(found, renewed=renewal[0], lease=renewal[1], renewing=True)
    return found


def recorded_writer(avus: Sequence[AVU]) -> Claim | None:
    """The writer recorded in ``avus`` (a claim's or a temporary's) with its latest renewal, or None."""
    return _recorded(avus)


def holder(session: SessionLike, claim: str, path: str = "") -> tuple[bool, Claim | None]:
    """Whether ``claim`` exists, and the writer recorded on it (None: no record)."""
    exists, found, _ = read_claim(session, claim, path or claim)
    return exists, found


def is_abandoned(found: Claim | None, me: Claim) -> bool:
    """Whether a claim recording ``found`` may be taken over by ``me``: no record (made before claims were
    recorded), the same transfer's (a retry), or not renewed for its writer's lease (judged by this
    writer's clock against the recorded times)."""
    if found is None:
        return True
    return found.owner == me.owner or time.time() - found.last_renewed >= found.lease


def still_mine(
    session: SessionLike,
    claim: str,
    me: Claim,
    path: str = "",
    *,
    retry: ChunkRetrier | None = None,
) -> tuple[bool, Claim | None]:
    """Whether ``claim`` still records ``me`` (no other writer took it over), and who it records."""
    _, found, _ = read_claim(session, claim, path or claim, retry=retry, mine=True)
    return found is not None and found.attempt == me.attempt, found


class Lease:
    """Keeps ``me``'s claim alive while its writer works: renews it from a daemon thread every fifth of the
    lease until :meth:`stop`. :meth:`confirm` tells the writer whether it may start a change to the path."""

    def __init__(self, session: SessionLike, claim: str, path: str, me: Claim) -> None:
        self._session, self._claim, self._path, self._me = session, claim, path, me
        self._period = me.lease / RENEWALS_PER_LEASE
        self._stamp = me.since  # the epoch time last recorded (the record's own at first)
        # When that time was taken, on the monotonic clock: the claim is at least that fresh.
        self._ok_at = time.monotonic() - max(0.0, time.time() - me.since)
        self._failure: BaseException | None = None
        self._lock = threading.Lock()
        self._renewing = threading.Lock()  # one renewal at a time: each replaces the one before
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"irods-claim-lease {claim}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, *, wait: bool = True) -> None:
        """Stop renewing (the claim lapses after its lease unless removed); ``wait``: until a renewal under
        way is done (a finalizer does not wait)."""
        self._stopped.set()
        if wait and self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(self._period + 60)

    @property
    def recorded(self) -> AVU:
        """The renewal AVU on the claim now (once stopped: the one it keeps)."""
        with self._renewing, self._lock:
            return AVU(LEASE_ATTRIBUTE, self._me.lease_value(self._stamp))

    def give_up(self) -> None:
        """Stop renewing and mark the claim lapsed (:data:`RELEASED`): this writer stopped and leaves it,
        and the next writer need not wait for the lease to resolve it. Best effort (a failure is logged:
        the claim then lapses with its lease)."""
        self.stop()
        with self._renewing, self._lock:
            previous = self._stamp
        try:
            self._restamp(previous, RELEASED)
        except Exception as exc:
            log.warning("could not mark the claim %s on %s given up: %s", self._claim, self._path, exc)

    def _restamp(self, previous: float, stamp: float) -> None:
        """Replace the claim's renewal AVU of ``previous`` by one of ``stamp``, in one atomic call (another
        writer never sees the claim without one)."""
        ops = [
            MetadataOperation("remove", AVU(LEASE_ATTRIBUTE, self._me.lease_value(previous))),
            MetadataOperation("add", AVU(LEASE_ATTRIBUTE, self._me.lease_value(stamp))),
        ]
        self._session.metadata.apply(self._claim, ops, kind=_resume._data_object_kind())

    def _run(self) -> None:
        while not self._stopped.wait(self._period):
            self.renew()

    def renew(self) -> bool:
        """Record the time now on the claim (one atomic call: the previous renewal removed, this one added);
        False when that failed (tried again a period later)."""
        with self._renewing:
            return self._renew()

    def _renew(self) -> bool:
        sent, stamp = time.monotonic(), time.time()
        with self._lock:
            previous = self._stamp
        try:
            self._restamp(previous, stamp)
        except Exception as exc:
            log.warning("could not renew the claim %s on %s: %s", self._claim, self._path, exc)
            with self._lock:
                self._failure = exc
            return False
        with self._lock:
            self._stamp, self._ok_at, self._failure = stamp, max(self._ok_at, sent), None
        return True

    def confirm(self) -> None:
        """Raise :class:`IrodsClaimUnconfirmedError` unless the claim was renewed recently enough for this
        writer to start a change to the path (renewed now once if not: a stalled renewer, a paused host)."""
        limit = self._me.lease * CONFIRM_FRACTION
        with self._lock:
            fresh = time.monotonic() - self._ok_at < limit
        if fresh or self.renew():
            return
        with self._lock:
            failure = self._failure
        raise IrodsClaimUnconfirmedError(
            f"could not renew the claim {self._claim} on {self._path} within {limit:g} s of its "
            f"{self._me.lease:g} s lease ({type(failure).__name__}: {failure}); another writer may take it "
            "over, so this writer stopped before its next change to the path",
            claim=self._claim,
            cause=failure,
            operation="upload",
            path=self._path,
        ) from failure


def claimed_error(
    path: str, claim: str, found: Claim | None, *, taken: bool = False
) -> IrodsPathClaimedError:
    """The typed refusal: another writer holds ``path`` by ``claim``."""
    who = "a writer this user cannot read the record of" if found is None else f"writer {found.attempt}"
    since = "" if found is None else f" since {_utc(found.since)}"
    if taken:
        what = f"another writer ({who}) took over {path}{since} while this one overwrote it in place"
        tail = "this writer stopped and put nothing back; the path is left to it"
    else:
        renewed = "" if found is None else f", last renewed {_utc(found.last_renewed)}"
        lease = LEGACY_LEASE_SECONDS if found is None else found.lease
        what = f"another writer ({who}) holds {path}{since}{renewed}: it is overwriting it in place"
        tail = (
            f"retry once it is done; a claim not renewed for its lease ({lease:g} s: its writer is dead) is "
            "resolved by the next writer or the cleanup of abandoned temporaries"
        )
    return IrodsPathClaimedError(
        f"{what} (claim {claim}); {tail}",
        claim=claim,
        writer=None if found is None else found.attempt,
        since=None if found is None else found.since,
        operation="upload",
        path=path,
    )


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
