"""Tree and pattern downloads leave out the objects that cannot be read now, and report them.

A user downloading ``run/*.h5`` while the instrument writes the next file wants the complete files and the
one in flight left for the next run. While a write is open, iRODS 4.2.9+ makes the replica written
intermediate and its siblings write-locked (logical_locking.cpp ``lock_impl``): no replica is good, the HTTP
API's stat answers SYS_NO_GOOD_REPLICA and its read 500 (filesystem.cpp:735-763); an object whose writer
died is left stale, no better. The planner leaves such objects out (the listing's replica statuses), the
report lists them as skipped with the reason, and the transfer does not fail; a data object named by itself
still raises IrodsLockedError.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client import IrodsSession
from irods_provider.client.transfer import FileStatus, download_files
from irods_provider.client.transfer._leftout import BEING_WRITTEN, NO_GOOD_REPLICA
from irods_provider.exceptions import IrodsLockedError

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
RUN = f"{HOME}/run"


def being_written(session: IrodsSession, path: str, data: bytes = b"partial") -> str:
    """Another client's write of ``path``, still open: a parallel-write handle with ``data`` written."""
    handle = session.data_objects.parallel_write_init(path, stream_count=1)
    session.data_objects.write(None, data, parallel_write_handle=handle, stream_index=0, offset=0)
    return handle


def instrument_run(session: IrodsSession, server: Any) -> str:
    """``run/``: a.h5 and sub/b.h5 complete, c.h5 being written, d.h5 left stale by a writer that died,
    notes.txt being written; the handle of c.h5."""
    session.collections.create(f"{RUN}/sub", intermediates=True)
    session.data_objects.write(f"{RUN}/a.h5", b"complete a")
    session.data_objects.write(f"{RUN}/sub/b.h5", b"complete b")
    being_written(session, f"{RUN}/d.h5")
    assert server.drop_parallel_writes(f"{RUN}/d.h5") == 1
    being_written(session, f"{RUN}/notes.txt")
    return being_written(session, f"{RUN}/c.h5")


def local_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def outcomes(report: Any) -> dict[str, tuple[FileStatus, str | None]]:
    return {f.source.removeprefix(f"{RUN}/"): (f.status, f.reason) for f in report.files}


def test_a_pattern_download_copies_the_complete_files_and_reports_the_others(
    session, irods_emulator, tmp_path, caplog
) -> None:
    instrument_run(session, irods_emulator)
    with caplog.at_level(logging.WARNING):
        report = download_files(session, f"{RUN}/**/*.h5", tmp_path, glob=True)
    assert outcomes(report) == {
        "a.h5": (FileStatus.TRANSFERRED, None),
        "sub/b.h5": (FileStatus.TRANSFERRED, None),
        "c.h5": (FileStatus.SKIPPED, BEING_WRITTEN),
        "d.h5": (FileStatus.SKIPPED, NO_GOOD_REPLICA),
    }
    assert {f.destination for f in report.files if f.status is FileStatus.SKIPPED} == {
        str(tmp_path / "c.h5"),
        str(tmp_path / "d.h5"),
    }
    assert (report.transferred, report.skipped, report.failed) == (2, 2, 0)
    assert local_files(tmp_path) == {"a.h5": b"complete a", "sub/b.h5": b"complete b"}
    assert f"{RUN}/c.h5 (being written)" in caplog.text
    assert "notes.txt" not in caplog.text  # not selected: not reported either


def test_a_tree_download_leaves_out_every_object_it_cannot_read(session, irods_emulator, tmp_path) -> None:
    handle = instrument_run(session, irods_emulator)
    report = download_files(session, RUN, tmp_path)
    assert {name for name, (status, _) in outcomes(report).items() if status is FileStatus.SKIPPED} == {
        "c.h5",
        "d.h5",
        "notes.txt",
    }
    assert local_files(tmp_path) == {"a.h5": b"complete a", "sub/b.h5": b"complete b"}
    session.data_objects.parallel_write_shutdown(handle)  # the write closes: the next run takes it
    again = download_files(session, f"{RUN}/c.h5", tmp_path / "next")
    assert [f.status for f in again.files] == [FileStatus.TRANSFERRED]


def test_an_object_named_by_itself_still_raises(session, irods_emulator, tmp_path) -> None:
    instrument_run(session, irods_emulator)
    with pytest.raises(IrodsLockedError) as caught:
        download_files(session, f"{RUN}/c.h5", tmp_path)
    assert caught.value.path == f"{RUN}/c.h5"
    with pytest.raises(IrodsLockedError):
        download_files(session, [f"{RUN}/a.h5", f"{RUN}/c.h5"], tmp_path)
    assert local_files(tmp_path) == {}


def test_a_write_that_starts_after_the_plan_leaves_that_file_out(
    session, irods_emulator, tmp_path, monkeypatch
) -> None:
    from irods_provider.client.transfer import _local

    instrument_run(session, irods_emulator)
    download_object = _local.download_object

    def rewritten_meanwhile(s: Any, source: str, *args: Any, **kwargs: Any) -> Any:
        if source == f"{RUN}/a.h5":
            being_written(session, source, b"a rewrite")
        return download_object(s, source, *args, **kwargs)

    monkeypatch.setattr(_local, "download_object", rewritten_meanwhile)
    report = download_files(session, f"{RUN}/*.h5", tmp_path, glob=True)
    assert outcomes(report)["a.h5"] == (FileStatus.SKIPPED, BEING_WRITTEN)
    assert local_files(tmp_path) == {}


def test_fsspec_get_of_a_tree_leaves_out_what_it_cannot_read(session, irods_emulator, tmp_path) -> None:
    from irods_provider.fs import IrodsFileSystem

    instrument_run(session, irods_emulator)
    fs = IrodsFileSystem(
        base_url=irods_emulator.base_url, username="rods", password="rods-emulator", skip_instance_cache=True
    )
    try:
        fs.get(RUN, str(tmp_path / "tree"), recursive=True)
        assert local_files(tmp_path / "tree") == {"a.h5": b"complete a", "sub/b.h5": b"complete b"}
        fs.get(f"{RUN}/*.h5", str(tmp_path / "glob") + "/")
        assert local_files(tmp_path / "glob") == {"a.h5": b"complete a"}
        with pytest.raises(IrodsLockedError):
            fs.get(f"{RUN}/c.h5", str(tmp_path / "one.h5"))
        with pytest.raises(IrodsLockedError):
            fs.get_file(f"{RUN}/c.h5", str(tmp_path / "one.h5"))
    finally:
        fs.close_session()
