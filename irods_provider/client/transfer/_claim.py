"""Who overwrites a path in place: one writer at a time, named on the backup it keeps.

An overwrite in place (:mod:`._copyover`) keeps the path's old bytes in a backup under a name derived from
the path. That name is also the *claim*: a writer copies the backup to a name of its own, records itself on
it (:data:`WRITER_ATTRIBUTE`: an attempt id unique to this overwrite, an owner key shared by the retries of
one transfer, the time) and renames it to the backup name. The catalog grants that rename to one writer
only: chlRenameObject refuses an existing name (db_plugin.cpp:10775-10786 at irods 4.3.4) and R_DATA_MAIN's
unique index on the collection and name (``idx_data_main2``, icatSysTables.sql.pp.in:202-204) settles two
renames at once. Another writer finding a claim is refused (:class:`IrodsPathClaimedError`), unless the
claim is older than :data:`CLAIM_LEASE_SECONDS`, carries no record, or is its own transfer's (a retry after
``kill -9``): then it is an abandoned attempt's, resolved from its checksums (see :mod:`._copyover`).

A writer checks that the claim is still its own before it copies onto the path, before it puts its backup
back and before it removes the claim: one whose claim was taken over (deemed dead) stops, never reverting
the path under the writer that holds it now. Between such a check and the request after it the claim can
still change hands; only the lease's expiry or a retry of the same transfer takes a claim over.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from irods_provider.client._paths import temporary_prefix
from irods_provider.client._temporaries import WRITER_ATTRIBUTE
from irods_provider.exceptions import (
    IrodsError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsPathClaimedError,
)

from . import _resume
from ._api import SessionLike

#: How long a claim keeps other writers out: one day, the default minimum age of the temporaries' cleanup.
CLAIM_LEASE_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class Claim:
    """One writer's record on the backup it claims a path with."""

    attempt: str
    owner: str
    since: float

    @classmethod
    def new(cls, owner: str | None, temp: str) -> Claim:
        """This overwrite's record: a fresh attempt id and the owner key. ``owner``: the key every attempt
        of this transfer derives (an upload's resume key and path, see :class:`~._copyover.InPlace`); None
        takes it from the name of the temporary ``temp`` it publishes, which only a retry finding that same
        temporary shares (not one that had to write through a fresh name)."""
        key = _resume.resume_key("owner", owner or temp.rpartition("/")[2])
        return cls(attempt=uuid.uuid4().hex[:16], owner=key, since=time.time())

    @property
    def value(self) -> str:
        """The AVU value: ``<attempt> <owner> <epoch seconds>``."""
        return f"{self.attempt} {self.owner} {int(self.since)}"

    @classmethod
    def parse(cls, value: str) -> Claim | None:
        """A recorded claim; None when the value is not one."""
        parts = value.split(" ")
        if len(parts) != 3 or not parts[2].isdigit():
            return None
        return cls(attempt=parts[0], owner=parts[1], since=float(parts[2]))

    def part_name(self, path: str) -> str:
        """Where this transfer copies its backup before claiming: an ordinary temporary named from the owner
        key (a retry finds, and discards, what a killed attempt left), which the cleanup sweeps. It holds
        ``path``'s old bytes, never published: it does not end with the extension, so policies keyed on it
        (``acPostProcForCopy`` on ``*.fits``) leave a backup alone."""
        parent, _, name = path.rpartition("/")
        key = _resume.resume_key("keep-part", self.owner)[:12]
        return f"{parent}/{temporary_prefix(name, 'part', key_length=len(key))}{key}"


def holder(session: SessionLike, claim: str) -> tuple[bool, Claim | None]:
    """Whether ``claim`` exists, and the writer recorded on it (None: no record, or not readable)."""
    try:
        avus = session.metadata.list(claim)
    except (IrodsNotFoundError, IrodsNotADataObjectError):
        return False, None
    except IrodsError:
        return True, None
    for avu in avus:
        if avu.attribute == WRITER_ATTRIBUTE and (found := Claim.parse(avu.value)) is not None:
            return True, found
    return True, None


def is_abandoned(found: Claim | None, me: Claim) -> bool:
    """Whether a claim recording ``found`` may be taken over by ``me``: no record (made before claims were
    recorded), the same transfer's (a retry), or older than the lease."""
    if found is None:
        return True
    return found.owner == me.owner or time.time() - found.since >= CLAIM_LEASE_SECONDS


def still_mine(session: SessionLike, claim: str, me: Claim) -> bool:
    """Whether ``claim`` still records ``me`` (no other writer took it over)."""
    _, found = holder(session, claim)
    return found is not None and found.attempt == me.attempt


def claimed_error(
    path: str, claim: str, found: Claim | None, *, taken: bool = False
) -> IrodsPathClaimedError:
    """The typed refusal: another writer holds ``path`` by ``claim``."""
    who = "a writer this user cannot read the record of" if found is None else f"writer {found.attempt}"
    since = "" if found is None else f" since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(found.since))}"
    if taken:
        what = f"another writer ({who}) took over {path}{since} while this one overwrote it in place"
        tail = "this writer stopped and put nothing back; the path is left to it"
    else:
        what = f"another writer ({who}) holds {path}{since}: it is overwriting it in place"
        tail = (
            "retry once it is done; a claim older than "
            f"{CLAIM_LEASE_SECONDS / 3600:g} h (a killed writer's) is resolved by the next writer or the "
            "cleanup of abandoned temporaries"
        )
    return IrodsPathClaimedError(
        f"{what} (claim {claim}); {tail}",
        claim=claim,
        writer=None if found is None else found.attempt,
        since=None if found is None else found.since,
        operation="upload",
        path=path,
    )
