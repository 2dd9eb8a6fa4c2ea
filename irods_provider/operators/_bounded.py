"""Keep the per-object entries of an XCom result under a JSON byte budget (counts stay complete)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from irods_provider.client import IrodsSession
    from irods_provider.client.transfer import TransferReport

__all__ = [
    "MAX_REPORT_BYTES",
    "attach_manifest",
    "bounded_entries",
    "check_budget",
    "check_manifest_path",
    "tree_report",
    "write_manifest",
]

#: Default JSON bytes of per-object entries in one XCom result; with the totals it stays under 64 KiB.
MAX_REPORT_BYTES = 48 * 1024


def bounded_entries(entries: Iterable[dict[str, Any]], budget: int) -> tuple[list[dict[str, Any]], int]:
    """The leading ``entries`` whose JSON fits in ``budget`` bytes, and the budget left for other lists."""
    kept: list[dict[str, Any]] = []
    for entry in entries:
        cost = len(json.dumps(entry)) + 2
        if cost > budget:
            break
        budget -= cost
        kept.append(entry)
    return kept, budget


def check_budget(value: Any) -> int:
    """A rendered ``max_report_bytes``: a non-negative integer."""
    from irods_provider.exceptions import IrodsUsageError

    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise IrodsUsageError(f"max_report_bytes must be a non-negative integer, got {value!r}")
    return value


def tree_report(report: TransferReport, budget: int) -> dict[str, Any]:
    """A tree copy's totals with its per-object entries bounded by ``budget`` bytes of JSON, then its
    collections (empty ones included) within what the objects left."""
    files, left = bounded_entries((f.to_dict() for f in report.files), budget)
    directories, _ = bounded_entries((d.to_dict() for d in report.directories), left)
    return {
        "transferred": report.transferred,
        "skipped": report.skipped,
        "failed": report.failed,
        "bytes": report.bytes,
        "seconds": round(report.seconds, 3),
        "dry_run": report.dry_run,
        "file_count": len(report.files),
        "files": files,
        "files_truncated": len(files) < len(report.files),
        "directories": directories,
        "directory_count": len(report.directories),
    }


def check_manifest_path(value: str | None) -> str | None:
    """A rendered ``manifest_path``: None/empty (no manifest), else an absolute path the API can address."""
    if not value:
        return None
    from irods_provider._values import refuse_unaddressable
    from irods_provider.operators._base import check_object_path

    return refuse_unaddressable("manifest_path", check_object_path("manifest_path", value))


def write_manifest(session: IrodsSession, path: str, entries: Iterable[dict[str, Any]]) -> int:
    """Write ``entries`` as JSON lines (keys sorted) to the data object ``path`` through the engine
    (parents created, temporary name, checksum verified, atomic rename, overwriting); the lines written."""
    from irods_provider.hooks._shortcuts import publish_object

    lines = [json.dumps(entry, sort_keys=True) + "\n" for entry in entries]
    publish_object(session, "".join(lines).encode(), path, overwrite=True)
    return len(lines)


def attach_manifest(
    result: dict[str, Any],
    *,
    session: IrodsSession,
    manifest_path: str | None,
    truncated: bool,
    entries: Iterable[dict[str, Any]],
    log: Any,
) -> dict[str, Any]:
    """When the XCom lists were cut, write every entry to ``manifest_path`` and add ``manifest`` (its path)
    to ``result``; without a path, warn that only the leading entries were kept."""
    if not truncated:
        return result
    if manifest_path is None:
        log.warning("the XCom report lists only the leading entries; set manifest_path to keep all in iRODS")
        return result
    written = write_manifest(session, manifest_path, entries)
    log.info("Wrote the full report (%d entries) to %s", written, manifest_path)
    result["manifest"] = manifest_path
    return result
