"""A ticket read in pieces the server opens with the ticket (GENERATED from ``_async``: do not edit).

Why and how the pieces are sized: :mod:`irods_provider.client._ticket_reads`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from irods_provider.client import _ops_fs as ops
from irods_provider.client._config import TimeoutTypes, UseDefault
from irods_provider.client._ticket_reads import PieceSizer
from irods_provider.exceptions import IrodsBadRequestError

if TYPE_CHECKING:
    from irods_provider.client._sync._session import IrodsSession
    from irods_provider.client._retry import RetryPolicy

__all__ = ["ticket_pieces"]

logger = logging.getLogger("irods_provider.client")


def ticket_pieces(
    session: IrodsSession,
    path: str,
    *,
    offset: int,
    count: int | None,
    ticket: str,
    resource: str | None = None,
    replica_number: int | None = None,
    timeout: TimeoutTypes | UseDefault = UseDefault.USE_DEFAULT,
    retry: RetryPolicy | bool | None = None,
) -> Iterator[bytes]:
    """The bytes of ``count`` (None: to the end) from ``offset``, read through ``ticket`` in pieces."""
    logger.info(
        "The server refused to read %s through its ticket in one request (it opens reads over its read "
        "buffer without the ticket); reading it in smaller pieces",
        path,
    )
    sizer, position, remaining = PieceSizer(), offset, count
    while remaining is None or remaining > 0:
        asked = sizer.ask(remaining)
        op = ops.do_read(
            path,
            offset=position,
            count=asked,
            resource=resource,
            replica_number=replica_number,
            ticket=ticket,
        )
        try:
            piece = session.execute(op, timeout=timeout, retry=retry)
        except IrodsBadRequestError:
            if sizer.refused(asked):
                continue
            raise
        sizer.served(asked, len(piece))
        if piece:
            yield piece
        position += len(piece)
        if remaining is not None:
            remaining -= len(piece)
        if len(piece) < asked:
            return
