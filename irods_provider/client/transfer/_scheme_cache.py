"""The checksum scheme each zone (and each of its resources) answers in, kept on the worker between processes.

Every Airflow task runs in a fresh process, which knows no zone's scheme before its first verification: it
hashed its first upload in MD5 as well as SHA-256 (MD5 costs 2.4x the CPU of SHA-256 here). What a process
learns from a server's answer is therefore kept in a private local directory (``checksum-schemes`` under the
provider's state directory, see :mod:`irods_provider.client._state_store`), keyed by the API's origin, the
zone and the root resource the object went to (none: the zone's entry, the hint for a resource not known
yet), for a day: iRODS hashes a replica on the server holding its resource, in that server's configured
scheme (irods/irods 4.3.4 rsFileChksum.cpp:46-57, file_checksum :297-300), so one zone may answer both.
An entry is a hint, never trusted for integrity: every transfer still compares its hash with the server's
answer, and when the server answers in the other scheme the entry is replaced and a source that can be read
again is hashed again; any other fails typed before anything is published (the next attempt hashes both).
A site may pick the resource of an upload naming none by its path (``acSetRescSchemeForCreate``), so the
scheme of such uploads is also kept per collection (one record per origin and zone, its
:data:`MAX_COLLECTIONS` most recently learned collections), the deepest known ancestor the hint for a new one.
``IRODS_PROVIDER_CHECKSUM_SCHEME_CACHE=off`` keeps nothing.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any
from urllib.parse import urlsplit

from irods_provider.client._state_store import StateStore, state_dir

from ._config import ChecksumScheme

log = logging.getLogger(__name__)

CACHE_ENV = "IRODS_PROVIDER_CHECKSUM_SCHEME_CACHE"
_SCHEME_VALUES = frozenset(scheme.value for scheme in ChecksumScheme)
MAX_AGE_SECONDS = 24 * 3600.0
MAX_COLLECTIONS = 256
"""Collections kept per origin and zone (the most recently learned): a record of about 30 KB at most."""


def _store() -> StateStore | None:
    if os.environ.get(CACHE_ENV, "").strip().lower() in ("off", "0", "false", "no"):
        return None
    return StateStore(state_dir("checksum-schemes"), purpose="keeping zones' checksum schemes")


def origin_of(session: object) -> str | None:
    """``scheme://host:port`` of the session's API (its version path and any ``user:password@`` left out:
    the record is a file on disk), None when it has none."""
    base = getattr(session, "base_url", None)
    if not isinstance(base, str) or not base:
        return None
    parts = urlsplit(base)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        return None
    if not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}:{port}".lower() if port else f"{parts.scheme}://{host}".lower()


def _key(origin: str, zone: str, resource: str | None) -> str:
    # The zone's own entry keeps the name it had before entries per resource existed.
    return StateStore.key(origin, zone) if resource is None else StateStore.key(origin, zone, resource)


def cached_scheme(origin: str, zone: str, resource: str | None = None) -> ChecksumScheme | None:
    """The scheme kept for ``resource`` of ``zone`` (None: the zone's entry) behind ``origin`` when it is
    younger than a day, else None."""
    store = _store()
    record = None if store is None else store.load(_key(origin, zone, resource))
    if record is None:
        return None
    learned = record.get("learned")
    try:  # an integer past a float's range (a damaged record) raises OverflowError
        age = time.time() - learned if isinstance(learned, int | float) else None
    except OverflowError:
        age = None
    if age is None or not 0 <= age < MAX_AGE_SECONDS:
        return None
    try:
        return ChecksumScheme(record.get("scheme"))
    except ValueError:
        return None


def keep_scheme(origin: str, zone: str, scheme: ChecksumScheme, resource: str | None = None) -> None:
    """Keep ``scheme`` for ``resource`` of ``zone`` (None: the zone's entry) behind ``origin`` (never
    raises: a process that cannot keep it learns again next time)."""
    store = _store()
    if store is None:
        return
    record = {"origin": origin, "zone": zone, "scheme": scheme.value, "learned": time.time()}
    if resource is not None:
        record["resource"] = resource
    try:
        store.save(_key(origin, zone, resource), record)
    except OSError as exc:
        log.debug("could not keep the checksum scheme of zone %s: %s", zone, exc)


def _collections_key(origin: str, zone: str) -> str:
    return StateStore.key(origin, zone, "", "collections")  # an empty resource name: no resource's key


def _fresh_collections(record: dict[str, Any] | None, now: float) -> dict[str, tuple[ChecksumScheme, float]]:
    """The well-formed entries of a collections record younger than a day."""
    entries = record.get("collections") if record is not None else None
    fresh: dict[str, tuple[ChecksumScheme, float]] = {}
    for collection, entry in (entries if isinstance(entries, dict) else {}).items():
        if not (isinstance(collection, str) and isinstance(entry, list) and len(entry) == 2):
            continue
        scheme, learned = entry
        if scheme not in _SCHEME_VALUES or isinstance(learned, bool) or not isinstance(learned, int | float):
            continue
        try:  # an integer past a float's range (a damaged entry) raises OverflowError
            if 0 <= now - learned < MAX_AGE_SECONDS:
                fresh[collection] = (ChecksumScheme(scheme), float(learned))
        except OverflowError:
            continue
    return fresh


def cached_collections(origin: str, zone: str) -> dict[str, tuple[ChecksumScheme, float]]:
    """The schemes kept for collections of ``zone`` behind ``origin`` (uploads there naming no resource),
    each with when it was learned (seconds since the epoch), younger than a day."""
    store = _store()
    record = None if store is None else store.load(_collections_key(origin, zone))
    return _fresh_collections(record, time.time())


def keep_collection(origin: str, zone: str, collection: str, scheme: ChecksumScheme) -> None:
    """Keep ``scheme`` for ``collection`` of ``zone`` behind ``origin`` among the :data:`MAX_COLLECTIONS`
    most recently learned (never raises). Processes writing at once may lose each other's entry: a hint."""
    store = _store()
    if store is None:
        return
    now, key = time.time(), _collections_key(origin, zone)
    kept = _fresh_collections(store.load(key), now)
    kept[collection] = (scheme, now)
    newest = sorted(kept.items(), key=lambda item: item[1][1], reverse=True)[:MAX_COLLECTIONS]
    record = {"origin": origin, "zone": zone, "collections": {c: [s.value, t] for c, (s, t) in newest}}
    try:
        store.save(key, record)
    except OSError as exc:
        log.debug("could not keep the checksum scheme of collection %s: %s", collection, exc)


def cache_location() -> str:
    """Where entries are kept (for messages)."""
    directory = state_dir("checksum-schemes")
    return "nowhere (no home directory)" if directory is None else os.fspath(directory)
