"""The checksum scheme each zone answers in, kept on the worker between processes.

Every Airflow task runs in a fresh process, which knows no zone's scheme before its first verification: it
hashed its first upload in MD5 as well as SHA-256 (MD5 costs 2.4x the CPU of SHA-256 here). What a process
learns from a server's answer is therefore kept in a private local directory (``checksum-schemes`` under the
provider's state directory, see :mod:`irods_provider.client._state_store`), keyed by the API's origin and the
zone, for a day. An entry is a hint, never trusted for integrity: every transfer still compares its hash with
the server's answer, and when the zone answers in the other scheme the entry is replaced and the transfer
fails typed before anything is published (the next attempt hashes both).
``IRODS_PROVIDER_CHECKSUM_SCHEME_CACHE=off`` keeps nothing.
"""

from __future__ import annotations

import logging
import os
import time
from urllib.parse import urlsplit

from irods_provider.client._state_store import StateStore, state_dir

from ._config import ChecksumScheme

log = logging.getLogger(__name__)

CACHE_ENV = "IRODS_PROVIDER_CHECKSUM_SCHEME_CACHE"
MAX_AGE_SECONDS = 24 * 3600.0


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


def cached_scheme(origin: str, zone: str) -> ChecksumScheme | None:
    """The scheme kept for ``zone`` behind ``origin`` when it is younger than a day, else None."""
    store = _store()
    record = None if store is None else store.load(StateStore.key(origin, zone))
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


def keep_scheme(origin: str, zone: str, scheme: ChecksumScheme) -> None:
    """Keep ``scheme`` for ``zone`` behind ``origin`` (never raises: a process that cannot keep it learns
    again next time)."""
    store = _store()
    if store is None:
        return
    try:
        store.save(
            StateStore.key(origin, zone),
            {"origin": origin, "zone": zone, "scheme": scheme.value, "learned": time.time()},
        )
    except OSError as exc:
        log.debug("could not keep the checksum scheme of zone %s: %s", zone, exc)


def cache_location() -> str:
    """Where entries are kept (for messages)."""
    directory = state_dir("checksum-schemes")
    return "nowhere (no home directory)" if directory is None else os.fspath(directory)
