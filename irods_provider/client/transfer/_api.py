"""The slice of the client session the transfer engine needs, as structural protocols.

The engine is written against these protocols, so the real :class:`~irods_provider.client.IrodsSession` and
the
in-memory fake of the unit tests both plug in without the engine importing the client's internals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from irods_provider.client import Permission, PermissionOperation, RetryPolicy


class DataObjectStatLike(Protocol):
    """What the engine reads from a data object's stat."""

    @property
    def size(self) -> int: ...

    @property
    def checksum(self) -> str | None: ...


class ReplicaLike(Protocol):
    """What the engine reads of one replica (``DataObjects.replicas``)."""

    @property
    def number(self) -> int: ...

    @property
    def hierarchy(self) -> str: ...

    @property
    def status(self) -> str: ...


class DataObjectsLike(Protocol):
    """Data-object operations used for chunked, parallel and atomic transfers.

    The engine retries each chunk itself, so it passes ``retry=False`` to reads, writes and handle opens:
    the session's own retries underneath would multiply the attempts per chunk.
    """

    def exists(self, path: str) -> bool: ...

    def stat(self, path: str) -> DataObjectStatLike: ...

    def read(
        self, path: str, *, offset: int = 0, count: int | None = None, retry: RetryPolicy | bool | None = None
    ) -> bytes: ...

    def read_into(
        self,
        path: str,
        buffer: bytearray | memoryview,
        *,
        offset: int = 0,
        retry: RetryPolicy | bool | None = None,
    ) -> int: ...

    def write(
        self,
        path: str,
        data: bytes,
        *,
        offset: int = 0,
        truncate: bool = True,
        parallel_write_handle: str | None = None,
        stream_index: int | None = None,
        retry: RetryPolicy | bool | None = None,
        resource: str | None = None,
        hold: Callable[[], None] | None = None,
    ) -> None: ...

    def parallel_write_init(
        self,
        path: str,
        *,
        stream_count: int,
        truncate: bool = True,
        retry: RetryPolicy | bool | None = None,
        resource: str | None = None,
    ) -> str: ...

    def parallel_write_shutdown(self, handle: str) -> None: ...

    def calculate_checksum(
        self,
        path: str,
        *,
        force: bool = False,
        replica_number: int | None = None,
        replicas_before: Sequence[Any] | None = None,
    ) -> str: ...

    def replicas(self, path: str) -> Sequence[ReplicaLike]: ...

    def rename(self, old_path: str, new_path: str) -> None: ...

    def copy(
        self,
        src: str,
        dst: str,
        *,
        overwrite: bool = False,
        src_resource: str | None = None,
        replicas_before: Sequence[Any] | None = None,
    ) -> None: ...

    def remove(self, path: str, *, no_trash: bool = False) -> None: ...

    def modify_permissions(self, path: str, operations: Iterable[PermissionOperation]) -> None: ...

    def set_permission(self, path: str, entity: str, permission: str) -> None: ...

    def permissions(self, path: str) -> Sequence[Permission]: ...


class ServerLimitsLike(Protocol):
    """Server limits that size chunks and stream counts."""

    @property
    def max_request_body_bytes(self) -> int: ...

    @property
    def max_streams_per_handle(self) -> int: ...


class SessionLike(Protocol):
    """A client session as seen by the transfer engine."""

    @property
    def data_objects(self) -> DataObjectsLike: ...

    @property
    def limits(self) -> ServerLimitsLike: ...

    @property
    def metadata(self) -> Any: ...

    @property
    def collections(self) -> Any: ...
