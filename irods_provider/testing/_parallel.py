"""Parallel-write handles: streams writing at explicit offsets straight into the spool file."""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

from irods_provider.testing._catalog import ModelBase, normalize
from irods_provider.testing._errors import NoIdleStream, StreamLimitExceeded, UnknownHandle
from irods_provider.testing._locks import close_stale

log = logging.getLogger(__name__)


@dataclass
class ParallelHandle:
    """One open parallel write: target object, its open file descriptor and stream states."""

    id: str
    target: Any
    fd: int
    busy: list[bool] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    """The streams whose write failed (a full vault): stream index → the plugin's error code."""


class ParallelWriteMixin(ModelBase):
    """parallel_write_init / stream acquisition / pwrite / parallel_write_shutdown."""

    handles: dict[str, ParallelHandle]
    active_streams: int
    stream_overlaps: int
    """Writes that named a stream another write was still using. The server does not lock an explicitly
    named stream (``streams.at(sindex)``, data_objects.cpp at 0.7.0): two such writes race on one replica
    position, so a correct client never sends them; tests assert this stays 0."""

    def parallel_write_init(
        self,
        caller: str,
        path: str,
        *,
        stream_count: int,
        truncate: bool = True,
        append: bool = False,
        resource: str | None = None,
        replica_number: int | None = None,
        ticket: str | None = None,
        server_cap: bool = True,
    ) -> str:
        """Reserve streams (StreamLimitExceeded when over the server quota), open the replica, lock it.

        ``server_cap=False`` skips the server-wide quota, which API versions before 0.7.0 do not have.
        """
        with self.lock:
            if server_cap and self.active_streams + stream_count > self.config.max_streams:
                raise StreamLimitExceeded()
            handle_id = str(uuid.uuid4())
            target = self.open_write(  # locks the object until the handle is shut down
                caller,
                path,
                truncate=truncate,
                append=append,
                resource=resource,
                replica_number=replica_number,
                ticket=ticket,
                holder=handle_id,
            )
            fd = os.open(target.replica.spool_file, os.O_RDWR)
            self.handles[handle_id] = ParallelHandle(
                handle_id, target, fd, [False] * stream_count, [0] * stream_count
            )
            self.active_streams += stream_count
            return handle_id

    def acquire_stream(self, handle_id: str, stream_index: int | None) -> tuple[int, int, int]:
        """Pick a stream: (fd, index, position); UnknownHandle or NoIdleStream when impossible."""
        with self.lock:
            h = self.handles.get(handle_id)
            if h is None:
                raise UnknownHandle(handle_id)
            if stream_index is None:
                for i, busy in enumerate(h.busy):
                    if not busy:
                        h.busy[i] = True
                        return h.fd, i, h.positions[i]
                raise NoIdleStream()
            if not 0 <= stream_index < len(h.busy):
                raise UnknownHandle(f"stream {stream_index}")
            if h.busy[stream_index]:
                self.stream_overlaps += 1
                log.warning(
                    "two writes at once on stream %d of parallel-write handle %s", stream_index, handle_id
                )
            h.busy[stream_index] = True
            return h.fd, stream_index, h.positions[stream_index]

    def release_stream(
        self, handle_id: str, stream_index: int, position: int, *, written: int | None = None
    ) -> None:
        """Mark a stream idle again after its request, remembering where it stopped and counting the bytes
        it wrote on the handle's target (``written`` None: unknown, a failed request)."""
        with self.lock:
            h = self.handles.get(handle_id)
            if h is not None and stream_index < len(h.busy):
                h.busy[stream_index] = False
                h.positions[stream_index] = position
                done = h.target.written
                h.target.written = None if done is None or written is None else done + written

    def fail_stream(self, handle_id: str, stream_index: int, code: int) -> None:
        """Mark a stream bad after a failed write: the library's output stream keeps its badbit."""
        with self.lock:
            h = self.handles.get(handle_id)
            if h is not None:
                h.errors[stream_index] = code

    def stream_error(self, handle_id: str, stream_index: int) -> int | None:
        """The error a stream's earlier write failed with, or None while it is good."""
        with self.lock:
            h = self.handles.get(handle_id)
            return None if h is None else h.errors.get(stream_index)

    def handle_resource(self, handle_id: str) -> str:
        """The resource holding the replica a handle writes (a leaf)."""
        with self.lock:
            h = self.handles.get(handle_id)
            return "" if h is None else str(h.target.replica.resource)

    def parallel_write_shutdown(self, handle_id: str) -> None:
        """Commit size/status/mtime, unlock, release the quota; unknown handles are fine."""
        with self.lock:
            h = self.handles.pop(handle_id, None)
            if h is None:
                return
            self.active_streams -= len(h.busy)
            os.close(h.fd)
            if h.target.path in self.data_objects:
                self.finish_write(h.target)

    def drop_parallel_writes(self, path: str | None = None) -> int:
        """Forget the open handles (on ``path``, or all) as if the HTTP API's iRODS connections died: each
        agent closes what it left open (``close_all_l1_descriptors``), so the written replica is stale and
        its siblings get their statuses back (``_locks.close_stale``). Returns how many were dropped."""
        with self.lock:
            dropped = [h for h in self.handles.values() if path is None or h.target.path == normalize(path)]
            for h in dropped:
                del self.handles[h.id]
                self.active_streams -= len(h.busy)
                os.close(h.fd)
                obj = self.data_objects.get(h.target.path)
                if obj is not None and obj.locked_by == h.id:
                    close_stale(obj, h.target.replica)
            return len(dropped)

    def close_all_handles(self) -> None:
        """Drop every handle (used by reset)."""
        with self.lock:
            for h in self.handles.values():
                os.close(h.fd)
            self.handles.clear()
            self.active_streams = 0

    def parallel_write_counts(self) -> dict[str, int]:
        """Open handles and streams, server-wide."""
        with self.lock:
            return {
                "handles": len(self.handles),
                "streams": self.active_streams,
                "stream_overlaps": self.stream_overlaps,
            }
