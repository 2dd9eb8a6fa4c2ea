"""What a transfer task's try published, kept for its Airflow retries (a private local record per task).

Under the default policies (``overwrite=False``, ``skip='never'``) a retry of a multi-file task would
refuse every file its failed try had already published, so it could never succeed. Each try therefore
records, per destination it published, the size and checksum (:class:`EarlierCopy`); a later try of the
same task instance (dag, task, run, map index) hands them to the engine (``TransferConfig.earlier_copies``),
which skips a destination only while it and its source still hold those bytes. A file anyone else wrote
is refused as before; so is everything when the retry runs on another worker (the record is local: in
``$IRODS_PROVIDER_STATE_DIR/published``, else under ``$XDG_STATE_HOME`` or ``~/.local/state``, see
:mod:`irods_provider.client._state_store`). A task that succeeds drops its record, so a task cleared and
run again later refuses as it always did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from irods_provider.client._state_store import StateStore, state_dir
from irods_provider.client.transfer import (
    EarlierCopy,
    FileResult,
    FileStatus,
    OverwritePolicy,
    SkipPolicy,
)
from irods_provider.client.transfer._policy import EARLIER_TRY

__all__ = ["EarlierTries"]


def _identity(context: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    """The task instance of ``context`` (dag, task, run, map index); None outside a task run."""
    ti = context.get("ti") if isinstance(context, Mapping) else None
    parts = tuple(str(getattr(ti, a, "") or "") for a in ("dag_id", "task_id", "run_id", "map_index"))
    return parts if all(parts[:3]) else None


def _try_number(context: Mapping[str, Any]) -> int:
    try:
        return int(getattr(context.get("ti"), "try_number", 1) or 1)
    except (TypeError, ValueError):
        return 1


class EarlierTries:
    """The record of one task instance's published files: loaded on a retry, extended by every try."""

    def __init__(self, operator: str, context: Mapping[str, Any] | None, *, applies: bool) -> None:
        identity = _identity(context) if applies else None
        self._key = None if identity is None else StateStore.key(operator, *identity)
        self._store = StateStore(state_dir("published"), purpose="recording files published for retries")
        self.copies: dict[str, EarlierCopy] = {}
        if self._key is not None and context is not None and _try_number(context) > 1:
            record = self._store.load(self._key) or {}
            files = record.get("files")
            for path, (size, checksum) in (files if isinstance(files, dict) else {}).items():
                if isinstance(size, int) and isinstance(checksum, str):
                    self.copies[path] = EarlierCopy(size, checksum)

    @staticmethod
    def applies(overwrite: OverwritePolicy, skip: SkipPolicy, *, plan_only: bool) -> bool:
        """Only REFUSE without a skip policy refuses an earlier try's file (any skip policy skips it)."""
        return overwrite is OverwritePolicy.REFUSE and skip is SkipPolicy.NEVER and not plan_only

    def record(self, files: Iterable[FileResult]) -> None:
        """Add what these files published (or found published by an earlier try) to the record."""
        if self._key is None:
            return
        added = {
            f.destination: EarlierCopy(f.size, f.checksum)
            for f in files
            if f.size is not None
            and f.checksum
            and (
                f.status is FileStatus.TRANSFERRED
                or (f.status is FileStatus.SKIPPED and f.reason == EARLIER_TRY)
            )
        }
        if not added:
            return
        self.copies.update(added)
        kept = {path: [c.size, c.checksum] for path, c in self.copies.items()}
        try:
            self._store.save(self._key, {"files": kept})
        except OSError:  # a retry then refuses these files, as without a record
            return

    def succeeded(self) -> None:
        """The task succeeded: nothing left for a retry."""
        if self._key is not None:
            self._store.drop(self._key)
