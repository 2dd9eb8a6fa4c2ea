"""Reading through a ticket in pieces the server opens with the ticket (pure decisions; I/O in ``_async``).

Every release of the iRODS HTTP API enables a read's ticket on its pooled connection only; a read of more
than the server's read buffer (``max_number_of_bytes_per_read_operation``) opens the object on a dedicated
connection without it (data_objects/src/main.cpp:605-670 at 0.4.0/0.5.0, :804-909 at 0.7.0). A caller
who may read the object only through the ticket gets the open failure (HTTP 500 empty before 0.6.0, read
as 400 by the client; 400 empty after). The buffer is not in ``/info``; the shipped configuration sets it
to 8 KiB up to 0.6.0 and 1 MiB in 0.7.0, so such reads go in pieces that start at 8 KiB and double while the
server serves them.
"""

from __future__ import annotations

from dataclasses import dataclass

from irods_provider.exceptions import IrodsBadRequestError, IrodsError

__all__ = ["TICKET_SAFE_READ_BYTES", "PieceSizer", "lost_ticket"]

#: The smallest read buffer a shipped configuration sets (core/src/main.cpp:582 at 0.4.0, :564 at 0.5.0,
#: :559 at 0.6.0); 0.7.0's template has 1 MiB (:573), which upgraded sites need not take over.
TICKET_SAFE_READ_BYTES = 8192
#: Pieces never grow beyond this, whatever the server would serve.
MAX_TICKET_PIECE_BYTES = 16 * 1024 * 1024


def lost_ticket(exc: IrodsError, *, ticket: str | None, count: int | None) -> bool:
    """Whether ``exc`` is how a ticket read bigger than the server's read buffer is refused."""
    return (
        ticket is not None
        and (count is None or count > TICKET_SAFE_READ_BYTES)
        and type(exc) is IrodsBadRequestError
        and exc.http_status == 400
        and exc.irods_code is None
    )


@dataclass
class PieceSizer:
    """The size of each piece of a ticket read: 8 KiB first, doubled after each full piece the server serves
    until one is refused, then the largest size that worked."""

    size: int = TICKET_SAFE_READ_BYTES
    good: int = 0
    settled: bool = False

    def ask(self, remaining: int | None) -> int:
        """How many bytes the next piece asks for (``remaining``: bytes still wanted, None: to the end)."""
        return self.size if remaining is None else min(self.size, remaining)

    def served(self, asked: int, got: int) -> None:
        """The server answered a piece of ``asked`` bytes with ``got`` bytes."""
        if got == asked == self.size:
            self.good = self.size
            if not self.settled and self.size < MAX_TICKET_PIECE_BYTES:
                self.size *= 2

    def refused(self, asked: int) -> bool:
        """A piece of ``asked`` bytes was refused: True to ask again for less, False when the refusal stands
        (nothing bigger than the largest size served was asked, or nothing was ever served)."""
        if self.good == 0 or asked <= self.good:
            return False
        self.size, self.settled = self.good, True
        return True
