"""Issue 17: local sources that change while they are uploaded, and symlink loops in local trees.

A file appended to, rewritten in place (same size), still growing or replaced during its upload is never
published: the upload fails with ``IrodsSourceChangedError`` naming the file and what changed, and its
temporary object is removed (nothing left for listings or downloads to pick up). ``wait_stable_seconds``
waits for a file to be quiet first. Symlinks in trees and ``**`` globs are not followed unless asked; loops
are detected, and never raise a raw ``OSError``. Against the emulator over a real socket.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from irods_provider.client import Kinds
from irods_provider.client.transfer import TransferConfig, plan_local_sources, upload_files, upload_object
from irods_provider.client.transfer import _upload as upload_module
from irods_provider.exceptions import IrodsSourceChangedError, IrodsSymlinkError

HOME = "/tempZone/home/rods"
KIB = 1024
CONFIG = TransferConfig(chunk_size=64 * KIB, streams=2, small_file_threshold=64 * KIB)
PAST = 1_600_000_000  # the file's mtime before the test touches it (files being uploaded are rarely new)


def objects(session, collection: str = HOME) -> list[str]:
    """Every data object below ``collection``, hidden temporaries included."""
    return sorted(
        e.path for e in session.collections.iterate(collection, recursive=True, kinds=Kinds.DATA_OBJECTS)
    )


def source_file(tmp_path: Path, size: int = 1024 * KIB) -> tuple[Path, bytes]:
    path = tmp_path / "job-output.h5"
    data = os.urandom(size)
    path.write_bytes(data)
    os.utime(path, (PAST, PAST))
    return path, data


def _append(path: Path) -> None:
    with path.open("ab") as fh:
        fh.write(b"more output\n" * 100)


def _rewrite_same_size(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.write(os.urandom(size))


def _replace(path: Path) -> None:
    new = path.with_name("new-version")
    new.write_bytes(os.urandom(path.stat().st_size))
    os.utime(new, (PAST, PAST))
    os.replace(new, path)


@pytest.mark.parametrize(
    ("change", "times", "expected"),
    [
        (_append, 1, "size"),
        (_append, 3, "size"),  # a job still writing: grows on every chunk
        (_rewrite_same_size, 1, "mtime"),
        (_replace, 1, "replaced"),
    ],
    ids=["append", "growth", "same-size-rewrite", "replaced"],
)
def test_a_changing_local_source_is_never_published(session, tmp_path, change, times, expected) -> None:
    path, _ = source_file(tmp_path)
    calls = []

    def on_chunk(total: int) -> None:
        calls.append(total)
        if len(calls) <= times:
            change(path)

    with pytest.raises(IrodsSourceChangedError) as caught:
        upload_object(session, path, f"{HOME}/out.h5", config=CONFIG, on_chunk=on_chunk)
    assert caught.value.path == str(path)
    assert expected in caught.value.changed
    assert calls, "the change hook never ran"
    assert objects(session) == [], "the changed source (or its temporary object) was left in iRODS"


def test_a_local_source_that_is_quiet_uploads_and_the_wait_sees_the_growth(
    session, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``wait_stable_seconds``: a file still growing while it is polled is uploaded once it is quiet."""
    path, _ = source_file(tmp_path, 300 * KIB)
    probe_of = upload_module.local_probe
    polls = []

    def growing_probe(*args, **kwargs):
        probe = probe_of(*args, **kwargs)

        def poll():
            polls.append(1)
            if len(polls) <= 3:
                _append(path)  # the job writes between polls, then stops
            return probe()

        return poll

    monkeypatch.setattr(upload_module, "local_probe", growing_probe)
    result = upload_object(session, path, f"{HOME}/stable.h5", config=CONFIG, wait_stable_seconds=0.2)
    assert len(polls) > 4
    final = path.read_bytes()
    assert result.size == len(final) == 300 * KIB + 3 * 1200
    assert session.data_objects.read(f"{HOME}/stable.h5") == final


def make_looping_tree(root: Path) -> None:
    """Real files plus every kind of loop: to itself, to its parent, a two-link cycle, a self-link."""
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "a.csv").write_bytes(b"a")
    (root / "sub" / "b.csv").write_bytes(b"bb")
    (root / "sub" / "deep" / "c.csv").write_bytes(b"ccc")
    (root / "loop").symlink_to(".")
    (root / "sub" / "up").symlink_to("..")
    (root / "sub" / "deep" / "top").symlink_to(root)
    (root / "x").symlink_to("y")
    (root / "y").symlink_to("x")
    (root / "self").symlink_to("self")
    (root / "dangling.csv").symlink_to("nowhere.csv")


REAL = ["a.csv", "sub/b.csv", "sub/deep/c.csv"]


def test_symlink_loops_in_a_local_tree_are_not_followed(tmp_path) -> None:
    root = tmp_path / "tree"
    make_looping_tree(root)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "o.csv").write_bytes(b"o")
    (root / "ext").symlink_to(tmp_path / "outside")
    (root / "link.csv").symlink_to("a.csv")

    def relative(plan) -> list[str]:
        return [p.destination.removeprefix(f"{HOME}/d/") for p in plan]

    assert relative(plan_local_sources(root, f"{HOME}/d")) == REAL
    assert relative(plan_local_sources(str(root / "**" / "*.csv"), f"{HOME}/d", glob=True)) == REAL
    followed = relative(plan_local_sources(root, f"{HOME}/d", follow_symlinks=True))
    assert followed == ["a.csv", "ext/o.csv", "link.csv", "sub/b.csv", "sub/deep/c.csv"]
    globbed = relative(
        plan_local_sources(str(root / "**" / "*.csv"), f"{HOME}/d", follow_symlinks=True, glob=True)
    )
    assert globbed == followed


def test_a_tree_with_symlink_loops_uploads_its_real_files(session, tmp_path) -> None:
    root = tmp_path / "tree"
    make_looping_tree(root)
    report = upload_files(session, root, f"{HOME}/looped", config=CONFIG)
    assert report.transferred == 3
    assert objects(session) == [f"{HOME}/looped/{r}" for r in REAL]
    assert session.data_objects.read(f"{HOME}/looped/sub/deep/c.csv") == b"ccc"


def test_a_symlink_named_as_the_source_is_refused_unless_followed(session, tmp_path) -> None:
    path, data = source_file(tmp_path, 10 * KIB)
    link = tmp_path / "latest.h5"
    link.symlink_to(path)
    with pytest.raises(IrodsSymlinkError) as caught:
        upload_object(session, link, f"{HOME}/latest.h5", config=CONFIG)
    assert caught.value.path == str(link)
    with pytest.raises(IrodsSymlinkError):
        upload_files(session, [link], f"{HOME}/l", config=CONFIG)
    assert objects(session) == []
    upload_object(session, link, f"{HOME}/latest.h5", config=CONFIG, follow_symlinks=True)
    assert session.data_objects.read(f"{HOME}/latest.h5") == data


class _ChangesMidRead:
    """A stream whose reader notices, after ``at`` bytes, that its source changed (as a range reader does
    when it opens a file that grew since the first handle): it raises IrodsSourceChangedError mid-copy."""

    def __init__(self, data: bytes, at: int) -> None:
        self.data, self.at, self.offset = data, at, 0
        self.name = "/cluster/jobs/out.h5"

    def read(self, n: int = -1) -> bytes:
        if self.offset >= self.at:
            raise IrodsSourceChangedError(
                "a range reader opened another file", changed="size", path=self.name
            )
        chunk = self.data[self.offset : self.offset + (n if n >= 0 else len(self.data))]
        self.offset += len(chunk)
        return chunk


def test_a_change_seen_mid_read_removes_the_temporary_instead_of_keeping_it_for_resume(session) -> None:
    """The temporary holds a prefix of a version that no longer exists: nothing may resume from it."""
    data = os.urandom(640 * KIB)
    with pytest.raises(IrodsSourceChangedError, match="another file"):
        upload_object(
            session,
            _ChangesMidRead(data, 256 * KIB),  # type: ignore[arg-type]
            f"{HOME}/mid-read.h5",
            config=CONFIG,
            size=len(data),
            resume_key="mid-read-key",
        )
    assert objects(session) == [], "a temporary of a changed source was kept"
