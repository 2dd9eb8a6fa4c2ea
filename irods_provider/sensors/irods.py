"""Sensors that wait on iRODS: a path, an AVU, a collection that stopped changing; each also deferrable.

``poke`` runs a check with the hook's sync session; with ``deferrable=True`` the sensor hands the SAME
check to a trigger that runs it with the async session, so both modes give the same answer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf

from irods_provider._metrics import record_sensor_poll
from irods_provider.client._patterns import literal_hint
from irods_provider.exceptions import IrodsUsageError
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
    run_sync,
)
from irods_provider.hooks.irods import IrodsHook
from irods_provider.operators._base import IrodsTemplatingMixin, check_path
from irods_provider.triggers._events import CheckEvent
from irods_provider.triggers._schedule import MIN_INTERVAL
from irods_provider.triggers.irods import (
    IrodsCollectionStableTrigger,
    IrodsMetadataTrigger,
    IrodsPathTrigger,
)

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

__all__ = ["IrodsCollectionStableSensor", "IrodsMetadataSensor", "IrodsPathSensor"]


def _default_deferrable() -> bool:
    return conf.getboolean("operators", "default_deferrable", fallback=False)


#: A rendered epoch (``"{{ data_interval_start.int_timestamp }}"``, a match's ``modified_at_epoch`` pulled
#: from XCom): 9 or more digits, so an 8-digit ISO basic date (``20261207``) is never read as seconds.
_EPOCH_TEXT = re.compile(r"\d{9,}(?:\.\d*)?")


def _epoch(value: datetime | str | int | float | None) -> int | None:
    """``newer_than`` as epoch seconds: a datetime, an ISO-8601 string or epoch seconds as text (rendered
    templates give text), or a number."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and _EPOCH_TEXT.fullmatch(value.strip()):
        return int(value.strip().partition(".")[0])
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise IrodsUsageError(f"newer_than must be an ISO-8601 time, got {value!r}") from None
    if value.tzinfo is None:
        raise IrodsUsageError(f"newer_than must carry a time zone, got {value.isoformat()}")
    return int(value.timestamp())


class _IrodsBaseSensor(IrodsTemplatingMixin, BaseSensorOperator):
    """Owns the connection id, the lazy hook and the poke/defer plumbing shared by every iRODS sensor.

    :param irods_conn_id: the Airflow connection of type ``irods`` (default ``irods_default``); templated.
    :param deferrable: wait in the triggerer instead of a worker slot (default: Airflow's
        ``[operators] default_deferrable``); poke and trigger run the same check.
    :param check_fn: called with the list of matches; the wait ends only when it returns True (the same in
        poke and deferred mode).

    Deferred, the trigger checks every ``poke_interval`` seconds but never more often than every second (a
    smaller value, 0 included, is raised to 1 s and a warning says so), and honours ``exponential_backoff``
    and ``max_wait`` as Airflow's poke and reschedule modes do, counted from the sensor's first poke. The
    trigger keeps waiting through a restart of the HTTP API (errors a retry could cure, for up to its
    ``outage_grace_seconds``); the first poke, on the worker, still fails at once on any error.
    """

    max_matches: int | None = None
    """At most this many matches pushed (None: all): the path and metadata sensors' ``max_matches``."""

    def __init__(
        self,
        *,
        irods_conn_id: str = IrodsHook.default_conn_name,
        deferrable: bool | None = None,
        check_fn: Callable[[list[dict[str, Any]]], bool] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.irods_conn_id = irods_conn_id
        self.deferrable = _default_deferrable() if deferrable is None else deferrable
        self.check_fn = check_fn
        self._started_at: float | None = None

    def _accept(self, matches: list[dict[str, Any]]) -> bool:
        """Whether these matches end the wait: found, and ``check_fn`` (if any) agrees.

        Poke and the deferred path both end here, so ``check_fn`` decides the same way in either mode.
        """
        if not matches:
            return False
        return self.check_fn is None or bool(self.check_fn(matches))

    @cached_property
    def hook(self) -> IrodsHook:
        """The hook, built on first use (never in ``__init__``)."""
        return IrodsHook(self.irods_conn_id)

    def _check(self) -> Check[Any]:
        raise NotImplementedError

    def _trigger(self) -> BaseTrigger:
        raise NotImplementedError

    def poke(self, context: Context) -> PokeReturnValue:
        """Run the check once with the sync session; keep at most ``max_matches`` of the matches."""
        matches, total = bound_matches(run_sync(self._check(), self.hook.get_conn()), self.max_matches)
        if matches:
            self.log.info("Found %d match(es), first %s", total, matches[0].get("path"))
        self._warn_excess(len(matches), total)
        done = self._accept(matches)
        record_sensor_poll(sensor=type(self).__name__, conn_id=str(self.irods_conn_id), done=done)
        return PokeReturnValue(is_done=done, xcom_value=matches if done else None)

    def _warn_excess(self, kept: int, total: int | None) -> None:
        """Log that matches were left out of the result, with how many matched."""
        excess = None if total is None else excess_message(kept, total)
        if excess is not None:
            self.log.warning("%s", excess)

    def _schedule_kwargs(self) -> dict[str, Any]:
        """The trigger's polling arguments: the interval, and the backoff counted from the first poke."""
        if float(self.poke_interval) < MIN_INTERVAL:
            self.log.warning(
                "poke_interval=%s s: a trigger checks at most once every %s s, so it waits that long instead",
                self.poke_interval,
                MIN_INTERVAL,
            )
        max_wait = self.max_wait.total_seconds() if self.max_wait else None
        return {
            "poke_interval": float(self.poke_interval),
            "exponential_backoff": bool(self.exponential_backoff),
            "max_wait": max_wait if self.exponential_backoff else None,
            "started_at": (self._started_at or self._wall_clock()) if self.exponential_backoff else None,
        }

    def execute(self, context: Context) -> Any:
        """Poke first (maybe done already); otherwise defer to the trigger when ``deferrable``."""
        if not self.deferrable:
            try:
                return super().execute(context)
            finally:
                self.hook.close()
        deadline = self._wall_clock() + float(self.timeout)
        try:
            first = self.poke(context)
        except Exception as error:  # classified as poke mode does, in _poke_failed
            self._poke_failed(error)
            first = PokeReturnValue(is_done=False)
        finally:
            self.hook.close()
        if first.is_done:
            return first.xcom_value
        self._defer(deadline)
        return None

    def _poke_failed(self, error: Exception) -> None:
        """A failed check in deferred mode means what a failed poke means in poke mode: ``silent_fail``
        logs it and keeps waiting (returns), ``never_fail`` skips, and ``soft_fail`` skips a timeout or
        ``AirflowFailException``; otherwise the error is raised as it came."""
        from airflow.sdk.exceptions import (
            AirflowFailException,
            AirflowSensorTimeout,
            AirflowSkipException,
            AirflowTaskTimeout,
        )

        if isinstance(error, AirflowSkipException):
            raise error
        if isinstance(error, AirflowSensorTimeout | AirflowTaskTimeout | AirflowFailException):
            if self.soft_fail or self.never_fail:
                raise AirflowSkipException(
                    f"Skipping: {type(error).__name__} with soft_fail/never_fail"
                ) from error
            raise error
        if self.silent_fail:
            self.log.error("Sensor check failed, waiting again (silent_fail): %s", error)
            return
        if self.never_fail:
            raise AirflowSkipException("Skipping due to never_fail is set to True.") from error
        raise error

    def _wall_clock(self) -> float:
        """Epoch seconds: a deadline must mean the same on the worker that defers and the one that resumes."""
        return time.time()

    def _defer(self, deadline: float) -> None:
        """Defer until ``deadline`` (epoch seconds, carried to ``execute_complete``), or time out now.

        The deadline is set once, when the sensor starts, so re-deferring after ``check_fn`` declined
        waits only for the rest of ``timeout``, and a spent one fails as poke mode does.
        """
        from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException

        remaining = deadline - self._wall_clock()
        if remaining <= 0:
            message = f"Sensor has timed out: its timeout of {self.timeout} s is spent."
            raise AirflowSkipException(message) if self.soft_fail else AirflowSensorTimeout(message)
        self._started_at = deadline - float(self.timeout)  # the first poke: where the backoff counts from
        self.defer(
            trigger=self._trigger(),
            method_name="execute_complete",
            kwargs={"deadline": deadline},
            timeout=timedelta(seconds=remaining),
        )

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, deadline: float | None = None
    ) -> Any:
        """Resume after the trigger fired: return the matches, or raise the typed error it reported.

        ``deadline`` is the one ``execute`` set (absent for a task deferred by an older release: then the
        whole ``timeout`` again).
        """
        if event is None:
            raise IrodsUsageError("the trigger fired without an event")
        outcome = CheckEvent.from_payload(event)
        again = self._wall_clock() + float(self.timeout) if deadline is None else float(deadline)
        if outcome.status != "success":
            self._poke_failed(outcome.error())
            self._defer(again)  # silent_fail: the failure was logged, wait for the rest of the timeout
        self.log.info("Trigger reported %d match(es)", outcome.total or len(outcome.matches))
        self._warn_excess(len(outcome.matches), outcome.total)
        if not self._accept(outcome.matches):
            self.log.info("check_fn declined the matches; waiting again")
            self._defer(again)
        return outcome.matches


class IrodsPathSensor(_IrodsBaseSensor):
    """Wait until a collection or data object exists; pushes the matches.

    A data object counts once it has a good replica: one another client is still writing in place (its
    replicas intermediate or write-locked, its catalog size partial) is not matched until that write
    closes, nor one whose write failed (stale only); nothing could read either. The catalog filters, in the
    same query.

    Each match is ``{"path", "kind", "size", "modified_at", "modified_at_epoch"}`` (``modified_at`` in
    ISO-8601 UTC, which ``newer_than`` accepts back; ``modified_at_epoch`` in seconds).

    Example:

    ```python
    from irods_provider.sensors.irods import IrodsPathSensor

    wait_for_done = IrodsPathSensor(
        task_id="wait_for_done",
        path="/tempZone/home/alice/incoming/{{ ds }}/DONE",
        kind="data_object",
        poke_interval=60,
        timeout=6 * 3600,
        deferrable=True,
    )
    ```

    :param path: absolute logical path, taken literally (``data[1].csv`` is that object) unless ``glob``.
    :param glob: treat ``path`` as a pattern: ``*``, ``?``, ``[..]`` within one segment, a ``**`` segment
        for any depth, ``[[]``/``[*]``/``[?]`` for a literal ``[``/``*``/``?`` (the provider's one rule).
    :param kind: ``any``, ``collection`` or ``data_object``.
    :param newer_than: only match entries modified after this (aware datetime, ISO string, or epoch seconds
        as a number or as rendered text).
    :param check_fn: called with the list of matches; the wait ends only when it returns True (the same in
        poke and deferred mode: a deferred sensor whose matches it declines defers again).
    :param max_matches: push (and carry in the trigger's event) at most this many matches, the first by path
        (default 1,000); past it a warning gives the total and ``check_fn`` sees the same first matches in
        either mode. ``None`` pushes them all (a 100,000-object glob then writes ~20 MB of XCom).
    """

    template_fields: Sequence[str] = ("path", "newer_than", "irods_conn_id")
    ui_color = "#9cd4f0"

    def __init__(
        self,
        *,
        path: str,
        kind: str = "any",
        newer_than: datetime | str | int | None = None,
        glob: bool = False,
        max_matches: int | None = DEFAULT_MAX_MATCHES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.kind = kind
        self.newer_than = newer_than
        self.glob = glob
        self.max_matches = check_max_matches(max_matches)

    def _check(self) -> Check[list[dict[str, Any]]]:
        return path_matches(self.path, kind=self.kind, newer_than=_epoch(self.newer_than), glob=self.glob)

    def _accept(self, matches: list[dict[str, Any]]) -> bool:
        """As the base, and a literal path holding glob characters that is not there yet says so."""
        if not matches and not self.glob and literal_hint(self.path):
            self.log.info("Nothing at the literal path %s yet%s", self.path, literal_hint(self.path))
        return super()._accept(matches)

    def _trigger(self) -> BaseTrigger:
        return IrodsPathTrigger(
            path=self.path,
            glob=self.glob,
            kind=self.kind,
            newer_than=_epoch(self.newer_than),
            irods_conn_id=self.irods_conn_id,
            max_matches=self.max_matches,
            **self._schedule_kwargs(),
        )


class IrodsMetadataSensor(_IrodsBaseSensor):
    """Wait until ``path`` carries an AVU, or (without ``path``) until any object carrying it exists.

    A data object another client is still writing (no good replica yet) does not match, AVU or not, until
    that write closes: a tagged object rewritten in place is not handed downstream half-written.

    Example:

    ```python
    from irods_provider.sensors.irods import IrodsMetadataSensor

    wait_for_approval = IrodsMetadataSensor(
        task_id="wait_for_approval",
        attribute="status",
        value="approved",
        path="/tempZone/home/alice/runs/{{ ds }}",
        mode="reschedule",
    )
    ```

    :param attribute: AVU attribute.
    :param value: narrow the match to this value (a number or bool means the text
        :class:`IrodsPutMetadataOperator` stores for it: ``5`` is ``"5"``, ``True`` is ``"true"``).
    :param units: narrow the match to these units.
    :param path: the collection or data object to watch; omit it (None) to search the zone (or ``under``). A
        template rendering it empty is an error, never a zone-wide search.
    :param under: restrict the search to this collection and below (only without ``path``; empty is refused).
    :param kind: for the search: ``any``, ``collection`` or ``data_object``.
    :param check_fn: called with the list of matches; the wait ends only when it returns True.
    :param max_matches: push (and carry in the trigger's event) at most this many matches, the first by path
        (default 1,000); past it a warning gives the total and ``check_fn`` sees the same first matches in
        either mode. ``None`` pushes them all (a 100,000-object glob then writes ~20 MB of XCom).
    """

    template_fields: Sequence[str] = ("attribute", "value", "units", "path", "under", "irods_conn_id")
    ui_color = "#9cd4f0"

    def __init__(
        self,
        *,
        attribute: str,
        value: str | float | None = None,
        units: str | float | None = None,
        path: str | None = None,
        under: str | None = None,
        kind: str = "any",
        max_matches: int | None = DEFAULT_MAX_MATCHES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_matches = check_max_matches(max_matches)
        self.attribute = attribute
        self.value = value
        self.units = units
        self.path = path
        self.under = under
        self.kind = kind

    def _where(self) -> tuple[str | None, str | None]:
        """``(path, under)`` as rendered: None is "not given"; anything else must be an absolute path, so a
        template that rendered empty fails instead of widening the wait to the whole zone."""
        path = None if self.path is None else check_path("path", self.path)
        under = None if self.under is None else check_path("under", self.under)
        if path and under:
            raise IrodsUsageError("give either path (one object) or under (a search), not both")
        return path, under

    def _check(self) -> Check[list[dict[str, Any]]]:
        path, under = self._where()
        return metadata_matches(
            attribute=self.attribute,
            value=self.value,
            units=self.units,
            path=path,
            under=under,
            kind=self.kind,
        )

    def _trigger(self) -> BaseTrigger:
        path, under = self._where()
        return IrodsMetadataTrigger(
            attribute=self.attribute,
            value=self.value,
            units=self.units,
            path=path,
            under=under,
            kind=self.kind,
            irods_conn_id=self.irods_conn_id,
            max_matches=self.max_matches,
            **self._schedule_kwargs(),
        )


class IrodsCollectionStableSensor(_IrodsBaseSensor):
    """Wait until a collection's data-object count and total bytes stay unchanged for a while.

    Each poke runs one aggregate GenQuery (replica rows, bytes, newest change, highest replica status; the
    engine's temporaries left out); only when that has not changed for ``inactivity_period`` does one exact
    listing confirm it and give the figures pushed (each object once, whatever its replicas). While any
    object in the tree is being written (a replica intermediate or locked) it is never settled: the
    catalog's size and mtime of such an object do not change until its write closes.

    In poke mode the observations live on this sensor; deferred, they live in the trigger for the whole
    wait; ``mode="reschedule"`` (which forgets them between pokes) is refused at construction. A missing
    collection fails at once (``IrodsNotFoundError``) instead of counting as stable. Pushes
    ``{path, objects, bytes}``.

    Example:

    ```python
    from irods_provider.sensors.irods import IrodsCollectionStableSensor

    wait_until_quiet = IrodsCollectionStableSensor(
        task_id="wait_until_quiet",
        path="/tempZone/home/alice/incoming/{{ ds }}",
        inactivity_period=600,
        min_objects=3,
    )
    ```

    :param path: the collection to watch (it must exist: a missing collection fails at once).
    :param inactivity_period: seconds the count and size must stay unchanged.
    :param min_objects: the collection must hold at least this many data objects.
    :param allow_delete: when False, fail if objects disappear while waiting.
    """

    template_fields: Sequence[str] = ("path", "irods_conn_id")
    ui_color = "#9cd4f0"

    def __init__(
        self,
        *,
        path: str,
        inactivity_period: float = 300.0,
        min_objects: int = 1,
        allow_delete: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if self.mode == "reschedule" and not self.deferrable:
            raise IrodsUsageError(
                f"{type(self).__name__} compares observations across pokes, which mode='reschedule' forgets "
                "between reschedules: use deferrable=True (the trigger keeps them) or mode='poke'"
            )
        self.path = path
        self.inactivity_period = inactivity_period
        self.min_objects = min_objects
        self.allow_delete = allow_delete
        self._tracker: StabilityTracker | None = None

    def _new_tracker(self) -> StabilityTracker:
        return StabilityTracker(
            inactivity_period=self.inactivity_period,
            min_objects=self.min_objects,
            allow_delete=self.allow_delete,
        )

    def _check(self) -> Check[Any]:
        if self._tracker is None:
            self._tracker = self._new_tracker()
        return collection_stability(self.path, self._tracker, self._clock())

    def _clock(self) -> float:
        return time.monotonic()

    def poke(self, context: Context) -> PokeReturnValue:
        """One aggregate query; one exact listing only once the tree has looked unchanged for the period."""
        state = run_sync(self._check(), self.hook.get_conn())
        done = state is not None
        if state is not None:
            self.log.info("%s settled: %d data objects, %d bytes", self.path, state.objects, state.bytes)
        record_sensor_poll(sensor=type(self).__name__, conn_id=str(self.irods_conn_id), done=done)
        return PokeReturnValue(
            is_done=done, xcom_value=[{"path": self.path, **state.to_dict()}] if done else None
        )

    def _trigger(self) -> BaseTrigger:
        return IrodsCollectionStableTrigger(
            path=self.path,
            inactivity_period=self._new_tracker().inactivity_period,  # validated, as a float
            min_objects=self.min_objects,
            allow_delete=self.allow_delete,
            irods_conn_id=self.irods_conn_id,
            **self._schedule_kwargs(),
        )
