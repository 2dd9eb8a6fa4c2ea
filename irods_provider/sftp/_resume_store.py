"""Where a staging task records which temporary file it may resume: a private local directory.

The temporary name on the SFTP server carries a random part, so nobody can compute it in advance; the
name (and the uid that created it) is recorded in a small JSON file that only this task finds: its file
name is a hash of the Airflow task identity (dag, task, run, map index), the SFTP endpoint, the source
version and the destination. The directory is ``$IRODS_PROVIDER_STATE_DIR``, else
``$XDG_STATE_HOME/irods-provider/staging-resume``, else ``~/.local/state/irods-provider/staging-resume``;
it is created ``0700`` and used only when it is a real directory owned by this user and not accessible by
others (otherwise resume is off: every attempt starts a fresh temporary). A retry on another worker
starts from 0; the earlier temporary stays behind, hidden, for an operator to remove.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["ResumeStore", "task_identity"]


def _default_dir() -> Path:
    explicit = os.environ.get("IRODS_PROVIDER_STATE_DIR")
    if explicit:
        return Path(explicit) / "staging-resume"
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "irods-provider" / "staging-resume"


def _private_dir(directory: Path) -> Path | None:
    """``directory`` created 0700 and checked (ours, a real directory, no group/other access); None if not."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(directory)
    except OSError as exc:
        log.warning("staging resume disabled: cannot create %s: %s", directory, exc)
        return None
    getuid = getattr(os, "getuid", None)
    if not stat.S_ISDIR(st.st_mode) or (getuid is not None and st.st_uid != getuid()) or st.st_mode & 0o077:
        log.warning("staging resume disabled: %s is not a private directory of this user", directory)
        return None
    return directory


class ResumeStore:
    """Small JSON records keyed by a hash of the task identity and the copy; written atomically."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self._wanted = Path(directory) if directory is not None else _default_dir()
        self._directory: Path | bool | None = False  # False: not checked yet

    @property
    def directory(self) -> Path | None:
        """The checked private directory, None when resume state cannot be kept."""
        if self._directory is False:
            self._directory = _private_dir(self._wanted)
        return self._directory if isinstance(self._directory, Path) else None

    @staticmethod
    def key(*parts: object) -> str:
        """The record name for these identity parts."""
        return hashlib.sha256("\x00".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:40]

    def load(self, key: str) -> dict[str, Any] | None:
        """The record, or None (none kept, unreadable or not ours)."""
        if self.directory is None:
            return None
        try:
            data = json.loads((self.directory / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("v") == 1 else None

    def save(self, key: str, record: dict[str, Any]) -> bool:
        """Write the record (temporary file + rename); False when no private directory is available."""
        if self.directory is None:
            return False
        path = self.directory / f"{key}.json"
        temp = self.directory / f".{key}.{secrets.token_hex(6)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"v": 1, **record}, fh)
        os.replace(temp, path)
        return True

    def drop(self, key: str) -> None:
        """Forget the record (after publishing, or when its temporary cannot be trusted)."""
        if self.directory is not None:
            with contextlib.suppress(FileNotFoundError):
                (self.directory / f"{key}.json").unlink()


def task_identity(operator: Any, context: Any) -> tuple[str, ...]:
    """What a resume record is kept for: the Airflow task instance (dag, task, run, map index) when
    running in one, else the task id."""
    ti = context.get("ti") if hasattr(context, "get") else None
    if ti is None:
        return (str(getattr(operator, "task_id", "")),)
    return tuple(str(getattr(ti, a, "")) for a in ("dag_id", "task_id", "run_id", "map_index"))
