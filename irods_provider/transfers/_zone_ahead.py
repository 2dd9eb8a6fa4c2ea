"""The zone asked about an upload's destination argument while the SFTP side is still connecting.

A single file named alone goes to the destination itself unless that is a collection, and its parent is
created unless it is one; a tree's files go into the destination collection, created unless it is one.
None of this depends on an SFTP answer, so both questions go out while SSH connection #0 comes up and the
plan takes their answers instead of a round trip after the listing. What data object is at the target is
left to the engine (asked once per file, alongside the temporary's probes): a tree has no such target.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from irods_provider.client import IrodsSession

__all__ = ["ZoneAhead", "zone_ahead"]


class ZoneAhead:
    """Answers asked ahead: :meth:`is_collection` of the destination and its parent (any other path is
    asked when needed)."""

    def __init__(self, session: IrodsSession, paths: set[str], pool: ThreadPoolExecutor | None) -> None:
        self._session = session
        self._collections: dict[str, Future[bool]] = {}
        if pool is None:
            return
        for path in paths - {"/", ""}:
            self._collections[path] = pool.submit(session.collections.exists, path)

    def is_collection(self, path: str) -> bool:
        """Whether ``path`` is a collection: the answer asked ahead, else (not asked, or that failed) asked
        now, so an error is raised by the same call as without asking ahead."""
        asked = self._collections.get(path)
        if asked is not None and asked.exception() is None:
            return asked.result()
        return self._session.collections.exists(path)


@contextmanager
def zone_ahead(session: IrodsSession, destination: str, *, ahead: bool, parent: bool) -> Iterator[ZoneAhead]:
    """A :class:`ZoneAhead` for the block: with ``ahead`` (one source, file or tree: either asks about the
    destination collection) the destination is asked, and its ``parent`` too (only a single file named
    alone, without a trailing ``/``, asks about it). Its helper threads have finished when the block ends."""
    if not ahead:
        yield ZoneAhead(session, set(), None)
        return
    paths = {destination, posixpath.dirname(destination)} if parent else {destination}
    with ThreadPoolExecutor(len(paths), thread_name_prefix="irods-ahead") as pool:
        yield ZoneAhead(session, paths, pool)
