"""Single flight for failed token renewals too: callers that queued behind a renewal that failed share its
failure instead of repeating it one after another (N threads cost one request and one timeout, and a wrong
password costs one login attempt, not N: PAM/LDAP lock accounts out after a few)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

from irods_provider.exceptions import IrodsError

__all__ = ["RenewalRecord"]


class RenewalRecord:
    """Counts the renewals that ended and keeps the failure of the last one (until one succeeds).

    A caller takes a :meth:`ticket` before it waits for the renewal lock; once it holds the lock,
    :meth:`raise_failure_since` raises the failure of a renewal that ended while it waited (it queued
    behind that renewal and would only repeat it). A renewal that failed before the caller started
    waiting is not shared: a later call tries again.
    """

    def __init__(self) -> None:
        self.ended = 0
        self._failure: tuple[int, IrodsError] | None = None

    def ticket(self) -> int:
        """The number of renewals ended so far (taken before waiting for the lock)."""
        return self.ended

    def raise_failure_since(self, ticket: int) -> None:
        """Raise (a copy of) the failure of a renewal that ended after ``ticket`` was taken, if any."""
        failure = self._failure
        if failure is not None and failure[0] > ticket:
            raise copy.copy(failure[1]) from failure[1]

    @contextmanager
    def renewing(self) -> Iterator[None]:
        """Wrap one renewal: count it, and remember its typed failure (forgotten on the next success)."""
        try:
            yield
        except IrodsError as error:
            self.ended += 1
            self._failure = (self.ended, error)
            raise
        self.ended += 1
        self._failure = None
