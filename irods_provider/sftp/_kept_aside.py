"""The replaced file :func:`~._integrity.publish` keeps aside until the new one is in place: recorded with
the resume record of :class:`~._sink.SftpStagingSink`, and put back or removed by the next attempt when a
publish failed or died before it was. Split out of ``_sink`` (a mixin of the sink's methods, moved
unchanged)."""

from __future__ import annotations

import logging
import posixpath
import stat
from typing import TYPE_CHECKING

import paramiko

from . import _pipelined as pipelined
from ._endpoint import sftp_errors
from ._resume_store import ResumeStore

if TYPE_CHECKING:
    from ._endpoint import SftpEndpoint

log = logging.getLogger("irods_provider.sftp._sink")  # the sink's logger, as before the split


class KeptAside:
    """The kept-aside methods of :class:`~._sink.SftpStagingSink` (which sets these attributes)."""

    sftp: SftpEndpoint
    client: paramiko.SFTPClient
    final: str
    store: ResumeStore
    _record: str | None
    _aside: str | None

    if TYPE_CHECKING:

        def _record_key(self) -> str: ...

    def _settle_kept(self, there: pipelined.Outcome) -> pipelined.Outcome:
        """The replaced file an earlier attempt recorded as kept aside (its publish failed, or died, before
        it was back or removed): put back when the final name is free, else removed (the name holds a whole
        newer file, which this task was asked to replace). Returns the final name's ``lstat`` answer then.
        Without such a record (nearly always) it costs one local file lookup, no request."""
        record = self.store.load(key := self._record_key()) or {}
        head, name = posixpath.split(self.final)
        kept = record.get("aside")
        if not isinstance(kept, str):
            return there
        aside = posixpath.join(head, kept)
        ours = posixpath.dirname(aside) == head and kept.startswith(f".{name}.") and kept.endswith(".keep")
        if ours and isinstance(there, FileNotFoundError):
            self._put_back_kept(aside)
            (there,) = pipelined.exchange(self.client, [pipelined.lstat(self.client, self.final)])
        elif ours and (refused := self.sftp.discard(self.client, aside)) is not None:  # follows no link
            log.warning(
                "Could not remove %s, an earlier attempt's old copy of %s: %s", aside, self.final, refused
            )
            return there
        rest = {k: v for k, v in record.items() if k != "aside"}
        if rest:
            self.store.save(key, rest)
        else:
            self.store.drop(key)
        return there

    def _put_back_kept(self, aside: str) -> None:
        """Rename the regular file at ``aside`` onto the free final name (anything else there, a link
        planted since included, is left alone); a refusal is a typed error naming both."""
        doing = f"cannot put back the old file kept at {aside!r}"
        with sftp_errors(self.final, doing, operation="irods_to_sftp"):
            try:
                if not stat.S_ISREG(self.client.lstat(aside).st_mode or 0):
                    return
                self.client.rename(aside, self.final)
            except FileNotFoundError:
                return
        log.warning("Put back %s from %s, kept there by an earlier attempt", self.final, aside)

    def _keeping(self, aside: str | None) -> None:
        """Record where :func:`~._io.replace_keeping_aside` keeps the replaced file (None: it no longer does),
        for the next attempt to put it back (:meth:`_settle_kept`). A record that cannot be written fails the
        publish before the old file is moved."""
        self._aside = aside
        if self._record is None:
            return
        record = {k: v for k, v in (self.store.load(self._record) or {}).items() if k != "aside"}
        try:
            self.store.save(
                self._record, record if aside is None else {**record, "aside": posixpath.basename(aside)}
            )
        except OSError:
            if aside is not None:
                raise
