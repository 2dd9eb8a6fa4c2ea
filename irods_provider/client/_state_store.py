"""Small JSON records the provider keeps on the worker between processes, in a private local directory.

The directory is ``$IRODS_PROVIDER_STATE_DIR/<name>``, else ``$XDG_STATE_HOME/irods-provider/<name>``, else
``~/.local/state/irods-provider/<name>``; it is created ``0700`` and used only when it is a real directory
owned by this user and not accessible by others (otherwise, or with no home directory to find, nothing is
kept and every process starts afresh).
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

__all__ = ["StateStore", "state_dir"]


def state_dir(name: str) -> Path | None:
    """Where records of kind ``name`` are kept (see the module's docstring); None when no home directory
    can be found (no ``HOME`` and no passwd entry: a container under an arbitrary uid)."""
    explicit = os.environ.get("IRODS_PROVIDER_STATE_DIR")
    if explicit:
        return Path(explicit) / name
    state = os.environ.get("XDG_STATE_HOME")
    if not state:
        try:
            state = str(Path.home() / ".local" / "state")
        except (RuntimeError, KeyError, OSError):
            return None
    return Path(state) / "irods-provider" / name


def _private_dir(directory: Path, purpose: str) -> Path | None:
    """``directory`` created 0700 and checked (ours, a real directory, no group/other access); None if not."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(directory)
    except OSError as exc:
        log.warning("%s disabled: cannot create %s: %s", purpose, directory, exc)
        return None
    getuid = getattr(os, "getuid", None)
    if not stat.S_ISDIR(st.st_mode) or (getuid is not None and st.st_uid != getuid()) or st.st_mode & 0o077:
        log.warning("%s disabled: %s is not a private directory of this user", purpose, directory)
        return None
    return directory


class StateStore:
    """Small JSON records keyed by a hash of what they are about; written atomically."""

    def __init__(self, directory: str | os.PathLike[str] | None, *, purpose: str = "keeping state") -> None:
        self._wanted = None if directory is None else Path(directory)
        self._purpose = purpose
        self._directory: Path | bool | None = False  # False: not checked yet

    @property
    def directory(self) -> Path | None:
        """The checked private directory, None when nothing can be kept."""
        if self._directory is False:
            if self._wanted is None:
                log.warning("%s disabled: no home directory to keep it under", self._purpose)
                self._directory = None
            else:
                self._directory = _private_dir(self._wanted, self._purpose)
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
        except (OSError, ValueError, RecursionError):  # a damaged record is none (too deep: RecursionError)
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
        """Forget the record."""
        if self.directory is not None:
            with contextlib.suppress(FileNotFoundError):
                (self.directory / f"{key}.json").unlink()
