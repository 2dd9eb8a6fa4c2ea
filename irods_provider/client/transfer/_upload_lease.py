"""The lease an upload keeps on its temporary object while it writes it, so a sweep knows it is alive.

A temporary's mtime moves only when a write handle on it closes (the catalog stamps the replica as its
writer closes it: irods 4.3.4 plugins/api/src/replica_close.cpp:246-253), so one an upload resumes days
after its first attempt, or writes for longer than a sweep's ``min_age``, looks abandoned all along. The
upload records itself and a lease with its first handle, in the same call (``WRITER_ATTRIBUTE``,
``LEASE_ATTRIBUTE``, as :class:`~._atomic.AtomicWriter` does), renews it every fifth of
``TransferConfig.claim_lease_seconds`` (:class:`~._claim.Lease`) and drops both with its other records when
it finishes the temporary. ``remove_temporaries`` leaves a temporary whose lease has not lapsed alone.
The lease only speaks to the sweep: the engine's next attempt, which derives the same name, still takes the
temporary over at once (see ``_upload._live_writer``).
"""

from __future__ import annotations

from irods_provider.client import AVU, MetadataOperation
from irods_provider.client._temporaries import LEASE_ATTRIBUTE, WRITER_ATTRIBUTE

from . import _journal, _resume
from ._api import SessionLike
from ._claim import Claim, Lease

__all__ = ["UploadLease"]


class UploadLease:
    """One upload attempt's lease on its temporary: recorded with its first handle (``hooks``), renewed
    from then on, stopped by :meth:`stop` (a failure: it lapses) or :meth:`forget` (the finish)."""

    def __init__(self, session: SessionLike, path: str, *, owner: str | None, lease: float) -> None:
        self._session, self._path = session, path
        self._me = Claim.new(owner, path, lease=lease)
        self._lease: Lease | None = None
        self.hooks = _resume.LeaseHooks(record=self._record, recorded=self._start)

    def _record(self) -> list[MetadataOperation]:
        """The writer and its first lease, added with the first handle (stamped now)."""
        self._me = me = self._me.stamped()
        return [
            MetadataOperation("add", AVU(WRITER_ATTRIBUTE, me.value)),
            MetadataOperation("add", AVU(LEASE_ATTRIBUTE, me.lease_value(me.since))),
        ]

    def _start(self, temp: str) -> None:
        """Renew the lease recorded for ``temp`` (on it, or on its journal) from now on."""
        self._lease = Lease(self._session, _journal.records_at(self._session, temp), self._path, self._me)
        self._lease.__enter__()

    def stop(self) -> None:
        """Stop renewing: the lease lapses (the attempt failed; its temporary is a later attempt's)."""
        if self._lease is not None:
            self._lease.stop()

    def forget(self) -> list[MetadataOperation]:
        """Stop renewing; the operations removing the lease's records (none when none was recorded), for the
        finish's one atomic call."""
        if self._lease is None:
            return []
        self._lease.stop()
        return [
            MetadataOperation("remove", AVU(WRITER_ATTRIBUTE, self._me.value)),
            MetadataOperation("remove", self._lease.recorded),
        ]
