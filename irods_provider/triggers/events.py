"""Event triggers for Airflow's ``AssetWatcher``: start a DAG when an object or an AVU lands in iRODS.

``Asset("irods://tempZone/home/rods/inbox", watchers=[AssetWatcher(name="inbox",
trigger=IrodsPathEventTrigger(path="/tempZone/home/rods/inbox/*.csv", glob=True,
irods_conn_id="irods_default"))])``

Each trigger polls the same check its sensor pokes with (:mod:`irods_provider.hooks._checks`) and fires one
``TriggerEvent`` per *new* match, never ending (a watcher runs for the life of its DAG).

**Where the state lives.** A watcher's kwargs are fixed by the DAG file (Airflow stores them once and hashes
them to identify the trigger), so they cannot carry what was already seen. Airflow 3.3 gives every event
trigger the asset state store of its watched asset (``self.asset_state_store``, rows of the metadata
database's ``asset_state_store`` table, kept across triggerer restarts and hand-overs). The triggers keep
there, under :attr:`_IrodsEventTrigger.state_key`:

- path trigger: ``{"horizon": t, "seen": {path: modify_time}}`` — every match whose modify time is above
  the horizon is tracked by path; anything at or below it is old. The horizon trails the newest modify time
  seen by ``lookback_seconds`` (default one hour) so an upload published (renamed into place) up to that
  long after its last write still counts as new, while the state stays bounded by what landed in the window.
  A rewritten object (new modify time) fires again: a new version landed. At most ``max_seen`` paths
  (default 10,000) are kept: when more landed within the window, the horizon moves up past the oldest of
  them (whole seconds: all paths of the oldest kept second stay), logged; an object published late with a
  modify time at or below that horizon is then taken as old. The state is thus at most ``max_seen`` paths
  (a path and its modify time each), whatever the landing rate, except while a backlog drains
  (``max_events_per_scan``): the horizon never reaches a match left for the next scans, so the paths above
  the oldest of them stay until it has fired.
- metadata trigger: ``{"seen": [paths]}`` — the objects matching now; an object fires when it starts to
  carry the AVU, and again if the AVU is removed and added back.

**What a scan costs.** The path trigger asks the catalog only for matches modified after its horizon
(``DATA_MODIFY_TIME > '01733480000'``: the catalog keeps times as 11-digit zero-padded strings and compares
them as strings), which is exactly what :meth:`IrodsPathEventTrigger._new` could find new; a scan thus costs
GenQuery pages in proportion to what landed in the lookback window, not to the collection (100,000 objects
at 15 rows a page were 6,669 requests a scan). The horizon is a catalog time, never the triggerer's clock,
so no clock skew enters. The first scan (no state yet) lists everything once. An upload renamed into place
within its collection keeps its modify time (iRODS ``chlRenameObject`` leaves ``modify_ts``; a move to
another collection sets it to now), so it still fires when published within the lookback. The metadata
trigger asks the catalog for the AVU itself, so its scans already cost what carries the AVU: GenQuery has
no column for when an AVU was attached to an object (``META_DATA_*_TIME`` are the AVU row's own times,
shared by every object carrying it), so there is nothing finer to filter on.

**Objects being written.** The path trigger asks the catalog for objects with a good replica only
(``DATA_REPL_STATUS = '1'``, in the same query): while another client writes an object in place, iRODS makes
its replicas intermediate or write-locked and keeps its old (or zero) size, so it is not new yet; the close
makes a replica good and sets its modify time to the close, above the horizon, so it fires then, once. The
metadata trigger leaves out data objects without a good replica the same way.

**Events per scan.** One scan fires at most ``max_events_per_scan`` events (default 1,000; None: no cap),
oldest modify time first (metadata trigger: by path). The other new matches are not recorded as seen, so
they fire at the next scans: a backlog (a bulk ingest, or ``fire_on_existing=True`` over 100,000 objects)
drains at that rate, with one warning per scan naming how many wait, instead of 100,000 asset events (and
DAG runs) in one instant. Neither bound is part of the state key: changing one keeps what was seen.

The events of one scan are yielded first and the state written right after, so a triggerer stopped
gracefully never repeats an event. (A process killed between the two can lose that scan's events: Airflow
persists events after the trigger yields them, so at-most-once is the choice that never starts a DAG twice.)
Without a state store (a trigger not used in a watcher, or watching several assets) the state lives in the
trigger only and a restart starts from a new baseline.

On its first scan with no stored state the trigger records what already exists as the baseline and fires
nothing, logging how many it took (``fire_on_existing=True`` fires for them too, ``max_events_per_scan`` at a
time). The stored state has the same shape as in earlier releases, which kept every path of the window: such
a state is read as is and trimmed to ``max_seen`` at the next scan. Scan errors, and a session that cannot
be opened (server down, login refused), are logged and retried at the next poll: a watcher never ends on its
own. A scan whose login is refused reopens the session at the next poll, reading the connection again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, ClassVar

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from irods_provider.exceptions import IrodsAuthenticationError, IrodsUsageError
from irods_provider.hooks._checks import Check, path_matches, run_async
from irods_provider.triggers._events import typed_error
from irods_provider.triggers._schedule import (
    PollSchedule,
    floored_interval,
    grid_clock,
    seconds_argument,
)
from irods_provider.triggers._shared import discard_session, trigger_session
from irods_provider.triggers.irods import MetadataQuery

__all__ = ["IrodsMetadataEventTrigger", "IrodsPathEventTrigger"]

log = logging.getLogger(__name__)

#: kwargs that do not change what a trigger watches, so they do not change its state key.
_NOT_IN_KEY = frozenset({"poke_interval", "fire_on_existing", "max_events_per_scan", "max_seen"})

#: Events one scan fires at most; the rest of a backlog fires at the next scans (oldest first).
DEFAULT_MAX_EVENTS_PER_SCAN = 1000
#: Paths the path trigger remembers at most; over it the horizon moves up past the oldest of them.
DEFAULT_MAX_SEEN = 10_000


class _IrodsEventTrigger(BaseEventTrigger):
    """Poll a check and fire once per new match; the seen set lives in the asset state store."""

    kind_of_event: ClassVar[str]

    def __init__(
        self,
        *,
        irods_conn_id: str,
        poke_interval: float = 60.0,
        fire_on_existing: bool = False,
        max_events_per_scan: int | None = DEFAULT_MAX_EVENTS_PER_SCAN,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.irods_conn_id = irods_conn_id
        self.poke_interval = seconds_argument("poke_interval", poke_interval)
        self.fire_on_existing = fire_on_existing
        self.max_events_per_scan = _bound("max_events_per_scan", max_events_per_scan)
        self._state: dict[str, Any] | None = None

    def _kwargs(self) -> dict[str, Any]:
        return {
            "irods_conn_id": self.irods_conn_id,
            "poke_interval": self.poke_interval,
            "fire_on_existing": self.fire_on_existing,
            "max_events_per_scan": self.max_events_per_scan,
        }

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath computed from the class, and the keyword arguments that rebuild this trigger."""
        cls = type(self)
        return f"{cls.__module__}.{cls.__qualname__}", self._kwargs()

    @property
    def state_key(self) -> str:
        """Key in the asset state store: changes when what is watched changes (so the state starts over)."""
        identity = {k: v for k, v in sorted(self._kwargs().items()) if k not in _NOT_IN_KEY}
        digest = hashlib.sha256(json.dumps([self.serialize()[0], identity]).encode()).hexdigest()
        return f"irods_event_trigger.{digest[:16]}"

    # -- what subclasses define ------------------------------------------------------------------------
    def _check(self) -> Check[list[dict[str, Any]]]:
        raise NotImplementedError

    def _new(self, state: dict[str, Any], matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The matches that are new against ``state``, in firing order (oldest first)."""
        raise NotImplementedError

    def _record(
        self, state: dict[str, Any], matches: list[dict[str, Any]], fired: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The next state: ``fired`` are seen; new matches not in ``fired`` stay new for the next scans."""
        raise NotImplementedError

    @staticmethod
    def _empty_state() -> dict[str, Any]:
        raise NotImplementedError

    # -- the one decision: what fires now -----------------------------------------------------------------
    def _advance(
        self, state: dict[str, Any], matches: list[dict[str, Any]], *, limit: int | None = None
    ) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
        """The next state, the matches that fire now (the first ``limit`` new ones; None: all of them) and
        how many new ones wait for the next scans (not recorded, so still new then)."""
        new = self._new(state, matches)
        fired = new if limit is None else new[:limit]
        return self._record(state, matches, fired), fired, len(new) - len(fired)

    def _step(self, matches: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """One scan's next state and events: none on a baseline, at most ``max_events_per_scan`` otherwise.

        A backlog thus drains at ``max_events_per_scan`` per poll, oldest first, with one log line per scan.
        """
        if self._state is None and not self.fire_on_existing:
            state, recorded, _ = self._advance(self._empty_state(), matches)
            log.info(
                "%s: first scan, %d existing matches taken as the baseline (fire_on_existing=False)",
                self.state_key,
                len(recorded),
            )
            return state, []
        state, fired, waiting = self._advance(
            self._state or self._empty_state(), matches, limit=self.max_events_per_scan
        )
        if waiting:
            log.warning(
                "%s: %d new matches; firing the oldest %d now (max_events_per_scan), %d at the next scans",
                self.state_key,
                len(fired) + waiting,
                len(fired),
                waiting,
            )
        return state, fired

    # -- the loop ----------------------------------------------------------------------------------------
    async def _load(self) -> Any | None:
        """Read the stored state into ``self._state``; return the usable store (None: not a watcher)."""
        store = self.asset_state_store
        if store is None:
            return None
        try:
            stored = await store.aget(self.state_key)
        except ValueError:  # the accessor needs one asset: this trigger watches several
            log.warning("%s watches several assets: its seen set is kept in memory only", self.state_key)
            return None
        self._state = stored if isinstance(stored, dict) else None
        return store

    async def _save(self, store: Any | None, state: dict[str, Any]) -> None:
        changed = state != self._state
        self._state = state
        if changed and store is not None:
            await store.aset(self.state_key, state)

    async def _scan(self, session: Any) -> list[dict[str, Any]] | None:
        """The current matches, or None when the scan failed (logged; retried at the next poll).

        A refused login (a password rotated while the watcher ran) is raised instead, after the session is
        discarded, so the next poll opens a fresh one with the connection read again.
        """
        try:
            return await run_async(self._check(), session)
        except IrodsAuthenticationError:
            discard_session(self.irods_conn_id, session)
            raise
        except Exception as error:  # any scan error, typed for the log (triggers/_events.py: the rule)
            typed = typed_error(error)
            log.warning("%s: scan failed, retrying in %ss: %s", self.state_key, self.poke_interval, typed)
            return None

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def _event(self, match: dict[str, Any]) -> TriggerEvent:
        payload = {"event": self.kind_of_event, "irods_conn_id": self.irods_conn_id, **match}
        return TriggerEvent(payload)  # type: ignore[no-untyped-call]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll forever; a session that cannot be opened (server down, login refused) is retried each poll."""
        store = await self._load()
        while True:
            try:
                async with (
                    trigger_session(self.irods_conn_id) as session,
                    contextlib.aclosing(self._watch(session, store)) as events,
                ):
                    async for event in events:
                        yield event
            except Exception as error:  # a watcher never ends on its own (CancelledError is no Exception)
                log.warning(
                    "%s: cannot open a session on %s, retrying in %ss: %s",
                    self.state_key,
                    self.irods_conn_id,
                    self.poke_interval,
                    typed_error(error),
                )
            await self._sleep(floored_interval(self.poke_interval))  # a poke_interval of 0 must not spin

    async def _watch(self, session: Any, store: Any | None) -> AsyncGenerator[TriggerEvent, None]:
        """Scan every poll, yielding one event per new match, then recording it as seen.

        Scans after the first keep to this trigger's own offset in the poke interval (see
        :mod:`~irods_provider.triggers._schedule`), so many watchers do not all scan in the same instant.
        """
        schedule = PollSchedule.for_trigger(self.poke_interval, self.trigger_id)
        while True:
            started = grid_clock()
            matches = await self._scan(session)
            if matches is not None:
                new_state, fired = self._step(matches)
                for match in fired:
                    yield self._event(match)
                await self._save(store, new_state)
            await self._sleep(schedule.wait_after(started, grid_clock()))


class IrodsPathEventTrigger(_IrodsEventTrigger):
    """Fire once for every data object or collection matching ``path`` that appears.

    A data object appears when it can be read: one another client is still writing in place (its replicas
    intermediate or write-locked, its catalog size partial) fires once that write closes, with its full
    size and the modify time of the close.

    Example:

    ```python
    from airflow.sdk import Asset, AssetWatcher

    from irods_provider.triggers.events import IrodsPathEventTrigger

    # A DAG scheduled on this asset runs once for every new CSV file.
    incoming_csv = Asset(
        "irods_incoming_csv",
        watchers=[
            AssetWatcher(
                name="new_csv",
                trigger=IrodsPathEventTrigger(
                    path="/tempZone/home/alice/incoming/*.csv",
                    glob=True,
                    irods_conn_id="irods_default",
                ),
            )
        ],
    )
    ```

    :param path: absolute logical path, literal unless ``glob``; with ``glob=True`` a pattern such as
        ``/tempZone/home/rods/inbox/**/*.csv`` (the provider's one pattern rule).
    :param glob: treat ``path`` as a pattern (``*``, ``?``, ``[..]``, ``**``; ``[[]`` for a literal ``[``).
    :param kind: ``any``, ``data_object`` or ``collection``.
    :param lookback_seconds: how far behind the newest modify time an object may be and still be new.
    :param fire_on_existing: fire for the objects that exist at the first scan too (default: baseline).
    :param max_events_per_scan: events one scan fires at most, oldest first; the rest fire at the next
        scans (None: no cap).
    :param max_seen: paths of the lookback window kept in the state at most; over it the window shrinks
        (None: no bound).
    :param irods_conn_id: the Airflow connection of type ``irods`` (required: a watcher's kwargs are fixed
        by the DAG file).
    :param poke_interval: seconds between scans (default 60.0).
    """

    kind_of_event = "irods.path"

    def __init__(
        self,
        *,
        path: str,
        irods_conn_id: str,
        kind: str = "data_object",
        lookback_seconds: int = 3600,
        poke_interval: float = 60.0,
        fire_on_existing: bool = False,
        glob: bool = False,
        max_events_per_scan: int | None = DEFAULT_MAX_EVENTS_PER_SCAN,
        max_seen: int | None = DEFAULT_MAX_SEEN,
    ) -> None:
        super().__init__(
            irods_conn_id=irods_conn_id,
            poke_interval=poke_interval,
            fire_on_existing=fire_on_existing,
            max_events_per_scan=max_events_per_scan,
        )
        self.path = path
        self.kind = kind
        self.lookback_seconds = lookback_seconds
        self.glob = glob
        self.max_seen = _bound("max_seen", max_seen)
        path_matches(path, kind=kind, glob=glob)  # refuse a bad pattern or kind when the DAG is parsed

    def _kwargs(self) -> dict[str, Any]:
        return {
            **super()._kwargs(),
            "path": self.path,
            "kind": self.kind,
            "lookback_seconds": self.lookback_seconds,
            "glob": self.glob,
            "max_seen": self.max_seen,
        }

    def _check(self) -> Check[list[dict[str, Any]]]:
        """The matches modified after the stored horizon (all of them without a state).

        The catalog filters by modify time (see the module docstring), so a scan costs GenQuery pages in
        proportion to what landed above the horizon, not to the collection: a match at or below it is
        never new (:meth:`_new`), and :meth:`_record` reads only the fired matches.
        """
        horizon = (self._state or {}).get("horizon")
        newer_than = horizon if isinstance(horizon, int) and not isinstance(horizon, bool) else None
        return path_matches(self.path, kind=self.kind, glob=self.glob, newer_than=newer_than)

    @staticmethod
    def _empty_state() -> dict[str, Any]:
        return {"horizon": None, "seen": {}}

    def _new(self, state: dict[str, Any], matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        horizon: int | None = state.get("horizon")
        seen: dict[str, int | None] = state.get("seen") or {}
        new = [
            m
            for m in matches
            if (horizon is None or (_epoch(m) or 0) > horizon)
            and (m["path"] not in seen or seen[m["path"]] != _epoch(m))
        ]
        return sorted(new, key=lambda m: (_epoch(m) or 0, m["path"]))

    def _record(
        self, state: dict[str, Any], matches: list[dict[str, Any]], fired: list[dict[str, Any]]
    ) -> dict[str, Any]:
        horizon: int | None = state.get("horizon")
        seen: dict[str, int | None] = dict(state.get("seen") or {})
        # The new matches left for the next scans must stay above the horizon (at or below it is old).
        fired_paths = {m["path"] for m in fired}
        waiting = [_epoch(m) or 0 for m in self._new(state, matches) if m["path"] not in fired_paths]
        ceiling = min(waiting) - 1 if waiting else None
        seen.update((m["path"], _epoch(m)) for m in fired)
        newest = max((t or 0 for t in seen.values()), default=None)
        if newest is not None:
            horizon = _below(horizon, newest - self.lookback_seconds, ceiling)
            seen = {p: t for p, t in seen.items() if (t or 0) > horizon}
        if self.max_seen is not None and len(seen) > self.max_seen:
            raised, seen = _keep_newest(horizon, seen, self.max_seen, ceiling)
            log.info(
                "%s: over max_seen=%d paths seen in the lookback window: horizon %s -> %d "
                "(an object modified at or before it no longer fires if it is published late)",
                self.state_key,
                self.max_seen,
                horizon,
                raised,
            )
            horizon = raised
        return {"horizon": horizon, "seen": dict(sorted(seen.items()))}


def _below(horizon: int | None, wanted: int, ceiling: int | None) -> int:
    """The horizon raised towards ``wanted``, never lowered and never up to a match still waiting to fire
    (``ceiling``: a second below the oldest of them)."""
    return max(horizon or 0, wanted if ceiling is None else min(wanted, ceiling))


def _keep_newest(
    horizon: int | None, seen: dict[str, int | None], limit: int, ceiling: int | None = None
) -> tuple[int, dict[str, int | None]]:
    """Keep the ``limit`` newest paths of ``seen`` and raise the horizon to the newest time dropped, but not
    past ``ceiling`` (matches waiting for the next scans are above it; paths above it stay, so a backlog
    draining may keep the state over ``limit`` until it is through).

    Every path of the oldest kept second stays (so the state exceeds ``limit`` only by paths sharing one
    modify-time second): an object at the new horizon is then one already seen, never one still to fire.
    """
    by_age = sorted(seen.items(), key=lambda item: (item[1] or 0, item[0]), reverse=True)
    oldest_kept = by_age[limit - 1][1] or 0
    dropped = [t or 0 for _, t in by_age[limit:] if (t or 0) < oldest_kept]
    raised = _below(horizon, max(dropped, default=horizon or 0), ceiling)
    return raised, {p: t for p, t in seen.items() if (t or 0) > raised}


class IrodsMetadataEventTrigger(MetadataQuery, _IrodsEventTrigger):
    """Fire once for every object that starts carrying an AVU (``path`` itself, or any under ``under``).

    The AVU matches by ``attribute`` and, when given, ``value`` and ``units``; ``kind`` limits a search to
    ``data_object`` or ``collection``. One scan fires at most ``max_events_per_scan`` events (by path; None:
    no cap), the rest at the next scans. The state lists every object carrying the AVU now (that is how a
    removed and re-added AVU is seen): remove the AVU once an object is processed to keep it small.

    Example:

    ```python
    from airflow.sdk import Asset, AssetWatcher

    from irods_provider.triggers.events import IrodsMetadataEventTrigger

    # A DAG scheduled on this asset runs once for every object newly tagged status=approved.
    approved = Asset(
        "irods_approved",
        watchers=[
            AssetWatcher(
                name="approved",
                trigger=IrodsMetadataEventTrigger(
                    attribute="status",
                    value="approved",
                    under="/tempZone/home/alice/runs",
                    irods_conn_id="irods_default",
                ),
            )
        ],
    )
    ```

    :param attribute: AVU attribute.
    :param value: narrow the match to this value (a number or bool means the text
        ``IrodsPutMetadataOperator`` stores for it).
    :param units: narrow the match to these units.
    :param path: the collection or data object to watch; omit it (None) to search the zone (or ``under``).
    :param under: restrict the search to this collection and below (only without ``path``).
    :param kind: for the search: ``any``, ``collection`` or ``data_object``.
    :param irods_conn_id: the Airflow connection of type ``irods`` (required: a watcher's kwargs are fixed
        by the DAG file).
    :param poke_interval: seconds between scans (default 60.0).
    :param fire_on_existing: fire for the objects carrying the AVU at the first scan too (default: baseline).
    :param max_events_per_scan: events one scan fires at most, by path; the rest fire at the next scans
        (None: no cap).
    """

    kind_of_event = "irods.metadata"

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
        fire_on_existing: bool = False,
        max_events_per_scan: int | None = DEFAULT_MAX_EVENTS_PER_SCAN,
    ) -> None:
        super().__init__(
            irods_conn_id=irods_conn_id,
            poke_interval=poke_interval,
            fire_on_existing=fire_on_existing,
            max_events_per_scan=max_events_per_scan,
        )
        self._set_metadata_query(
            attribute=attribute, value=value, units=units, path=path, under=under, kind=kind
        )
        self._check()  # refuse a missing attribute or bad kind when the DAG is parsed

    def _kwargs(self) -> dict[str, Any]:
        return {**super()._kwargs(), **self._metadata_kwargs()}

    @staticmethod
    def _empty_state() -> dict[str, Any]:
        return {"seen": []}

    def _new(self, state: dict[str, Any], matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen = set(state.get("seen") or [])
        return sorted((m for m in matches if m["path"] not in seen), key=lambda m: str(m["path"]))

    def _record(
        self, state: dict[str, Any], matches: list[dict[str, Any]], fired: list[dict[str, Any]]
    ) -> dict[str, Any]:
        seen = set(state.get("seen") or []) | {m["path"] for m in fired}
        return {"seen": sorted(p for p in (m["path"] for m in matches) if p in seen)}


def _epoch(match: dict[str, Any]) -> int | None:
    """A match's modify time in epoch seconds (matches carry ISO ``modified_at`` and its ``_epoch``)."""
    value = match.get("modified_at_epoch", match.get("modified_at"))
    return value if isinstance(value, int) else None


def _bound(name: str, value: int | None) -> int | None:
    """A positive count, or None for no bound; anything else is refused when the DAG is parsed."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise IrodsUsageError(f"{name} must be a positive integer or None, got {value!r}")
