"""The records of a temporary object in a federated zone, kept on a journal object in the local zone.

The engine records a temporary's parallel-write handles, its writer's lease and its resume state as AVUs, with
iRODS's atomic metadata call, which runs on the LOCAL zone's catalog (irods 4.3.4
atomic_apply_metadata_operations.cpp:151-194, :445-470): on an object of another zone it cannot record
anything (the client refuses it, see ``_ops_fs.remote_atomic_refusal``). Such a temporary's records go to its
*journal* instead: an empty data object in the user's local home, ``<home>/.irods_provider/journal/
journal-<digest of the temporary's full path>`` (:func:`~irods_provider.client._temporaries.journal_path`),
written with the same atomic calls in the same order. The journal is created before the temporary's first
handle opens, so recording a handle stays the one call right after the init that it is locally; every attempt
deriving the temporary's name derives its journal, so a retry after ``kill -9`` finds the handles to shut
down and the prefix to resume from. It goes with the temporary's records (finalize, failure cleanup, the
cleanup of abandoned temporaries); a journal left by a finished or abandoned transfer holds only records of
handles that are shut down again harmlessly and a prefix checked against the object before use.

Journals need a local home the user may write (probed once per session by creating the journal collection):
without one, or without a known local zone or user, uploads into a federated zone write one stream of offset
writes and keep no resume record, as before, and a log line says why.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from irods_provider.client import EntryKind, MetadataOperation
from irods_provider.client._temporaries import JOURNAL_COLLECTION, journal_path, login_name
from irods_provider.client._temporaries import local_home as home_in
from irods_provider.exceptions import (
    IrodsError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsResponseError,
)

log = logging.getLogger(__name__)

_probed: weakref.WeakKeyDictionary[Any, str | None] = weakref.WeakKeyDictionary()
"""Per session: the local home whose journal collection was made (None: journals cannot be kept)."""
_probe_lock = threading.Lock()


def remote_zone(session: Any, path: str) -> str | None:
    """The federated zone ``path`` lies in; None for the local zone (or a session that cannot tell)."""
    zone_for = getattr(getattr(session, "query", None), "zone_for", None)
    if zone_for is None:
        return None
    try:
        zone: str | None = zone_for(path)
    except IrodsError:
        return None
    return zone


def local_home(session: Any) -> tuple[str | None, str]:
    """The user's home in the local zone, ``/<zone>/home/<user>``, or None and why it is not known."""
    zone = getattr(getattr(session, "limits", None), "irods_zone", None)
    if not isinstance(zone, str) or not zone:
        return None, "the server's /info names no local zone"
    home = home_in(zone, login_name(session))
    return (home, "") if home is not None else (None, "the credentials name no user")


def usable(session: Any, path: str) -> bool:
    """Whether the records of temporaries beside ``path`` (in a federated zone) can be kept on journals:
    a local home is known and its journal collection exists or was just created (asked once per session;
    the first refusal is logged, saying why)."""
    base = getattr(session, "__wrapped__", session)
    with _probe_lock:
        try:
            if base in _probed:
                return _probed[base] is not None
        except TypeError:  # a session that cannot be weakly referenced: asked each time
            return _probe(base, path) is not None
        home = _probe(base, path)
        _probed[base] = home
    return home is not None


def _probe(session: Any, path: str) -> str | None:
    """Create the journal collection in the local home; that home, or None (logged, with why)."""
    home, why = local_home(session)
    if home is not None:
        try:
            session.collections.create(f"{home}/{JOURNAL_COLLECTION}", intermediates=True, exist_ok=True)
        except IrodsError as exc:
            home, why = (
                None,
                f"its journal collection cannot be created in {home} ({type(exc).__name__}: {exc})",
            )
    if home is None:
        log.warning(
            "uploads into the federated zone of %s write one stream of offset writes and keep no resume "
            "record: their records cannot be kept in the local zone (%s)",
            path,
            why,
        )
    return home


def journal_for(session: Any, temp: str) -> str | None:
    """The journal keeping ``temp``'s records: None for a temporary of the local zone (it carries its own)
    and where journals cannot be kept (then nothing is recorded, see :func:`usable`)."""
    if remote_zone(session, temp) is None or not usable(session, temp):
        return None
    home, _ = local_home(session)
    return None if home is None else journal_path(home, temp)


def records_at(session: Any, temp: str) -> str:
    """Where ``temp``'s records are read and written: its journal, or ``temp`` itself."""
    return journal_for(session, temp) or temp


def ensure(session: Any, temp: str) -> None:
    """Create ``temp``'s journal (an existing one, with its records, is kept): before its first record."""
    journal = journal_for(session, temp)
    if journal is not None:
        session.data_objects.touch(journal)


def apply(session: Any, temp: str, ops: Sequence[MetadataOperation]) -> None:
    """Apply ``ops`` to ``temp``'s records in one atomic call; a call refused on a journal (the server
    answered, so nothing was applied: the call is atomic) is made again once the journal was created
    (missing, the atomic call answers SYS_INVALID_INPUT_PARAM, "Entity does not exist", not a not-found
    code: atomic_apply_metadata_operations.cpp:194, :499-501 at irods 4.3.4)."""
    at = records_at(session, temp)
    try:
        session.metadata.apply(at, list(ops), kind=EntryKind.DATA_OBJECT)
    except IrodsResponseError:
        if at == temp:
            raise
        session.data_objects.touch(at)
        session.metadata.apply(at, list(ops), kind=EntryKind.DATA_OBJECT)


def forget(session: Any, temp: str) -> None:
    """Remove ``temp``'s journal, if it has one: its records go with it. A failure is logged (a journal
    left behind only records handles already shut down and a prefix checked before it is used)."""
    journal = journal_for(session, temp)
    if journal is None:
        return
    try:
        session.data_objects.remove(journal, no_trash=True)
    except (IrodsNotFoundError, IrodsNotADataObjectError):
        return
    except IrodsError as exc:
        log.warning("could not remove the journal %s of %s: %s", journal, temp, exc)
