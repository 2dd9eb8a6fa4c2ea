"""Paged reads that keep a few pages in flight: GenQuery over a WAN costs round trips, not bytes.

``fetch(offset)`` returns one page (at most ``count`` rows); pages are yielded in order, and the first page
shorter than ``count`` ends the read. The first page is asked alone (a short listing costs one request);
only after a full page are up to ``ahead`` requested at once, so at most ``ahead - 1`` speculative requests
past the end are dropped. ``ahead=1`` is the plain lazy loop: one page at a time, when the consumer needs it.

Offset paging has no snapshot (GenQuery1 re-runs the query for every page): rows added before the offset
between two page requests shift earlier rows into the next page, rows removed shift later ones past it.
:class:`FirstSeen` lets a reader drop the repeats; the skipped rows cannot be recovered.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["FirstSeen", "read_pages", "read_pages_async"]

T = TypeVar("T")
Page = tuple[T, list[list[str]]]


def read_pages(fetch: Callable[[int], Page[T]], count: int, ahead: int) -> Iterator[Page[T]]:
    """Sync: up to ``ahead`` pages fetched at once on worker threads."""
    if ahead <= 1:
        offset = 0
        while True:
            page = fetch(offset)
            yield page
            if len(page[1]) < count:
                return
            offset += count
    with ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="irods-pages") as pool:
        pending: deque[Future[Page[T]]] = deque([pool.submit(fetch, 0)])
        offset = count
        try:
            while pending:
                page = pending.popleft().result()
                yield page
                if len(page[1]) < count:
                    return
                while len(pending) < ahead:
                    pending.append(pool.submit(fetch, offset))
                    offset += count
        finally:
            for future in pending:
                future.cancel()


async def read_pages_async(
    fetch: Callable[[int], Awaitable[Page[T]]], count: int, ahead: int
) -> AsyncIterator[Page[T]]:
    """Async: up to ``ahead`` page requests in flight on the event loop."""
    if ahead <= 1:
        offset = 0
        while True:
            page = await fetch(offset)
            yield page
            if len(page[1]) < count:
                return
            offset += count
    pending: deque[asyncio.Future[Page[T]]] = deque([asyncio.ensure_future(fetch(0))])
    offset = count
    try:
        while pending:
            page = await pending.popleft()
            yield page
            if len(page[1]) < count:
                return
            while len(pending) < ahead:
                pending.append(asyncio.ensure_future(fetch(offset)))
                offset += count
    finally:
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(BaseException):
                await task


class FirstSeen:
    """Which rows (or names) a paged read has already yielded: :meth:`first` is True once per value.

    Keeps a 16-byte BLAKE2b digest per value (about 90 bytes of memory each, ~90 MB per million), so a
    repeat caused by a collection changing between page requests is never yielded twice. Values are
    joined with NUL, which no iRODS catalog string holds (they are C strings).
    """

    def __init__(self) -> None:
        self._seen: set[bytes] = set()

    def first(self, value: str | list[str]) -> bool:
        """True when ``value`` was not seen before (and remember it)."""
        text = value if isinstance(value, str) else "\0".join(value)
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if key in self._seen:
            return False
        self._seen.add(key)
        return True
