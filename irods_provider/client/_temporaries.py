"""The transfer engine's temporary objects: the AVUs they carry and what a cleanup of abandoned ones found.

An upload writes ``.<name>.irods-part-<key>.<ext>`` (``<name>``'s extension; the form without is recognised),
carrying its resume state and the ids of the parallel-write handles opened on it, and an overwrite parks the
old object as ``.<name>.irods-old-<key>`` (``<key>``: ``<path key>-<nonce>``, one writer's own) for a moment
(or, overwriting in place, keeps a verified backup ``.<name>.irods-keep-<key>``); a killed worker leaves any
of them behind. The async cleanup (``collections.remove_temporaries``) uses these types; the transfer engine
uses the attribute names.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "HANDLE_ATTRIBUTE",
    "JOURNAL_COLLECTION",
    "KEEP_ATTRIBUTE",
    "LEASE_ATTRIBUTE",
    "RESUME_ATTRIBUTE",
    "WRITER_ATTRIBUTE",
    "TemporaryCleanup",
    "TemporaryObject",
    "claim_lapses_at",
    "journal_path",
    "latest_renewal",
    "local_home",
    "login_name",
]

#: The AVU holding the committed prefix and the source identity of an interrupted upload.
RESUME_ATTRIBUTE = "irods_provider::transfer::resume"
#: One AVU per parallel-write handle opened on a temporary object (handles never expire on the server).
HANDLE_ATTRIBUTE = "irods_provider::transfer::handle"
#: The AVUs an overwrite in place's backup (``.<name>.irods-keep-<key>``) carries (``old <checksum>``,
#: ``new <checksum>``): what ``<name>`` held before the overwrite and what it was to hold after.
KEEP_ATTRIBUTE = "irods_provider::transfer::keep"
#: Who claimed a path to overwrite it in place, on its backup: ``<attempt> <owner> <epoch seconds>``. The
#: backup's name is the claim: one writer at a time holds it (see ``transfer/_claim``).
WRITER_ATTRIBUTE = "irods_provider::transfer::writer"
#: A claim's latest renewal by its live writer: ``<attempt> <epoch seconds> <lease seconds>``; a claim
#: without one was made by a version that did not renew it (a lease of a day; see ``transfer/_claim``).
LEASE_ATTRIBUTE = "irods_provider::transfer::lease"


#: Where, under the user's home in the local zone, the records of a temporary object in a federated zone are
#: kept (iRODS's atomic metadata call cannot reach that object: see ``transfer/_journal``).
JOURNAL_COLLECTION = ".irods_provider/journal"


def login_name(session: Any) -> str | None:
    """The login name of the session's credentials (Basic, or an OpenID password grant), if any."""
    auth: Any = getattr(session, "auth", None)
    name = getattr(auth, "username", None) or getattr(getattr(auth, "grant", None), "username", None)
    return name if isinstance(name, str) and name else None


def local_home(zone: str | None, user: str | None) -> str | None:
    """The home of the login ``user`` (``name`` or ``name#zone``) in the local zone ``zone``; None when
    either is unknown."""
    if not zone or not user:
        return None
    name, _, user_zone = user.partition("#")
    return f"/{zone}/home/{name}" if user_zone in ("", zone) else f"/{zone}/home/{name}#{user_zone}"


def journal_path(home: str, temp: str) -> str:
    """The journal object under ``home`` (the user's local home) keeping the records of the temporary object
    ``temp``: named by a digest of ``temp``'s full path, so every attempt that derives ``temp`` finds it."""
    digest = hashlib.sha256(temp.encode("utf-8")).hexdigest()[:40]
    return f"{home}/{JOURNAL_COLLECTION}/journal-{digest}"


def latest_renewal(avus: Iterable[Any], attempt: str) -> tuple[float, float] | None:
    """The latest renewal of ``attempt``'s claim among a claim's ``avus`` (with ``attribute`` and
    ``value``): its time and lease, epoch seconds and seconds; None when none is recorded. Values that are
    not a renewal (not two positive finite numbers after the attempt) are ignored."""
    latest: tuple[float, float] | None = None
    for avu in avus:
        parts = avu.value.split(" ")
        if avu.attribute != LEASE_ATTRIBUTE or len(parts) != 3 or parts[0] != attempt:
            continue
        try:
            stamp, lease = float(parts[1]), float(parts[2])
        except ValueError:
            continue
        if 0 < stamp < math.inf and 0 < lease < math.inf and (latest is None or stamp > latest[0]):
            latest = (stamp, lease)
    return latest


def claim_lapses_at(avus: Iterable[Any]) -> float | None:
    """When the claim carrying ``avus`` lapses unless renewed: its writer's last renewal plus its lease,
    epoch seconds. None when it records no writer that renews (an earlier release's record)."""
    avus = list(avus)
    records = [a.value.split(" ") for a in avus if a.attribute == WRITER_ATTRIBUTE]
    record = next((r for r in records if len(r) == 3 and r[2].isdigit()), None)
    renewal = None if record is None else latest_renewal(avus, record[0])
    return None if renewal is None else sum(renewal)


@dataclass(frozen=True, kw_only=True)
class TemporaryObject:
    """One abandoned temporary: its path, size and mtime (epoch seconds), and what happened to it."""

    path: str
    size: int
    modified_at: int
    handles_released: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping (for XCom)."""
        data: dict[str, Any] = {"path": self.path, "size": self.size, "modified_at": self.modified_at}
        if self.handles_released:
            data["handles_released"] = self.handles_released
        if self.error is not None:
            data["error"] = self.error
        return data


@dataclass(kw_only=True)
class TemporaryCleanup:
    """What ``remove_temporaries`` did under one collection.

    ``removed``: deleted permanently (or, in a dry run, what would be); ``restored``: objects an overwrite
    had moved aside (``.irods-old-``) whose final name was empty (the worker was killed between its two
    renames), renamed back onto it (``path`` is where they were); ``locked``: still held by a parallel-write
    handle nobody recorded (the server keeps it until it restarts; remove them after); ``failed``: refused
    for another reason (e.g. no permission); ``fresh``: temporaries younger than the minimum age, left alone
    (an upload may still be writing them).
    """

    path: str
    removed: list[TemporaryObject] = field(default_factory=list)
    restored: list[TemporaryObject] = field(default_factory=list)
    locked: list[TemporaryObject] = field(default_factory=list)
    failed: list[TemporaryObject] = field(default_factory=list)
    fresh: int = 0
    dry_run: bool = False

    @property
    def bytes_removed(self) -> int:
        """The bytes of the removed temporaries (what the zone's quota gets back)."""
        return sum(t.size for t in self.removed)
