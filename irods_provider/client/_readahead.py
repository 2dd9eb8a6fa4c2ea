"""Paged reads that keep a few pages in flight: GenQuery over a WAN costs round trips, not bytes.

``fetch(offset)`` returns one page (at most ``count`` rows); pages are yielded in order, and the first page
shorter than ``count`` ends the read. The first page is asked alone (a short listing costs one request);
only after a full page are up to ``ahead`` requested at once, so at most ``ahead - 1`` speculative requests
past the end are dropped. ``ahead=1`` is the plain lazy loop: one page at a time, when the consumer needs it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["read_pages", "read_pages_async"]

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
