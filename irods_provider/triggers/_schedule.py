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

**A floor.** No trigger checks more often than every :data:`MIN_INTERVAL` (1 s): a ``poke_interval`` of 0
(fine for a worker's poke loop) would otherwise make a trigger re-check back to back, a busy loop in the
triggerer's event loop shared by every trigger, and a flood of requests on the iRODS server. One second is
also the shortest wait Airflow's own exponential backoff ever takes (``max(int(...), 1)`` in
``BaseSensorOperator``).

**Exponential backoff** (:class:`BackoffSchedule`, a sensor's ``exponential_backoff=True``): the waits grow
as Airflow's ``BaseSensorOperator._get_next_poke_interval`` makes them, counted from the start of the
sensor's wait (``started_at``; the sensor's own first poke is poke 1), so a trigger rebuilt by a restarted
triggerer, or re-deferred, goes on where the backoff was instead of starting over. After poke ``n`` Airflow
waits ``b + jitter`` with ``b = max(int(poke_interval * 2 ** (n - 2)), 1)`` and ``jitter`` in ``[0, b)``
taken from a hash, capped by ``max_wait`` (0 or None: no cap). Here the jitter is ``fraction * b`` with the
trigger's own golden-ratio fraction: the same range, spread evenly over triggers instead of pseudo-randomly.
The checks are then on the slots ``started_at + T_n`` (``T_n`` the sum of the first ``n`` waits), the
backoff's own grid; once ``max_wait`` caps the waits, that grid has a fixed interval again.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from typing import Any, overload

__all__ = [
    "MIN_INTERVAL",
    "BackoffSchedule",
    "PollSchedule",
    "floored_interval",
    "grid_clock",
    "seconds_argument",
]

#: The shortest wait between two checks of one trigger, in seconds (a smaller ``poke_interval`` is raised).
MIN_INTERVAL = 1.0

_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
_keys = itertools.count()


@overload
def seconds_argument(name: str, value: Any) -> float: ...
@overload
def seconds_argument(name: str, value: Any, *, optional: bool) -> float | None: ...


def seconds_argument(name: str, value: Any, *, optional: bool = False) -> float | None:
    """``value`` as a finite number of seconds (None only when ``optional``), refused with
    :class:`~irods_provider.exceptions.IrodsUsageError` when the trigger is built: a rendered ``"60"`` or a
    NaN would otherwise end its wait with a raw ``ValueError`` at the first schedule computed."""
    from irods_provider.exceptions import IrodsUsageError

    if value is None and optional:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return value
    raise IrodsUsageError(f"{name} must be a finite number of seconds >= 0, got {value!r}")


def floored_interval(interval: float) -> float:
    """``interval`` in seconds, raised to :data:`MIN_INTERVAL`: what a trigger waits between checks."""
    return max(float(interval), MIN_INTERVAL)


def _golden_fraction(key: int | None) -> float:
    """The trigger's place in ``[0, 1)``: its database id, or None for the next process-wide key."""
    return (int(next(_keys) if key is None else key) * _GOLDEN) % 1.0


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
        interval = floored_interval(interval)
        return cls(interval, _golden_fraction(key) * interval)

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


@dataclass(frozen=True)
class BackoffSchedule:
    """The slots ``started_at + T_n`` of a trigger with exponential backoff (see the module docstring).

    ``interval`` is the floored ``poke_interval``, ``fraction`` the trigger's jitter in ``[0, 1)``,
    ``started_at`` the wall-clock time of the sensor's first poke and ``max_wait`` the cap (None: none).
    """

    interval: float
    fraction: float
    started_at: float
    max_wait: float | None = None

    @classmethod
    def for_trigger(
        cls, interval: float, key: int | None, *, started_at: float, max_wait: float | None
    ) -> BackoffSchedule:
        """The schedule of a trigger: ``key`` is its database id, or None for the next process-wide key."""
        cap = float(max_wait) if max_wait else None  # Airflow: a max_wait of 0 caps nothing
        return cls(floored_interval(interval), _golden_fraction(key), float(started_at), cap)

    def step(self, n: int) -> float:
        """The wait after poke ``n`` (the sensor's own first poke is 1), as Airflow's backoff computes it."""
        base = max(int(self.interval * 2 ** min(n - 2, 62)), 1)
        wait = base * (1.0 + self.fraction)
        if self.max_wait is not None:
            wait = min(wait, self.max_wait)
        return max(wait, MIN_INTERVAL)

    def slot_at_or_after(self, when: float) -> tuple[float, float]:
        """The first slot at or after ``when``, and the wait that leads to it (the step it ends)."""
        slot, n = self.started_at, 1
        while True:
            step = self.step(n)
            if self.max_wait is not None and step >= self.max_wait:  # capped: every later step is this one
                return slot + max(1, math.ceil((when - slot) / step)) * step, step
            slot += step
            if slot >= when:
                return slot, step
            n += 1

    def first_wait(self, now: float) -> float:
        """Seconds from ``now`` to the next slot (at most one step)."""
        return self.slot_at_or_after(now)[0] - now

    def wait_after(self, started: float, now: float) -> float:
        """Seconds from ``now`` to the next check, after a check that ran from ``started`` to ``now``.

        The first slot after both the check's end and half the floor after its start: on time, the next slot;
        after an overrun, the first slot still ahead (no catch-up burst). Never more than 1.5 steps, even if
        the clock stepped back.
        """
        slot, step = self.slot_at_or_after(max(now, started + MIN_INTERVAL / 2.0))
        return min(max(slot - now, 0.0), 1.5 * step)
