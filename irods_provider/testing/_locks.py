"""Logical locking of a data object while one of its replicas is open for writing, as iRODS 4.2.9+ does it.

irods/irods 4.3.4 ``server/core/src/logical_locking.cpp``: opening a replica for write saves every replica's
status in its ``DATA_STATUS`` column (``{"original_status":"1"}``, ``insert_data_status``), makes the
target INTERMEDIATE (2) and every sibling WRITE_LOCKED (4) (``lock_impl``). Closing restores or replaces
those statuses (``unlock_impl``): a good close makes the target good and its siblings stale
(``rsDataObjClose.cpp`` ``finalize_data_object``, 4.3.4:339-392); a replica left open when its agent
ends is closed stale with its siblings restored (``initServer.cpp``
``finalize_replica_opened_for_create_or_write``, 4.3.4:64-113). While locked, no replica is good, so the
stat and read of the HTTP API, which ask for the good replicas (``filesystem.cpp`` ``data_object_size``,
4.3.4:735-781), answer SYS_NO_GOOD_REPLICA.

Test hook: most emulated writes finish inside one request, so a test cannot see the locked state between
them. :meth:`WriteHoldsMixin.hold_writes` arms a hold on a path: the next write, copy or replicate onto it
locks the object as above and then waits for :meth:`WriteHold.release` before writing any byte. A hold may
match every path under a name prefix (``prefix=True``: a temporary whose random key a test cannot know) and
one kind of write only (``operation``: ``"write"``, ``"copy"`` or ``"replicate"``); a prefix hold stops the
first matching write only. ``operation="checksum"`` holds a calculate_checksum after its hash, before the
checksum is registered: a test decides whether it ends before or after a deadline or a client's timeout.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from irods_provider.testing._catalog import DataObject, ModelBase, Replica, normalize, now

STALE, GOOD, INTERMEDIATE, READ_LOCKED, WRITE_LOCKED = "0", "1", "2", "3", "4"
#: Longest a held write waits for its release: a hold a test forgot never wedges the server.
HOLD_LIMIT_SECONDS = 60.0


def lock_replicas(obj: DataObject, targets: Iterable[Replica], holder: str) -> None:
    """``lock_impl`` for a write: every status saved in ``data_status``, targets 2, the others 4."""
    opened = list(targets)
    for rep in obj.replicas:
        rep.data_status = json.dumps({"original_status": rep.status}, separators=(",", ":"))
        rep.status = INTERMEDIATE if rep in opened else WRITE_LOCKED
    obj.locked_by = holder


def original_status(rep: Replica) -> str:
    """The status saved when the object was locked; stale when none was (``unlock_impl``'s fallback)."""
    try:
        saved = json.loads(rep.data_status).get("original_status")
    except (ValueError, AttributeError):
        return STALE
    return saved if isinstance(saved, str) and saved else STALE


def unlock_replicas(obj: DataObject, *, restore: Iterable[Replica]) -> None:
    """``unlock_impl``'s end: the ``restore`` replicas get their saved status back, every ``data_status`` is
    cleared and the object is unlocked (the caller has set the other statuses)."""
    for rep in restore:
        rep.status = original_status(rep)
    for rep in obj.replicas:
        rep.data_status = ""
    obj.locked_by = None


def close_stale(obj: DataObject, target: Replica) -> None:
    """A replica whose writer went away without closing it: stale, with the vault's size and the time now,
    no checksum; its siblings restored (``finalize_replica_opened_for_create_or_write``)."""
    target.size = target.spool_file.stat().st_size if target.spool_file.exists() else 0
    target.modify_time = now()
    target.checksum = ""
    target.status = STALE
    unlock_replicas(obj, restore=[r for r in obj.replicas if r is not target])


@dataclass
class WriteHold:
    """A write paused after it locked its object (test hook): ``reached`` once it waits, until ``release``."""

    path: str
    prefix: bool = False
    operation: str | None = None
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def wait_reached(self, timeout: float) -> bool:
        """Whether a write reached the hold within ``timeout`` seconds."""
        return self.reached.wait(timeout)

    def release(self) -> None:
        """Let the held write go on (or, not reached yet, let the next one through unheld)."""
        self.released.set()

    def takes_more(self) -> bool:
        """Whether a write arriving now would wait here (a prefix hold stops one write only)."""
        return not self.released.is_set() and not (self.prefix and self.reached.is_set())

    def matches(self, path: str, operation: str) -> bool:
        """Whether a write of kind ``operation`` onto ``path`` is the one this hold waits for."""
        named = path.startswith(self.path) if self.prefix else path == self.path
        if operation == "checksum":  # not a write: only a hold naming it stops it
            return named and self.operation == operation
        return named and self.operation in (None, operation)


class WriteHoldsMixin(ModelBase):
    """The test hook: holds armed per path, taken by the next write that locks that path."""

    write_holds: dict[str, WriteHold]

    def hold_writes(self, path: str, *, prefix: bool = False, operation: str | None = None) -> WriteHold:
        """Arm a hold: the next write, copy or replicate (``operation``: that kind only) onto ``path`` (with
        ``prefix``: onto any path starting with it) waits, locked, until released. ``operation="checksum"``
        holds a calculate_checksum of ``path`` once it hashed, before it registers the checksum."""
        if operation not in (None, "write", "copy", "replicate", "checksum"):
            raise ValueError(f"operation must be write, copy, replicate or checksum, got {operation!r}")
        hold = WriteHold(path if prefix else normalize(path), prefix=prefix, operation=operation)
        with self.lock:
            self.write_holds[hold.path] = hold
        return hold

    def release_writes(self, path: str | None = None) -> list[str]:
        """Release the hold on ``path`` (every hold when None); the paths released."""
        with self.lock:
            paths = list(self.write_holds) if path is None else [normalize(path)]
            holds = [self.write_holds.pop(p) for p in paths if p in self.write_holds]
        for hold in holds:
            hold.release()
        return [hold.path for hold in holds]

    def held_writes(self) -> list[dict[str, object]]:
        """The armed holds and whether a write waits at each."""
        with self.lock:
            return [
                {"path": h.path, "prefix": h.prefix, "operation": h.operation, "reached": h.reached.is_set()}
                for h in self.write_holds.values()
            ]

    def _armed(self, path: str, operation: str) -> WriteHold | None:
        """The hold this write waits at, if any (a prefix hold stops the first matching write only: the
        writers of other names under that prefix go on)."""
        path = normalize(path)
        with self.lock:
            taken = [h for h in self.write_holds.values() if h.matches(path, operation) and h.takes_more()]
            if not taken:
                return None
            hold = taken[0]
            hold.reached.set()
        return hold

    async def pause_if_held(self, path: str, operation: str = "write") -> None:
        """Called by a write after it locked ``path`` (on the event loop): wait while a hold is armed."""
        if (hold := self._armed(path, operation)) is not None:
            await asyncio.to_thread(hold.released.wait, HOLD_LIMIT_SECONDS)

    def wait_if_held(self, path: str, operation: str) -> None:
        """The same from a worker thread, which must not hold the model's lock meanwhile."""
        if (hold := self._armed(path, operation)) is not None:
            hold.released.wait(HOLD_LIMIT_SECONDS)
