"""A writer that publishes atomically: bytes go to a temporary sibling, renamed onto the target at the end.

Crash consistency for the streaming APIs (``open_writer``, ``parallel_upload``, fsspec writes): the target
path only ever holds a complete object (or nothing), the temporary's parallel-write handle is recorded on
it as it opens (see :mod:`._resume`), and its name is derived from the target alone, so the next attempt
(another process, after ``kill -9``) finds it, shuts the recorded handle down and writes it afresh instead
of leaving it locked and behind. Two writers of one target at once share that name: the later one takes it
over and the earlier one fails (never publishes a mix). The temporary's removal is registered with the
writer's coordinator as it is claimed: a failed close or publish, or :meth:`AtomicWriter.abort`, runs it.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Executor

from irods_provider.exceptions import IrodsError

from . import _resume
from ._api import SessionLike
from ._config import OverwritePolicy, TransferConfig
from ._coordinator import TransferCoordinator
from ._retry import ChunkRetrier
from ._upload import _choose_temp, _publish
from ._writer import ParallelWriter


def claim_temp(session: SessionLike, path: str) -> str:
    """The temporary sibling that writes to ``path`` go through, freed of a killed attempt's recorded
    handles (a fresh name when an unrecorded handle still locks it; the engine's logs name it)."""
    temp, _, _ = _choose_temp(session, path, _resume.resume_key("atomic-writer", path), resume=True)
    return temp


class AtomicWriter(ParallelWriter):
    """A :class:`ParallelWriter` on a temporary sibling of ``target``, renamed onto it (replacing an existing
    object) at :meth:`close`; ``publish=False`` leaves the rename to the caller (:meth:`publish`), e.g.
    after verifying the checksum or at the end of a transaction. ``path`` is the temporary's name."""

    def __init__(
        self,
        session: SessionLike,
        target: str,
        *,
        config: TransferConfig,
        size: int | None = None,
        coordinator: TransferCoordinator | None = None,
        executor: Executor | None = None,
        publish: bool = True,
    ) -> None:
        self.target = target
        self._session = session
        self._publish_on_close = publish
        self._recording = _resume.RecordingSession(session)
        temp = claim_temp(session, target)
        super().__init__(
            self._recording,
            temp,
            config=config,
            size=size,
            coordinator=coordinator,
            executor=executor,
        )
        self.coordinator.add_failure_cleanup(lambda _cause: self.discard())

    def close(self) -> None:
        """Finish the temporary object, drop its handle records and (unless told not to) publish it."""
        if self.closed:
            return
        try:
            super().close()
            if self._recording.opened:
                handles = _resume.inspect(self._session, self.path).handles
                if handles:
                    ops = [_resume.handle_op("remove", h) for h in handles]
                    self._session.metadata.apply(self.path, ops, kind=_resume._data_object_kind())
        except BaseException as exc:
            self.coordinator.run_failure_cleanups(exc)
            raise
        if self._publish_on_close:
            self.publish()

    def abort(self, *, keep_queued: bool = False) -> None:
        """Stop writing (see :meth:`ParallelWriter.abort`) and run the writer's failure cleanups: the
        temporary object is removed. Never raises."""
        super().abort(keep_queued=keep_queued)
        self.coordinator.run_failure_cleanups(self.coordinator.exception)

    def publish(self) -> None:
        """Rename the finished temporary onto the target (an existing object there is replaced); a failure
        puts a replaced object back and removes the temporary, success drops the cleanups."""
        cfg = self.config
        retry = ChunkRetrier(
            retries=cfg.retries,
            base_seconds=cfg.backoff_base_seconds,
            max_seconds=cfg.backoff_max_seconds,
            coordinator=self.coordinator,
        )
        try:
            _publish(self._session, self.path, self.target, overwrite=OverwritePolicy.OVERWRITE, retry=retry)
        except BaseException as exc:
            self.coordinator.run_failure_cleanups(exc)
            raise
        self.coordinator.succeed()

    def discard(self) -> None:
        """Remove the temporary object (if it was created): its failure cleanup."""
        with contextlib.suppress(IrodsError):
            self._session.data_objects.remove(self.path, no_trash=True)
