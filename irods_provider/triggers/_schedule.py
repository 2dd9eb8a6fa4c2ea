"""When a polling trigger checks: at its own offset in every poke interval, so N triggers spread their checks.

A triggerer holding 1,000 sensors whose triggers all check, then sleep ``poke_interval``, checks in bursts:
they start together and every stall re-aligns them, so each interval the event loop runs 1,000 checks at once
(seconds of lag) and the server sees 2,000 requests in one instant, then nothing. Here each trigger owns a
stable offset in the interval and checks on the grid ``offset + k * poke_interval`` of the wall clock: the
load is even over the interval, and a trigger delayed by a stall returns to its own slot.

The offset is the fractional part of ``key * golden ratio`` (times the interval): consecutive keys land as
far apart as possible (Weyl sequence), so N triggers created together fill the interval evenly. The key is the
trigger's id in the metadata database when the triggerer runs it, else a number drawn from a process-wide
counter. The grid is on the wall clock (the same on every host of a deployment), so a trigger keeps its slot
when a restarted or another triggerer takes it over; a clock step misplaces one wait at most.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

__all__ = ["PollSchedule", "grid_clock"]

_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
_keys = itertools.count()


def grid_clock() -> float:
    """The clock the slots are on: wall-clock seconds, shared by every triggerer host."""
    return time.time()


@dataclass(frozen=True)
class PollSchedule:
    """The slots ``offset + k * interval`` (k integer) of :func:`grid_clock` at which one trigger checks."""

    interval: float
    offset: float

    @classmethod
    def for_trigger(cls, interval: float, key: int | None) -> PollSchedule:
        """The schedule of a trigger: ``key`` is its database id, or None for the next process-wide key."""
        if key is None:
            key = next(_keys)
        interval = max(float(interval), 0.0)
        return cls(interval, (int(key) * _GOLDEN) % 1.0 * interval)

    def slot_at_or_after(self, when: float) -> float:
        """The first slot at or after ``when``."""
        if self.interval <= 0.0:
            return when
        return self.offset + math.ceil((when - self.offset) / self.interval) * self.interval

    def first_wait(self, now: float) -> float:
        """Seconds from ``now`` to this trigger's first slot (less than one interval)."""
        return self.slot_at_or_after(now) - now

    def wait_after(self, started: float, now: float) -> float:
        """Seconds from ``now`` to the next check, after a check that ran from ``started`` to ``now``.

        The next slot after both the check's end and half an interval after its start: on time, exactly one
        interval after the slot it ran in; after an overrun, the first slot of its own grid (no catch-up
        burst, no drift towards the others). Never more than 1.5 intervals, even if the clock stepped back.
        """
        if self.interval <= 0.0:
            return 0.0
        wait = self.slot_at_or_after(max(now, started + self.interval / 2.0)) - now
        return min(max(wait, 0.0), 1.5 * self.interval)
