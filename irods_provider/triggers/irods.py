"""Triggers that wait on iRODS with the async session; each runs the same check its sensor pokes with.

Triggers only wait: they poll a path, an AVU or a collection's state and hand back a :class:`CheckEvent`
payload. Transfers never run here.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from irods_provider._metrics import record_sensor_poll
from irods_provider.client import RetryPolicy
from irods_provider.exceptions import IrodsAuthenticationError, IrodsError
from irods_provider.hooks._checks import (
    DEFAULT_MAX_MATCHES,
    Check,
    StabilityTracker,
    bound_matches,
    check_max_matches,
    collection_stability,
    excess_message,
    metadata_matches,
    path_matches,
    run_async,
)
from irods_provider.triggers._events import CheckEvent
from irods_provider.triggers._schedule import (
    BackoffSchedule,
    PollSchedule,
    grid_clock,
    seconds_argument,
)
from irods_provider.triggers._shared import discard_session, trigger_session

__all__ = [
    "IrodsCollectionStableTrigger",
    "IrodsMetadataTrigger",
    "IrodsPathTrigger",
]


_TRANSIENT = RetryPolicy()
"""Only its judgement of which errors a retry could cure (checks are reads: idempotent)."""


def _event(event: CheckEvent) -> TriggerEvent:
    return TriggerEvent(event.to_payload())  # type: ignore[no-untyped-call]


class _IrodsPollingTrigger(BaseTrigger):
    """Poll a check every ``poke_interval`` seconds until it reports done or fails.

    Each trigger checks at its own offset in the interval (:mod:`~irods_provider.triggers._schedule`), so a
    triggerer's N triggers spread their checks evenly instead of all checking in the same instant. In a
    triggerer (the trigger has its database id) the first check waits for that slot too: the sensor checked
    just before deferring, and a restarted triggerer does not fire N checks at once.

    No trigger checks more often than every second (``_schedule.MIN_INTERVAL``), whatever ``poke_interval``.
    ``exponential_backoff=True`` lengthens the waits as Airflow's sensors do (capped by ``max_wait`` seconds),
    counted from ``started_at`` (wall-clock epoch seconds of the sensor's first poke; default: when this
    trigger is built), so a restarted triggerer resumes the backoff instead of starting it over.
    """

    sensor_name = "IrodsSensor"
    """The sensor deferring to this trigger: the ``sensor`` tag of its poll metric."""

    max_matches: int | None = None
    """At most this many matches in the event (None: all); set by the triggers that report paths."""

    outage_grace_seconds: float = 300.0
    """How long checks may keep failing with errors a retry could cure (connection refused or dropped,
    timeouts, HTTP 429/502/503/504: the HTTP API restarting) before the wait ends with the error."""

    def __init__(
        self,
        *,
        irods_conn_id: str,
        poke_interval: float = 60.0,
        exponential_backoff: bool = False,
        max_wait: float | None = None,
        started_at: float | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.irods_conn_id = irods_conn_id
        self.poke_interval = seconds_argument("poke_interval", poke_interval)
        self.exponential_backoff = exponential_backoff
        self.max_wait = seconds_argument("max_wait", max_wait, optional=True)
        started_at = seconds_argument("started_at", started_at, optional=True)
        self.started_at = grid_clock() if started_at is None and exponential_backoff else started_at
        self._outage_since: float | None = None

    def _kwargs(self) -> dict[str, Any]:
        return {
            "irods_conn_id": self.irods_conn_id,
            "poke_interval": self.poke_interval,
            "exponential_backoff": self.exponential_backoff,
            "max_wait": self.max_wait,
            "started_at": self.started_at,
        }

    def _schedule(self) -> PollSchedule | BackoffSchedule:
        """When this trigger checks: on its grid of the poke interval, or on its backoff's slots."""
        if self.exponential_backoff and self.started_at is not None:
            return BackoffSchedule.for_trigger(
                self.poke_interval, self.trigger_id, started_at=self.started_at, max_wait=self.max_wait
            )
        return PollSchedule.for_trigger(self.poke_interval, self.trigger_id)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath computed from the class, and the keyword arguments that rebuild this trigger."""
        cls = type(self)
        return f"{cls.__module__}.{cls.__qualname__}", self._kwargs()

    def _check(self) -> Check[Any]:
        raise NotImplementedError

    def _evaluate(self, result: Any) -> CheckEvent | None:
        """The event to fire for this check result, or None to keep waiting; at most ``max_matches`` matches
        (the first by path), with the count of all of them when some were left out."""
        if not result:
            return None
        kept, total = bound_matches(result, self.max_matches)
        excess = excess_message(len(kept), total)
        if excess is not None:
            self.log.warning("%s", excess)
        return CheckEvent.success(kept, total=total if excess is not None else None)

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def _record_poll(self, event: CheckEvent | None) -> None:
        """The ``irods.sensor.polls`` metric of a deferred sensor, named after its sensor."""
        record_sensor_poll(
            sensor=self.sensor_name,
            conn_id=self.irods_conn_id,
            done=event is not None,
            failed=event is not None and event.status == "error",
            mode="deferred",
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Borrow the connection's shared session and poll until done; errors end with an ``error`` event.

        A session whose login is refused after it worked (or the first one, borrowed from other triggers)
        is discarded and the connection read again once: a password rotated while the sensor waited, with
        the connection updated, does not fail it.
        """
        schedule = self._schedule()
        first_wait, may_reopen = self.trigger_id is not None, True
        while True:
            async with contextlib.AsyncExitStack() as stack:
                try:
                    session = await stack.enter_async_context(trigger_session(self.irods_conn_id))
                except Exception as error:  # never a raw traceback (CancelledError is no Exception)
                    if self._rides_out(error):  # a triggerer restarted while the server is down too
                        await self._sleep(schedule.wait_after(grid_clock(), grid_clock()))
                        continue
                    yield _event(CheckEvent.failure(error))
                    return
                if first_wait:
                    await self._sleep(schedule.first_wait(grid_clock()))
                    first_wait = False
                event = await self._poll(session, schedule, may_reopen=may_reopen)
                if event is not None:
                    yield _event(event)
                    return
            may_reopen = False

    async def _poll(
        self, session: Any, schedule: PollSchedule | BackoffSchedule, *, may_reopen: bool
    ) -> CheckEvent | None:
        """Check every ``poke_interval`` until there is an event; None when the session's login was refused
        and a fresh session should be tried (``may_reopen``, or this session worked before)."""
        while True:
            started = grid_clock()
            try:
                event = self._evaluate(await run_async(self._check(), session))
                self._outage_since = None
            except Exception as error:  # anything a check raises ends as a typed event (see _events)
                if may_reopen and isinstance(error, IrodsAuthenticationError):
                    self.log.warning("%s: login refused, reading the connection again", self.irods_conn_id)
                    discard_session(self.irods_conn_id, session)
                    return None
                if self._rides_out(error):
                    await self._sleep(schedule.wait_after(started, grid_clock()))
                    continue
                event = CheckEvent.failure(error)
            may_reopen = True  # this session worked: a later refusal may be a rotated password too
            self._record_poll(event)
            if event is not None:
                return event
            await self._sleep(schedule.wait_after(started, grid_clock()))

    def _rides_out(self, error: Exception) -> bool:
        """Whether to keep waiting after this failed check: an error a retry could cure, failing for less
        than ``outage_grace_seconds`` (a restart of the HTTP API must not fail every deferred sensor)."""
        if not isinstance(error, IrodsError) or not _TRANSIENT.is_retryable(error, idempotent=True):
            return False
        now = grid_clock()
        self._outage_since = now if self._outage_since is None else self._outage_since
        if now - self._outage_since >= self.outage_grace_seconds:
            return False
        self.log.warning("Check failed, waiting on (the server may be restarting): %s", error)
        return True


class IrodsPathTrigger(_IrodsPollingTrigger):
    """Wait until a collection or data object exists, optionally newer than ``newer_than``.

    ``path`` is literal unless ``glob`` (then the provider's one pattern rule, ``**`` included).

    Example:

    ```python
    from irods_provider.triggers.irods import IrodsPathTrigger

    # What IrodsPathSensor(deferrable=True) defers to; a custom operator defers the same way:
    # self.defer(trigger=trigger, method_name="execute_complete")
    trigger = IrodsPathTrigger(
        path="/tempZone/home/alice/incoming/*.csv",
        glob=True,
        irods_conn_id="irods_default",
        poke_interval=30,
    )
    ```

    :param path: absolute logical path, literal unless ``glob``.
    :param kind: ``any``, ``collection`` or ``data_object``.
    :param newer_than: only match entries modified after this epoch second (None: any).
    :param glob: treat ``path`` as a pattern (the provider's one rule, ``**`` included).
    :param max_matches: matches the event carries at most, the first by path (default 1,000; None: all).
    :param irods_conn_id: the Airflow connection of type ``irods``.
    :param poke_interval: seconds between checks (default 60.0; never under one second).
    :param exponential_backoff: lengthen the waits as Airflow's sensors do (default False).
    :param max_wait: the longest wait between checks with ``exponential_backoff``, in seconds (None: no cap).
    :param started_at: wall-clock epoch seconds of the sensor's first poke, which the backoff counts from
        (None: when this trigger is built).
    """

    sensor_name = "IrodsPathSensor"

    def __init__(
        self,
        *,
        path: str,
        irods_conn_id: str,
        kind: str = "any",
        newer_than: int | None = None,
        poke_interval: float = 60.0,
        glob: bool = False,
        max_matches: int | None = DEFAULT_MAX_MATCHES,
        exponential_backoff: bool = False,
        max_wait: float | None = None,
        started_at: float | None = None,
    ) -> None:
        super().__init__(
            irods_conn_id=irods_conn_id,
            poke_interval=poke_interval,
            exponential_backoff=exponential_backoff,
            max_wait=max_wait,
            started_at=started_at,
        )
        self.path = path
        self.kind = kind
        self.newer_than = newer_than
        self.glob = glob
        self.max_matches = check_max_matches(max_matches)

    def _kwargs(self) -> dict[str, Any]:
        return {
            **super()._kwargs(),
            "path": self.path,
            "kind": self.kind,
            "newer_than": self.newer_than,
            "glob": self.glob,
            "max_matches": self.max_matches,
        }

    def _check(self) -> Check[list[dict[str, Any]]]:
        return path_matches(self.path, kind=self.kind, newer_than=self.newer_than, glob=self.glob)


class MetadataQuery:
    """The AVU a metadata trigger waits for, as its arguments, its serialized kwargs and its check."""

    _METADATA_ARGS = ("attribute", "value", "units", "path", "under", "kind")
    attribute: str
    value: str | float | None
    units: str | float | None
    path: str | None
    under: str | None
    kind: str

    def _set_metadata_query(self, **args: Any) -> None:
        for name in self._METADATA_ARGS:
            setattr(self, name, args[name])

    def _metadata_kwargs(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._METADATA_ARGS}

    def _check(self) -> Check[list[dict[str, Any]]]:
        return metadata_matches(**self._metadata_kwargs())


class IrodsMetadataTrigger(MetadataQuery, _IrodsPollingTrigger):
    """Wait until ``path`` carries an AVU, or (without ``path``) until any object carrying it exists.

    Example:

    ```python
    from irods_provider.triggers.irods import IrodsMetadataTrigger

    # What IrodsMetadataSensor(deferrable=True) defers to.
    trigger = IrodsMetadataTrigger(
        attribute="status",
        value="approved",
        under="/tempZone/home/alice/runs",
        irods_conn_id="irods_default",
    )
    ```

    :param attribute: AVU attribute.
    :param value: narrow the match to this value.
    :param units: narrow the match to these units.
    :param path: the collection or data object to watch; None searches the zone (or ``under``).
    :param under: restrict the search to this collection and below (only without ``path``).
    :param kind: for the search: ``any``, ``collection`` or ``data_object``.
    :param max_matches: matches the event carries at most, the first by path (default 1,000; None: all).
    :param irods_conn_id: the Airflow connection of type ``irods``.
    :param poke_interval: seconds between checks (default 60.0; never under one second).
    :param exponential_backoff: lengthen the waits as Airflow's sensors do (default False).
    :param max_wait: the longest wait between checks with ``exponential_backoff``, in seconds (None: no cap).
    :param started_at: wall-clock epoch seconds of the sensor's first poke, which the backoff counts from
        (None: when this trigger is built).
    """

    sensor_name = "IrodsMetadataSensor"

    def __init__(
        self,
        *,
        attribute: str,
        irods_conn_id: str,
        value: str | float | None = None,
        units: str | float | None = None,
        path: str | None = None,
        under: str | None = None,
        kind: str = "any",
        poke_interval: float = 60.0,
        max_matches: int | None = DEFAULT_MAX_MATCHES,
        exponential_backoff: bool = False,
        max_wait: float | None = None,
        started_at: float | None = None,
    ) -> None:
        super().__init__(
            irods_conn_id=irods_conn_id,
            poke_interval=poke_interval,
            exponential_backoff=exponential_backoff,
            max_wait=max_wait,
            started_at=started_at,
        )
        self._set_metadata_query(
            attribute=attribute, value=value, units=units, path=path, under=under, kind=kind
        )
        self.max_matches = check_max_matches(max_matches)

    def _kwargs(self) -> dict[str, Any]:
        return {**super()._kwargs(), **self._metadata_kwargs(), "max_matches": self.max_matches}


class IrodsCollectionStableTrigger(_IrodsPollingTrigger):
    """Wait until a collection's object count and bytes stay unchanged for ``inactivity_period`` seconds.

    The observations live in this trigger for its whole wait, so the deferred mode keeps its state (the
    S3 equivalent loses it on every reschedule); each poll runs the sensor's poke check
    (:func:`~irods_provider.hooks._checks.collection_stability`), so both decide alike.

    Example:

    ```python
    from irods_provider.triggers.irods import IrodsCollectionStableTrigger

    # What IrodsCollectionStableSensor(deferrable=True) defers to.
    trigger = IrodsCollectionStableTrigger(
        path="/tempZone/home/alice/incoming",
        irods_conn_id="irods_default",
        inactivity_period=600,
    )
    ```

    :param path: the collection to watch (a missing collection fails the wait).
    :param inactivity_period: seconds the count and size must stay unchanged.
    :param min_objects: the collection must hold at least this many data objects (default 1).
    :param allow_delete: when False, fail if objects disappear while waiting (default True).
    :param irods_conn_id: the Airflow connection of type ``irods``.
    :param poke_interval: seconds between checks (default 60.0; never under one second).
    :param exponential_backoff: lengthen the waits as Airflow's sensors do (default False).
    :param max_wait: the longest wait between checks with ``exponential_backoff``, in seconds (None: no cap).
    :param started_at: wall-clock epoch seconds of the sensor's first poke, which the backoff counts from
        (None: when this trigger is built).
    """

    sensor_name = "IrodsCollectionStableSensor"

    def __init__(
        self,
        *,
        path: str,
        irods_conn_id: str,
        inactivity_period: float,
        min_objects: int = 1,
        allow_delete: bool = True,
        poke_interval: float = 60.0,
        exponential_backoff: bool = False,
        max_wait: float | None = None,
        started_at: float | None = None,
    ) -> None:
        super().__init__(
            irods_conn_id=irods_conn_id,
            poke_interval=poke_interval,
            exponential_backoff=exponential_backoff,
            max_wait=max_wait,
            started_at=started_at,
        )
        self.path = path
        self.inactivity_period = inactivity_period
        self.min_objects = min_objects
        self.allow_delete = allow_delete
        self._tracker = StabilityTracker(
            inactivity_period=inactivity_period, min_objects=min_objects, allow_delete=allow_delete
        )

    def _kwargs(self) -> dict[str, Any]:
        return {
            **super()._kwargs(),
            "path": self.path,
            "inactivity_period": self.inactivity_period,
            "min_objects": self.min_objects,
            "allow_delete": self.allow_delete,
        }

    def _check(self) -> Check[Any]:
        return collection_stability(self.path, self._tracker, self._clock())

    def _clock(self) -> float:
        return time.monotonic()

    def _evaluate(self, result: Any) -> CheckEvent | None:
        if result is None:
            return None
        return CheckEvent.success([{"path": self.path, **result.to_dict()}], state=result.to_dict())
