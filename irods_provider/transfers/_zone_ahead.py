"""The zone asked about an upload's destination argument while the SFTP side is still connecting.

A single file named alone goes to the destination itself unless that is a collection, and its parent is
created unless it is one; the engine then asks what data object is at the target. None of this depends
on an SFTP answer, so the three requests go out while SSH connection #0 comes up and the plan takes their
answers (raising their errors where it would have asked) instead of three round trips after the listing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from irods_provider.client.transfer._policy import DestinationState, irods_destination

if TYPE_CHECKING:
    from irods_provider.client import IrodsSession

__all__ = ["ZoneAhead", "zone_ahead"]


class ZoneAhead:
    """Answers asked ahead: :meth:`is_collection` of the destination and its parent (any other path is
    asked now), and :meth:`take_known` of the data object at the destination (once: a retried file asks
    again)."""

    def __init__(self, session: IrodsSession, destination: str, pool: ThreadPoolExecutor | None) -> None:
        self._session, self._destination = session, destination
        self._collections: dict[str, Future[bool]] = {}
        self._object: Future[DestinationState] | None = None
        if pool is None:
            return
        parent = posixpath.dirname(destination)
        for path in {destination, parent} - {"/", ""}:
            self._collections[path] = pool.submit(self._ask, session.collections.exists, path)
        self._object = pool.submit(self._ask, irods_destination, session, destination)

    @staticmethod
    def _ask(call: Callable[..., Any], *args: Any) -> Any:
        return call(*args)

    def is_collection(self, path: str) -> bool:
        """Whether ``path`` is a collection: the answer asked ahead, else (not asked, or that failed) asked
        now, so an error is raised by the same call as without asking ahead."""
        asked = self._collections.get(path)
        if asked is not None and asked.exception() is None:
            return asked.result()
        return self._session.collections.exists(path)

    def take_known(self, path: str) -> DestinationState | None:
        """What was asked ahead of the data object at the destination, once (a retried file asks again);
        None for another path or when asking failed (the engine asks, and raises, itself)."""
        if path != self._destination or self._object is None:
            return None
        asked, self._object = self._object, None
        return asked.result() if asked.exception() is None else None


@contextmanager
def zone_ahead(session: IrodsSession, destination: str, *, single_possible: bool) -> Iterator[ZoneAhead]:
    """A :class:`ZoneAhead` for the block, asking ahead only when one file may go to ``destination`` itself
    (``single_possible``: one source, no trailing ``/``); its helper threads have finished when it ends."""
    if not single_possible:
        yield ZoneAhead(session, destination, None)
        return
    with ThreadPoolExecutor(3, thread_name_prefix="irods-ahead") as pool:
        yield ZoneAhead(session, destination, pool)
