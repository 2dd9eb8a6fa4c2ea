"""Test helpers for the checksum-scheme tests: fresh sessions (a fresh task process each), the on-disk scheme
cache on, and spies on what an upload hashes and hashes again (expected checksums: server_checksums.py)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client._events import add_listener, remove_listener
from irods_provider.client.transfer import CopyResult, TransferConfig, _copy, _upload
from irods_provider.client.transfer._scheme_cache import CACHE_ENV

HOME = "/tempZone/home/rods"
CFG = TransferConfig(streams=2, chunk_size=64 * 1024, backoff_base_seconds=0.0)
T = TypeVar("T")


def fresh_session(server: Any) -> IrodsSession:
    """A new session: nothing learned in memory by an earlier one (as in a fresh task process)."""
    return IrodsSession(
        server.base_url,
        auth=BasicAuth("rods", "rods-emulator"),
        retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0),
    )


def scheme_cache_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The on-disk scheme cache on (the suite keeps it off), in this test's own state directory: the folder
    of its records."""
    monkeypatch.setenv(CACHE_ENV, "on")
    monkeypatch.setenv("IRODS_PROVIDER_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state" / "checksum-schemes"


@contextmanager
def rehash_events() -> Iterator[list[str]]:
    """The schemes of the ``checksum_rehash`` events meanwhile (a source hashed again in the answered one)."""
    seen: list[str] = []

    def listener(event: str, value: float, tags: dict[str, str]) -> None:
        if event == "checksum_rehash":
            seen.append(tags.get("scheme", ""))

    add_listener(listener)
    try:
        yield seen
    finally:
        remove_listener(listener)


def _hashers(monkeypatch: pytest.MonkeyPatch, summary: Callable[[CopyResult], T]) -> list[T]:
    made: list[T] = []

    def spy(*args: Any, **kwargs: Any) -> _copy.StreamHasher:
        hasher = _copy.hasher_for(*args, **kwargs)
        made.append(summary(hasher.result()))
        return hasher

    monkeypatch.setattr(_upload, "hasher_for", spy)
    return made


def md5_hashed(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each hasher an upload makes computes MD5 (recorded as they are made)."""
    return _hashers(monkeypatch, lambda result: result.md5 is not None)


def schemes_hashed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, tuple[str, ...]]]:
    """For each hasher an upload makes: whether it computes MD5, and the other schemes it computes."""
    return _hashers(
        monkeypatch, lambda result: (result.md5 is not None, tuple(s.value for s, _ in result.others))
    )


class OnePass(io.BytesIO):
    """A stream that cannot seek: read once, never again (as an SFTP file is)."""

    def seekable(self) -> bool:
        return False


def corrupt_before_hash(
    monkeypatch: pytest.MonkeyPatch, session: IrodsSession, server: Any, leaf: str
) -> None:
    """Damage each uploaded replica on ``leaf`` right before the server first hashes it (bit rot); once a
    path: damaging it again would undo it."""
    real = session.data_objects.calculate_checksum
    damaged: list[str] = []

    def corrupt_then_hash(path: str, **kwargs: Any) -> str:
        if path not in damaged:
            server.corrupt_replica(path, leaf)
            damaged.append(path)
        return real(path, **kwargs)

    monkeypatch.setattr(session.data_objects, "calculate_checksum", corrupt_then_hash)
