"""An in-memory fake of the session slice the transfer engine uses, plus a non-threaded executor."""

from __future__ import annotations

import base64
import hashlib
import threading
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

import pytest

from irods_provider.client._models import AVU, Entry, EntryKind, Replica
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
)


class NonThreadedExecutor(Executor):
    """Runs each task inline at submit: deterministic order (s3transfer's NonThreadedExecutor idea)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


@dataclass
class Limits:
    max_request_body_bytes: int = 8 * 1024 * 1024
    max_streams_per_handle: int = 3


@dataclass
class Stat:
    size: int
    checksum: str | None = None


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


class FakeDataObjects:
    def __init__(self, owner: FakeSession) -> None:
        self.o = owner

    def _log(self, *call: Any) -> None:
        with self.o.lock:
            self.o.calls.append(call)

    def exists(self, path: str) -> bool:
        with self.o.lock:
            return path in self.o.objects

    def stat(self, path: str) -> Stat:
        with self.o.lock:
            if path not in self.o.objects:
                raise IrodsNotADataObjectError("no", path=path)
            return Stat(len(self.o.objects[path]), self.o.checksums.get(path))

    def read(self, path: str, *, offset: int = 0, count: int | None = None, retry: Any = None) -> bytes:
        assert retry is False, "the engine retries per chunk; the session must not retry underneath"
        self._log("read", path, offset, count)
        if self.o.read_hook:
            self.o.read_hook(offset, count)
        with self.o.lock:
            data = bytes(self.o.objects[path])
        return data[offset : None if count is None else offset + count]

    def write(
        self,
        path,
        data,
        *,
        offset=0,
        truncate=True,
        parallel_write_handle=None,
        stream_index=None,
        retry=None,
        hold=None,
    ):
        assert retry is False, "the engine retries per chunk; the session must not retry underneath"
        with self.o.lock:
            self.o.held.append((stream_index, hold is not None))
            self.o.in_call += 1
            self.o.max_in_call = max(self.o.max_in_call, self.o.in_call)
        try:
            if hold is not None:
                hold()  # as the server: nothing of a held form is written before its last bytes
            self._apply(path, data, offset, truncate, parallel_write_handle, stream_index)
        finally:
            with self.o.lock:
                self.o.in_call -= 1

    def _apply(self, path, data, offset, truncate, parallel_write_handle, stream_index):
        self._log("write", path, offset, len(data), parallel_write_handle, stream_index)
        with self.o.lock:
            self.o.active += 1
            self.o.max_active = max(self.o.max_active, self.o.active)
        try:
            if self.o.write_hook:
                self.o.write_hook(offset, data, stream_index)
            with self.o.lock:
                if parallel_write_handle is not None:
                    buf = self.o.handles[parallel_write_handle][1]
                else:
                    if truncate:
                        self.o.objects[path] = bytearray()
                        self.o.checksums.pop(path, None)
                    buf = self.o.objects[path]
                if len(buf) < offset:
                    buf.extend(b"\0" * (offset - len(buf)))
                buf[offset : offset + len(data)] = data
        finally:
            with self.o.lock:
                self.o.active -= 1

    def parallel_write_init(
        self, path: str, *, stream_count: int, truncate: bool = True, retry: Any = None
    ) -> str:
        assert retry is False, "the engine retries per chunk; the session must not retry underneath"
        self._log("init", path, stream_count, truncate)
        with self.o.lock:
            self.o.counter += 1
            handle = f"h{self.o.counter}"
            base = bytearray() if truncate else bytearray(self.o.objects[path])
            self.o.handles[handle] = (path, base)
            return handle

    def parallel_write_shutdown(self, handle: str) -> None:
        self._log("shutdown", handle)
        with self.o.lock:
            path, buf = self.o.handles.pop(handle)
            self.o.objects[path] = buf
            self.o.checksums.pop(path, None)

    def replicas(self, path: str) -> list[Replica]:
        """One good replica on demoResc (a single-replica zone); not logged: asked once per session."""
        with self.o.lock:
            size = len(self.o.objects[path])
        return [Replica(number=0, hierarchy="demoResc", status="1", size=size, checksum=None, modified_at=0)]

    def calculate_checksum(
        self,
        path: str,
        *,
        force: bool = False,
        replica_number: int | None = None,
        replicas_before: object = None,
    ) -> str:
        self._log("checksum", path)
        with self.o.lock:
            data = bytes(self.o.objects[path])
        if self.o.md5_zone:
            return hashlib.md5(data).hexdigest()
        value = self.o.checksum_override or sha2(data)
        with self.o.lock:
            self.o.checksums[path] = value
        return value

    def rename(self, old: str, new: str) -> None:
        self._log("rename", old, new)
        with self.o.lock:
            if new in self.o.objects:
                raise IrodsAlreadyExistsError("exists", path=new)
            self.o.objects[new] = self.o.objects.pop(old)
            self.o.avus[new] = self.o.avus.pop(old, [])

    def remove(self, path: str, *, no_trash: bool = False) -> None:
        self._log("remove", path)
        with self.o.lock:
            if path not in self.o.objects:
                raise IrodsNotFoundError("no", path=path)
            del self.o.objects[path]
            self.o.avus.pop(path, None)

    def modify_permissions(self, path: str, ops: list[Any]) -> None:
        self.o.acls[path] = {op.entity_name: op.acl for op in ops}


class FakeMetadata:
    def __init__(self, owner: FakeSession) -> None:
        self.o = owner

    def list(self, path: str, **kw: Any) -> list[AVU]:
        if path not in self.o.objects:
            raise IrodsNotFoundError("no", path=path)
        return list(self.o.avus.get(path, []))

    def apply(self, path: str, ops: list[Any], **kw: Any) -> None:
        avus = list(self.o.avus.get(path, []))
        for op in ops:
            if op.operation == "add":
                avus.append(op.avu)
            else:
                avus.remove(op.avu)
        self.o.avus[path] = avus


class FakeCollections:
    def __init__(self, owner: FakeSession) -> None:
        self.o = owner

    def create(self, path: str, *, intermediates: bool = False, exist_ok: bool = False) -> bool:
        with self.o.lock:
            self.o.collections_created.add(path)
        return True

    def exists(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        with self.o.lock:  # the engine's workers write while others ask (a dict changing size mid-scan)
            return path in self.o.collections_created or any(p.startswith(prefix) for p in self.o.objects)

    def iterate(
        self,
        path: str,
        *,
        recursive: bool = False,
        kinds: Any = None,
        with_stat: bool = False,
        read_ahead: int = 1,
    ):
        prefix = path.rstrip("/") + "/"
        with self.o.lock:
            sizes = {p: len(data) for p, data in self.o.objects.items()}
        for p in sorted(sizes):
            rest = p[len(prefix) :]
            if p.startswith(prefix) and (recursive or "/" not in rest):
                yield Entry(p, EntryKind.DATA_OBJECT, size=sizes[p])


@dataclass
class FakeSession:
    limits: Limits = field(default_factory=Limits)
    objects: dict[str, bytearray] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)
    avus: dict[str, list[AVU]] = field(default_factory=dict)
    acls: dict[str, dict[str, str]] = field(default_factory=dict)
    handles: dict[str, tuple[str, bytearray]] = field(default_factory=dict)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0
    active: int = 0
    max_active: int = 0
    held: list[tuple[int | None, bool]] = field(default_factory=list)  # per write call: stream, held?
    in_call: int = 0  # write calls sent and not yet past their hold (the requests on the wire)
    max_in_call: int = 0
    write_hook: Any = None
    read_hook: Any = None
    md5_zone: bool = False
    checksum_override: str | None = None

    def __post_init__(self) -> None:
        self.data_objects = FakeDataObjects(self)
        self.metadata = FakeMetadata(self)
        self.collections = FakeCollections(self)
        self.collections_created: set[str] = set()

    def writes(self) -> list[tuple[Any, ...]]:
        return [c for c in self.calls if c[0] == "write"]


@pytest.fixture
def fake() -> FakeSession:
    return FakeSession()


@pytest.fixture
def inline_executor() -> NonThreadedExecutor:
    return NonThreadedExecutor()
