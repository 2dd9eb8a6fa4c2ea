"""The skip/overwrite policies ask each destination once per file: an iRODS destination one ``stat`` (the
requests counted on the wire, by path), a local destination one ``lstat`` (counted process-wide)."""

from __future__ import annotations

import collections
import os
import re
import sys
import threading
from pathlib import Path

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client.transfer import (
    FileResult,
    FileStatus,
    OverwritePolicy,
    SkipPolicy,
    TransferConfig,
    download_object,
    upload_files,
)
from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsInvalidPathError, IrodsSymlinkError

HOME = "/tempZone/home/rods"
FIELD = re.compile(rb'name="([^"]+)"\r\n\r\n(.*?)\r\n--', re.S)
CFG = TransferConfig(chunk_size=64 * 1024, small_file_threshold=64 * 1024)
FILES = {"small.bin": os.urandom(4096), "large.bin": os.urandom(200 * 1024), "sub/empty.bin": b""}

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from stat_counter import count_stats  # noqa: E402


class ByPath(httpx2.HTTPTransport):
    """Counts API requests by (operation, lpath)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: collections.Counter[tuple[str, str]] = collections.Counter()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET":
            op, lpath = request.url.params.get("op", ""), request.url.params.get("lpath", "")
        else:
            fields = {k.decode(): v.decode(errors="replace") for k, v in FIELD.findall(request.read())}
            op, lpath = fields.get("op", ""), fields.get("lpath", "")
        with self._lock:
            self.ops[(op, lpath)] += 1
        return super().handle_request(request)

    def on(self, path: str) -> dict[str, int]:
        """The requests naming ``path``, by operation."""
        with self._lock:
            return {op: n for (op, lpath), n in self.ops.items() if lpath == path}

    def reset(self) -> None:
        with self._lock:
            self.ops.clear()


@pytest.fixture
def counted(irods_emulator) -> collections.abc.Iterator[tuple[IrodsSession, ByPath]]:
    transport = ByPath()
    retry = RetryPolicy(max_attempts=2, initial_backoff=0.0, max_backoff=0.0, sleep=lambda s: None)
    auth = BasicAuth("rods", "rods-emulator")
    with IrodsSession(irods_emulator.base_url, auth=auth, retry=retry, transport=transport) as session:
        yield session, transport


def _tree(root) -> None:
    for rel, blob in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(blob)


def test_an_irods_destination_is_stat_once_per_file(counted, tmp_path) -> None:
    session, transport = counted
    _tree(tmp_path / "src")
    targets = {rel: f"{HOME}/asked/{rel}" for rel in FILES}
    first = upload_files(session, tmp_path / "src", f"{HOME}/asked", config=CFG)
    assert first.transferred == 3
    # Under REFUSE with no skip policy a file of one request is not asked first (its publishing rename
    # refuses an existing object); a larger one is asked once before its bytes are sent.
    assert transport.on(targets["large.bin"]).get("stat") == 1
    assert transport.on(targets["small.bin"]).get("stat") is None
    for skip in (SkipPolicy.EXISTS, SkipPolicy.SIZE, SkipPolicy.CHECKSUM):
        transport.reset()
        again = upload_files(session, tmp_path / "src", f"{HOME}/asked", config=CFG, skip=skip)
        assert (again.transferred, again.skipped) == (0, 3), skip
        # One stat each: size and stored checksum come with it (the upload stored them).
        assert {rel: transport.on(path) for rel, path in targets.items()} == {
            rel: {"stat": 1} for rel in FILES
        }, skip
    transport.reset()
    (tmp_path / "src" / "large.bin").write_bytes(os.urandom(200 * 1024))  # same size, other bytes
    with pytest.raises(IrodsAlreadyExistsError) as refused:
        upload_files(
            session, tmp_path / "src" / "large.bin", f"{HOME}/asked", config=CFG, skip=SkipPolicy.CHECKSUM
        )
    assert refused.value.path == targets["large.bin"]
    assert transport.on(targets["large.bin"]) == {"stat": 1}
    assert session.data_objects.read(targets["large.bin"]) == FILES["large.bin"]


@pytest.fixture
def stats_by_path(monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    """Every ``lstat``/``stat`` of a path name in this process, by path."""
    return count_stats(monkeypatch)


def _download_each(session, out, **kwargs) -> list[FileResult]:
    """Each object through the engine's per-file download (the planner's own path checks stay out of the
    count: ``resolve`` walks every component)."""
    return [download_object(session, f"{HOME}/down/{rel}", out / rel, config=CFG, **kwargs) for rel in FILES]


def test_a_local_destination_is_lstat_once_per_file(counted, tmp_path, stats_by_path) -> None:
    session, _ = counted
    _tree(tmp_path / "src")
    upload_files(session, tmp_path / "src", f"{HOME}/down", config=CFG)
    out = tmp_path / "out"
    targets = {rel: str(out / rel) for rel in FILES}
    first = _download_each(session, out)
    assert {f.status for f in first} == {FileStatus.TRANSFERRED}
    # The policy's lstat, then the publish-time check right before the rename (never onto a link/dir),
    # both by name in the parent directory held open (so counted by the name alone); a parent not there
    # yet (``out`` for the first file, ``out/sub``) holds nothing, so the policy asks nothing there.
    counts = {rel: stats_by_path[Path(path).name] for rel, path in targets.items()}
    assert counts == {"small.bin": 1, "large.bin": 2, "sub/empty.bin": 1}
    for skip in (SkipPolicy.EXISTS, SkipPolicy.SIZE, SkipPolicy.CHECKSUM):
        stats_by_path.clear()
        again = _download_each(session, out, skip=skip)
        assert {f.status for f in again} == {FileStatus.SKIPPED}, skip
        assert {f.reason for f in again} == {
            SkipPolicy.EXISTS: {"destination exists"},
            SkipPolicy.SIZE: {"same size"},
            SkipPolicy.CHECKSUM: {"same checksum"},
        }[skip]
        counts = {rel: stats_by_path[Path(path).name] for rel, path in targets.items()}
        assert counts == dict.fromkeys(FILES, 1), skip
    (out / "large.bin").write_bytes(os.urandom(200 * 1024))  # same size, other bytes
    stats_by_path.clear()
    with pytest.raises(IrodsAlreadyExistsError) as refused:
        download_object(session, f"{HOME}/down/large.bin", out / "large.bin", skip=SkipPolicy.CHECKSUM)
    assert refused.value.path == targets["large.bin"]
    assert stats_by_path["large.bin"] == 1
    stats_by_path.clear()
    replaced = download_object(
        session,
        f"{HOME}/down/large.bin",
        out / "large.bin",
        config=CFG,
        skip=SkipPolicy.CHECKSUM,
        overwrite=OverwritePolicy.OVERWRITE,
    )
    assert replaced.status is FileStatus.TRANSFERRED
    assert (out / "large.bin").read_bytes() == FILES["large.bin"]
    assert stats_by_path["large.bin"] == 2


class _PlantOnProgress:
    """Creates ``target`` (another writer's file) when the first bytes of the download arrive."""

    def __init__(self, target) -> None:
        self.target = target

    def on_queued(self, **kwargs) -> None:
        pass

    def on_progress(self, **kwargs) -> None:
        if not self.target.exists():
            self.target.write_bytes(b"planted by another writer")

    def on_done(self, **kwargs) -> None:
        pass


@pytest.mark.parametrize("overwrite", list(OverwritePolicy))
def test_a_local_file_appearing_during_the_download_is_refused_at_publish(
    counted, tmp_path, overwrite
) -> None:
    """The decision saw nothing there; under REFUSE the publish itself refuses what appeared meanwhile."""
    session, _ = counted
    session.collections.create(f"{HOME}/race")
    session.data_objects.write(f"{HOME}/race/large.bin", FILES["large.bin"])
    target = tmp_path / "large.bin"
    plant = _PlantOnProgress(target)
    run = lambda: download_object(  # noqa: E731
        session, f"{HOME}/race/large.bin", target, config=CFG, overwrite=overwrite, subscribers=(plant,)
    )
    if overwrite is OverwritePolicy.REFUSE:
        with pytest.raises(IrodsAlreadyExistsError, match="appeared during the download") as refused:
            run()
        assert refused.value.path == str(target)
        assert target.read_bytes() == b"planted by another writer"
    else:
        assert run().status is FileStatus.TRANSFERRED
        assert target.read_bytes() == FILES["large.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["large.bin"]  # no temporary left


@pytest.mark.parametrize("skip", list(SkipPolicy))
@pytest.mark.parametrize("kind", ["directory", "symlink"])
def test_a_local_directory_or_link_is_refused_by_every_policy_before_a_byte_moves(
    counted, tmp_path, skip, kind
) -> None:
    """No skip policy counts a directory or a link as the file, and no overwrite replaces it: refused typed,
    naming the path, before anything is read."""
    session, transport = counted
    session.collections.create(f"{HOME}/dir")
    session.data_objects.write(f"{HOME}/dir/a.bin", FILES["small.bin"])
    target = tmp_path / "a.bin"
    if kind == "directory":
        target.mkdir()
        expected: type[Exception] = IrodsInvalidPathError
    else:
        target.symlink_to(tmp_path / "elsewhere")
        expected = IrodsSymlinkError
    transport.reset()
    with pytest.raises(expected) as refused:
        download_object(
            session, f"{HOME}/dir/a.bin", target, config=CFG, skip=skip, overwrite=OverwritePolicy.OVERWRITE
        )
    assert type(refused.value) is expected
    assert refused.value.path == str(target)
    assert transport.on(f"{HOME}/dir/a.bin").get("read") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]
    assert target.is_dir() if kind == "directory" else target.is_symlink()
