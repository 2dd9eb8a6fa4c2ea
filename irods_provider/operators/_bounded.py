"""Keep the per-object entries of an XCom result under a JSON byte budget (counts stay complete)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from irods_provider.client.transfer import TransferReport

__all__ = ["MAX_REPORT_BYTES", "bounded_entries", "check_budget", "tree_report"]

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
    """A tree copy's totals with its per-object entries bounded by ``budget`` bytes of JSON."""
    files, _ = bounded_entries((f.to_dict() for f in report.files), budget)
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
    }
