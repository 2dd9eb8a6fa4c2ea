"""The predicates sensors and triggers share, written once and run over a sync or an async session.

A check is a generator: it yields :class:`Call` requests ("call ``session.collections.list(path)``") and
receives their results (or has their errors thrown into it), then returns its answer. :func:`run_sync`
drives it with an :class:`~irods_provider.client.IrodsSession` (``poke``), :func:`run_async` with an
:class:`~irods_provider.client.AsyncIrodsSession` (a trigger's ``run``), so deferring never changes
the outcome.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from irods_provider._values import avu_text
from irods_provider.client import EntryKind, Kinds
from irods_provider.client._genquery import like_text
from irods_provider.client._locks import is_no_good_replica
from irods_provider.client._models import LOCKED_STATUSES
from irods_provider.client._paths import needs_catalog, normalize_path, path_problem, path_zone
from irods_provider.client._patterns import PathPattern, compile_pattern
from irods_provider.exceptions import (
    IrodsInvalidPathError,
    IrodsNotACollectionError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsResponseError,
    IrodsUsageError,
)

__all__ = [
    "DEFAULT_MAX_MATCHES",
    "KINDS",
    "MISSING",
    "Call",
    "Check",
    "CollectionSignature",
    "CollectionState",
    "StabilityTracker",
    "bound_matches",
    "check_max_matches",
    "collection_stability",
    "collection_state",
    "excess_message",
    "metadata_matches",
    "path_argument",
    "path_matches",
    "run_async",
    "run_sync",
    "signature_query",
    "split_glob",
    "stat_collection",
    "stat_path",
    "timestamp_fields",
]

T = TypeVar("T")
KINDS = ("any", "collection", "data_object")
#: The errors that mean "nothing (visible) at this path" for a stat of either kind.
MISSING = (IrodsNotFoundError, IrodsNotACollectionError, IrodsNotADataObjectError)
#: How many matches a sensor pushes to XCom and its trigger carries in its event, unless told otherwise: a
#: match is ~200 bytes of JSON, so 1,000 keep the XCom and trigger-event rows near 200 kB, while a glob over
#: a 100,000-object zone would write ~20 MB into Airflow's metadata database on every success.
DEFAULT_MAX_MATCHES = 1000


@dataclass(frozen=True)
class Call:
    """One session call a check needs: ``session.<group>.<method>(*args, **kwargs)``."""

    group: str
    method: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


Check = Generator[Call, Any, T]


def _bound(session: Any, call: Call) -> Any:
    return getattr(getattr(session, call.group), call.method)


def run_sync(check: Check[T], session: Any) -> T:
    """Run ``check`` with a sync session; lazy iterators are materialised into lists."""
    try:
        call = next(check)
        while True:
            try:
                result = _bound(session, call)(*call.args, **call.kwargs)
                if hasattr(result, "__next__") and hasattr(result, "__iter__"):
                    result = list(result)
            except Exception as error:
                call = check.throw(error)
            else:
                call = check.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def run_async(check: Check[T], session: Any) -> T:
    """Run ``check`` with an async session; async iterators are materialised into lists."""
    try:
        call = next(check)
        while True:
            try:
                result = _bound(session, call)(*call.args, **call.kwargs)
                if inspect.isawaitable(result):
                    result = await result
                if hasattr(result, "__aiter__"):
                    result = [item async for item in result]
                elif hasattr(result, "__next__") and hasattr(result, "__iter__"):
                    result = list(result)
            except Exception as error:
                call = check.throw(error)
            else:
                call = check.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def check_max_matches(max_matches: int | None) -> int | None:
    """``max_matches`` as given when it is an integer >= 1 or None (no bound); anything else is refused."""
    if max_matches is None:
        return None
    if isinstance(max_matches, bool) or not isinstance(max_matches, int) or max_matches < 1:
        raise IrodsUsageError(f"max_matches must be an integer >= 1 or None (no bound), got {max_matches!r}")
    return max_matches


def bound_matches(matches: list[T], max_matches: int | None) -> tuple[list[T], int]:
    """The first ``max_matches`` of ``matches`` (all when None) and how many there were.

    The one place the bound is applied, by a sensor's poke and its trigger alike: the checks return their
    matches sorted by path, so the ones kept are the first by path, the same on every run.
    """
    kept = matches if max_matches is None else matches[:max_matches]
    return kept, len(matches)


def excess_message(kept: int, total: int) -> str | None:
    """The warning for a bounded result (None when nothing was left out)."""
    if total <= kept:
        return None
    return (
        f"{total} paths matched; only the first {kept} (by path) are returned (max_matches={kept}): "
        "raise max_matches, or max_matches=None for all of them"
    )


def split_glob(pattern: str) -> tuple[str, list[str]]:
    """Split ``/zone/home/*/x*.csv`` into the fixed collection ``/zone/home`` and the pattern segments
    (the provider's one pattern rule, :mod:`irods_provider.client._patterns`)."""
    compiled = _absolute_pattern(pattern)
    return compiled.base, list(compiled.segments)


def _absolute_pattern(pattern: str) -> PathPattern:
    return compile_pattern(path_argument("path", pattern))


def path_argument(name: str, value: Any) -> str:
    """``value`` if it is an absolute logical path iRODS can hold (after the one path rule), else a typed
    error before anything is asked of the server. A rendered template can give anything: a list, a number,
    a ``PurePath`` (native rendering), ``""``, ``..`` or a NUL; as an argument of a check that was a crash
    in the sensor or the triggerer, a wait that could never end, or (``under=""``) a zone-wide search."""
    problem = path_problem(normalize_path(value)) if isinstance(value, str) else None
    if isinstance(value, str) and problem is None:
        return value
    problem = problem or f"expected a str, got {type(value).__name__}"
    path = value if isinstance(value, str) else None
    message = f"{name} must be an absolute logical path iRODS can hold: {problem}; got {value!r}"
    raise IrodsInvalidPathError(message, path=path)


def timestamp_fields(name: str, epoch: int | None) -> dict[str, Any]:
    """``{name: ISO-8601 UTC, name_epoch: seconds}`` for XCom: people read the first, code compares either.

    The ISO form (``2026-01-31T12:00:00+00:00``) is what ``datetime.fromisoformat`` and the sensors'
    ``newer_than`` accept; ``None`` stays ``None`` in both.
    """
    iso = None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC).isoformat()
    return {name: iso, f"{name}_epoch": epoch}


def _entry_dict(path: str, kind: str, size: int | None, modified_at: int | None) -> dict[str, Any]:
    return {"path": path, "kind": kind, "size": size, **timestamp_fields("modified_at", modified_at)}


def stat_path(path: str) -> Check[dict[str, Any] | None]:
    """Stat a path whatever it is: collection first, then data object; ``None`` when missing or not arrived.

    A data object without a good replica has not arrived: another client is still writing it (its replicas
    intermediate or write-locked until that write closes; the server's stat answers SYS_NO_GOOD_REPLICA)
    or its write failed (stale); neither can be read. A path holding ``+`` or ``'`` is looked up in the
    catalog instead (``collections.lookup``): no GET can carry a ``+`` (the server turns it into a space),
    and an HTTP API built with iRODS 4.3 cannot stat some quoted paths (``needs_catalog``).
    """
    path = normalize_path(path)
    if needs_catalog(path):
        try:
            entry = yield Call("collections", "lookup", (path,))
        except MISSING:
            return None
        if entry.kind is EntryKind.COLLECTION:
            return _entry_dict(path, "collection", None, entry.modified_at)
        if entry.replicas and not any(r.good for r in entry.replicas):
            return None
        return _entry_dict(path, "data_object", entry.size, entry.modified_at)
    try:
        stat = yield Call("collections", "stat", (path,))
        return _entry_dict(path, "collection", None, stat.modified_at)
    except MISSING:
        pass
    try:
        stat = yield Call("data_objects", "stat", (path,))
        return _entry_dict(path, "data_object", stat.size, stat.modified_at)
    except MISSING:
        return None
    except IrodsResponseError as error:  # IrodsLockedError too: the server said SYS_NO_GOOD_REPLICA
        if is_no_good_replica(error):
            return None
        raise


_KINDS = {"any": Kinds.BOTH, "collection": Kinds.COLLECTIONS, "data_object": Kinds.DATA_OBJECTS}


def _catalog_bound(newer_than: int | None) -> int | None:
    """``newer_than`` as the catalog's ``modified_after`` (None for no filter: a time before 1970)."""
    return newer_than if isinstance(newer_than, int) and newer_than >= 0 else None


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise IrodsUsageError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


def path_matches(
    pattern: str, *, kind: str = "any", newer_than: int | None = None, glob: bool = False
) -> Check[list[dict[str, Any]]]:
    """The path ``pattern`` names (or, with ``glob``, the paths it matches) of ``kind``, modified after
    ``newer_than`` if given. Without ``glob`` a path is literal: ``data[1].csv`` is that object only.

    A glob asks the catalog for the entries of ``kind`` modified after ``newer_than`` only, so a listing
    costs GenQuery pages in proportion to what changed since, not to the size of the collection.

    A data object matches only with a good replica (an object another client is still writing, or whose
    write failed, has not arrived): the catalog filters a glob, a stat refuses a literal path.

    Arguments are checked here, before the check runs (so before any connection is opened).
    """
    _check_kind(kind)
    if not isinstance(glob, bool):
        raise IrodsUsageError(f"glob must be True or False, got {glob!r}")
    if newer_than is not None and (isinstance(newer_than, bool) or not isinstance(newer_than, int | float)):
        # compared with each match's epoch seconds: text or a datetime failed there, outside the typed errors
        raise IrodsUsageError(f"newer_than must be epoch seconds (a number) or None, got {newer_than!r}")
    if not glob:
        path_argument("path", pattern)
        return _path_matches(PathPattern(pattern, pattern, (), None), kind=kind, newer_than=newer_than)
    return _path_matches(_absolute_pattern(pattern), kind=kind, newer_than=newer_than)


def _path_matches(pattern: PathPattern, *, kind: str, newer_than: int | None) -> Check[list[dict[str, Any]]]:
    if pattern.literal:
        found = yield from stat_path(pattern.base)
        candidates = [found] if found else []
    else:
        try:  # the catalog filters by kind and modify time: a scan costs what changed, not the collection
            entries = yield Call(
                "collections",
                "iterate",
                (pattern.base,),
                {
                    "recursive": pattern.max_depth != 1,
                    "with_stat": True,
                    "kinds": _KINDS[kind],
                    "modified_after": _catalog_bound(newer_than),
                    "good_replica_only": True,  # one still being written has not arrived
                },
            )
        except MISSING:
            entries = []
        candidates = [
            _entry_dict(e.path, e.kind.value, e.size, e.modified_at)
            for e in entries
            if pattern.matches_path(e.path)
        ]
    return sorted(
        (
            c
            for c in candidates
            if kind in ("any", c["kind"])
            and (
                newer_than is None
                or (c["modified_at_epoch"] is not None and c["modified_at_epoch"] > newer_than)
            )
        ),
        key=lambda c: str(c["path"]),
    )


def _avu_match(avu: Any, attribute: str, value: str | None, units: str | None) -> bool:
    return bool(
        avu.attribute == attribute
        and (value is None or avu.value == value)
        and (units is None or avu.units == units)
    )


def metadata_matches(
    *,
    attribute: str,
    value: str | float | None = None,
    units: str | float | None = None,
    path: str | None = None,
    under: str | None = None,
    kind: str = "any",
) -> Check[list[dict[str, Any]]]:
    """Objects carrying the AVU: ``path`` itself, or (without ``path``) any object in the zone/``under``;
    a data object without a good replica (still being written) is left out, by the catalog.

    Arguments are checked here, before the check runs (so before any connection is opened).
    """
    if not isinstance(attribute, str) or not attribute:  # what IrodsPutMetadataOperator can store
        raise IrodsUsageError(f"an AVU attribute name is needed (a non-empty string), got {attribute!r}")
    _check_kind(kind)
    path = None if path is None else normalize_path(path_argument("path", path))
    under = None if under is None else normalize_path(path_argument("under", under))  # "" is not "none"
    value = None if value is None else avu_text("value", value)  # 5 is the "5" the put operator stored
    units = None if units is None else avu_text("units", units)
    return _metadata_matches(attribute, value, units, path=path, under=under, kind=kind)


def _metadata_matches(
    attribute: str, value: str | None, units: str | None, *, path: str | None, under: str | None, kind: str
) -> Check[list[dict[str, Any]]]:
    if path is not None:
        try:  # a data object still being written carries no AVU yet, for this check
            avus = yield Call("metadata", "list", (path,), {"good_replica_only": True})
        except MISSING:
            return []
        hits = [a for a in avus if _avu_match(a, attribute, value, units)]
        return [{"path": path, "avus": [_avu_dict(a) for a in hits]}] if hits else []
    kinds = _KINDS[kind]
    # A federated zone's catalog answers only with its zone hint: take the zone from ``under``.
    zone = path_zone(under) if under else None
    rows = yield Call(
        "metadata",
        "find",
        (attribute, value),
        {"units": units, "kinds": kinds, "zone": zone, "good_replica_only": True},
    )
    root = under.rstrip("/") if under else None
    found = {
        hit_path: hit_kind.value
        for hit_path, hit_kind in rows
        if root is None or hit_path == root or hit_path.startswith(root + "/")
    }
    return [{"path": p, "kind": k} for p, k in sorted(found.items())]


def _avu_dict(avu: Any) -> dict[str, str]:
    return {"attribute": avu.attribute, "value": avu.value, "units": avu.units or ""}


@dataclass(frozen=True)
class CollectionState:
    """How many data objects a collection holds (recursively) and their total size."""

    objects: int
    bytes: int

    def to_dict(self) -> dict[str, int]:
        """JSON-able form."""
        return {"objects": self.objects, "bytes": self.bytes}


def stat_collection(path: str) -> Check[None]:
    """Stat the collection ``path``; nothing there raises IrodsNotFoundError (the server answers
    NOT_A_COLLECTION alike for a missing path and a data object: one more stat tells them apart). A path
    holding ``+`` is looked up in the catalog: a GET would stat the path with a space in its place."""
    if "+" in path:
        entry = yield Call("collections", "lookup", (path,))  # IrodsNotFoundError when nothing is there
        if entry.kind is not EntryKind.COLLECTION:
            raise IrodsNotACollectionError(
                "a data object, not a collection", operation="collections.lookup", path=path
            )
        return
    try:
        yield Call("collections", "stat", (path,))
    except IrodsNotACollectionError as error:
        try:
            yield Call("data_objects", "stat", (path,))
        except MISSING:
            raise IrodsNotFoundError(
                "no collection or data object at this path",
                http_status=error.http_status,
                irods_code=error.irods_code,
                operation=error.operation,
                path=path,
                server_message=error.server_message,
            ) from error
        raise error from None


def collection_state(path: str, *, stat: bool = True) -> Check[CollectionState]:
    """Count the data objects under ``path`` (one exact listing, each object once whatever its replicas)
    and sum their sizes; the collection must exist (``stat=False`` when the caller checked it already)."""
    path = normalize_path(path)
    if stat:
        yield from stat_collection(path)  # a missing collection raises instead of looking empty
    entries = yield Call(
        "collections", "iterate", (path,), {"recursive": True, "kinds": Kinds.DATA_OBJECTS, "with_stat": True}
    )
    objects = [e for e in entries if e.kind.value == "data_object"]
    return CollectionState(objects=len(objects), bytes=sum(e.size or 0 for e in objects))


#: The aggregate GenQuery1 whose answer changes whenever the tree does: replica rows, their bytes, the newest
#: modification and the newest data id (a replaced object of the same size still gets a new id). Aggregates
#: run over replica rows (the catalog joins R_DATA_MAIN, one row per replica), so the row count is only a
#: change signature; the figures reported come from one exact listing. The engine's temporaries are left
#: out with ``not like`` (iRODS' GenQuery1 accepts ``&&``/``||`` between expressions on one column).
#: ``MAX(DATA_REPL_STATUS)`` above 1 means a replica is intermediate or locked: a write is open in the tree,
#: whose catalog size and mtime stay as they were until it closes, however long it takes.
_SIGNATURE_SELECT = (
    "select COUNT(DATA_ID), SUM(DATA_SIZE), MAX(DATA_MODIFY_TIME), MAX(DATA_ID), MAX(DATA_REPL_STATUS)"
)
_NOT_TEMPORARY = (
    "DATA_NAME not like '.%.irods-part-%' && not like '.%.irods-old-%' && not like '.%.irods-keep-%'"
)


@dataclass(frozen=True)
class CollectionSignature:
    """One aggregate GenQuery's answer for a tree: changes whenever an object is added, removed or rewritten.

    ``replicas`` counts replica rows, not objects (an object with two replicas counts twice): compare
    signatures, never report them.
    """

    replicas: int
    bytes: int
    newest: str
    last_id: str
    highest_status: str = ""

    @classmethod
    def from_rows(cls, rows: list[list[str]]) -> CollectionSignature:
        """Read the aggregate row. Over no rows SQL gives COUNT 0 and NULL for SUM/MAX, which the catalog
        sends as empty strings (``cllGetRow`` in iRODS' ``low_level_odbc.cpp`` blanks each value before the
        fetch; ODBC leaves a NULL's buffer untouched); an answer with no row at all reads the same."""
        row = rows[0] if rows else ["0", "", "", "", ""]
        return cls(
            replicas=int(row[0] or 0),
            bytes=int(row[1] or 0),
            newest=row[2],
            last_id=row[3],
            highest_status=row[4] if len(row) > 4 else "",
        )

    @property
    def writing(self) -> bool:
        """Whether a write is open in the tree: a replica intermediate (2) or locked (3, 4)."""
        return self.highest_status in LOCKED_STATUSES


def signature_query(path: str) -> str:
    """The aggregate GenQuery1 over ``path`` and everything below it, temporaries excluded.

    ``_`` and ``%`` in ``path`` are escaped (:func:`like_text`); only ``+``, ``'`` and ``\\``, widened to
    ``_``, may over-match: a sibling's change then only delays stability; the exact listing that confirms it
    filters precisely.
    """
    prefix = "/" if path == "/" else path + "/"
    tree = f"COLL_NAME like '{like_text(path)}' || like '{like_text(prefix)}%'"
    return f"{_SIGNATURE_SELECT} where {tree} and {_NOT_TEMPORARY}"


@dataclass
class StabilityTracker:
    """Decides when a collection has stopped changing: same signature for ``inactivity_period`` seconds.

    Pure bookkeeping over (time, signature) observations, so the sensor's poke and the trigger share it; the
    trigger keeps one alive across its whole wait, which is what makes the deferred mode work. ``confirmed``
    caches the exact listing made for a signature, so an unchanged tree is never listed twice.
    """

    inactivity_period: float
    min_objects: int = 1
    allow_delete: bool = True
    last_signature: CollectionSignature | None = None
    since: float | None = None
    confirmed: tuple[CollectionSignature, CollectionState] | None = None
    objects_seen: int | None = None

    def __post_init__(self) -> None:
        """Refuse what cannot be a period or a count, naming the argument (a rendered or mistyped value)."""
        period = self.inactivity_period
        if isinstance(period, bool) or not isinstance(period, int | float) or not period >= 0:
            raise IrodsUsageError(f"inactivity_period must be a number of seconds >= 0, got {period!r}")
        count = self.min_objects
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise IrodsUsageError(f"min_objects must be an integer >= 0, got {count!r}")
        self.inactivity_period = float(period)

    def observe(self, signature: CollectionSignature, now: float) -> bool:
        """Record an observation; True when the signature has been the same for the whole period and no
        write is open in the tree (its catalog figures do not move until it closes)."""
        if signature != self.last_signature:
            self.last_signature, self.since = signature, now
            return False
        assert self.since is not None
        return not signature.writing and now - self.since >= self.inactivity_period

    def shrank(self, signature: CollectionSignature) -> bool:
        """Whether replica rows disappeared since the last observation (a deletion or a trimmed replica)."""
        return self.last_signature is not None and signature.replicas < self.last_signature.replicas

    def check_deletions(self, state: CollectionState) -> None:
        """With ``allow_delete=False``, fail when the exact object count fell since the last listing."""
        seen, self.objects_seen = self.objects_seen, state.objects
        if not self.allow_delete and seen is not None and state.objects < seen:
            raise IrodsUsageError(
                f"objects were deleted from the collection while waiting for it to settle "
                f"({seen} -> {state.objects}) and allow_delete is False"
            )


def collection_stability(path: str, tracker: StabilityTracker, now: float) -> Check[CollectionState | None]:
    """One poke of the stable sensor: the exact state when settled (and big enough), else None; never
    settled while a write is open in the tree (see :meth:`StabilityTracker.observe`).

    Each poke runs one aggregate GenQuery; only a signature unchanged for the whole period is confirmed by
    one exact listing (cached per signature). The collection is stat'ed on the first poke and whenever the
    tree looks empty, so a missing (or vanished) collection fails instead of looking stable.
    ``allow_delete=False`` lists at the first poke and whenever replica rows disappear, to tell a deleted
    object from a trimmed replica.
    """
    path = normalize_path(path_argument("path", path))
    first = tracker.last_signature is None
    if first:
        yield from stat_collection(path)
    zone = yield Call("query", "zone_for", (path,))
    rows = yield Call("query", "genquery", (signature_query(path),), {"zone": zone})
    signature = CollectionSignature.from_rows(rows)
    if signature.replicas == 0 and not first:
        yield from stat_collection(path)
    if not tracker.allow_delete and (first or tracker.shrank(signature)):
        tracker.check_deletions((yield from collection_state(path, stat=False)))
    if not tracker.observe(signature, now):
        return None
    if tracker.confirmed is None or tracker.confirmed[0] != signature:
        state = yield from collection_state(path, stat=False)
        tracker.check_deletions(state)
        tracker.confirmed = (signature, state)
    state = tracker.confirmed[1]
    return state if state.objects >= tracker.min_objects else None
