"""Where a staging task records which temporary file it may resume: a private local directory.

The temporary name on the SFTP server carries a random part, so nobody can compute it in advance; the
name (and the uid that created it) is recorded in a small JSON file that only this task finds: its file
name is a hash of the Airflow task identity (dag, task, run, map index), the SFTP endpoint and the
destination; the source version is kept inside, so a retry after the source was replaced finds the older
temporary and removes it instead of leaving it behind. The directory is ``$IRODS_PROVIDER_STATE_DIR``, else
``$XDG_STATE_HOME/irods-provider/staging-resume``, else ``~/.local/state/irods-provider/staging-resume``;
it is created ``0700`` and used only when it is a real directory owned by this user and not accessible by
others (otherwise resume is off: every attempt starts a fresh temporary). A retry on another worker
starts from 0; the earlier temporary stays behind, hidden, for an operator to remove.
"""

from __future__ import annotations

import os
from typing import Any

from irods_provider.client._state_store import StateStore, state_dir

__all__ = ["ResumeStore", "task_identity"]


class ResumeStore(StateStore):
    """Small JSON records keyed by a hash of the task identity and the copy; written atomically."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        super().__init__(
            directory if directory is not None else state_dir("staging-resume"), purpose="staging resume"
        )


def task_identity(operator: Any, context: Any) -> tuple[str, ...]:
    """What a resume record is kept for: the Airflow task instance (dag, task, run, map index) when
    running in one, else the task id."""
    ti = context.get("ti") if hasattr(context, "get") else None
    if ti is None:
        return (str(getattr(operator, "task_id", "")),)
    return tuple(str(getattr(ti, a, "")) for a in ("dag_id", "task_id", "run_id", "map_index"))
