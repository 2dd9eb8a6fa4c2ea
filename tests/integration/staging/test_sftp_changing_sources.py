"""Issue 17: SFTP sources that change while they are staged into iRODS, and symlinks in SFTP trees.

A remote file still being written by a cluster job (growing), appended to, or rewritten in place (same size)
during ``SFTPToIrodsOperator`` is never published: the task fails with ``IrodsSourceChangedError`` naming the
file and what changed, and no object (final or temporary) is left in iRODS. The change is seen by ``stat`` of
the open handle after the last read (SFTP mtimes have whole-second resolution, so the test files start with
an old mtime, as job outputs being staged usually have). ``wait_stable_seconds`` waits for a quiet file.
Against the embedded asyncssh server and Debian's sshd.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from irods_provider.client import Kinds
from irods_provider.exceptions import IrodsSourceChangedError
from irods_provider.sftp import _ranged
from irods_provider.transfers import sftp_to_irods
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

HOME = "/tempZone/home/rods"
KIB = 1024
CHUNK = 64 * KIB
PAST = 1_600_000_000


def up(**kwargs):
    kwargs.setdefault("chunk_size", CHUNK)
    return SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", **kwargs).execute({})


def objects(session, collection: str = HOME) -> list[str]:
    """Every data object below ``collection``, hidden temporaries included."""
    return sorted(
        e.path for e in session.collections.iterate(collection, recursive=True, kinds=Kinds.DATA_OBJECTS)
    )


def _append(path: Path) -> None:
    with path.open("ab") as fh:
        fh.write(b"x" * 1000)


def _rewrite_same_size(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.write(os.urandom(size))


def _losses(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every failure the SFTP endpoint took for a lost connection (and retried)."""
    from irods_provider.sftp import SftpEndpoint

    seen: list[object] = []
    judge = SftpEndpoint.lost_connections

    def recording(self, exc, used):
        lost = judge(self, exc, used)
        if lost is not None:
            seen.append(exc)
        return lost

    monkeypatch.setattr(SftpEndpoint, "lost_connections", recording)
    return seen


def _change_on_chunk(monkeypatch: pytest.MonkeyPatch, path: Path, change, times: int) -> list[int]:
    """Make the staged upload call ``change(path)`` after each of its first ``times`` chunks."""
    calls: list[int] = []
    upload = sftp_to_irods.upload_object

    def on_chunk(total: int) -> None:
        calls.append(total)
        if len(calls) <= times:
            change(path)

    monkeypatch.setattr(sftp_to_irods, "upload_object", functools.partial(upload, on_chunk=on_chunk))
    return calls


@pytest.mark.parametrize(
    ("change", "times", "readers", "expected"),
    [
        (_append, 1, 1, "size"),
        (_append, 4, 1, "size"),  # a cluster job still writing
        (_append, 4, 3, "size"),  # the same through parallel range readers
        (_rewrite_same_size, 1, 1, "mtime"),
    ],
    ids=["append", "growth", "growth-range-readers", "same-size-rewrite"],
)
def test_a_changing_sftp_source_is_never_published(
    remote, session, monkeypatch, change, times, readers, expected
) -> None:
    path = remote.put("jobs/out.h5", os.urandom(1024 * KIB))
    os.utime(path, (PAST, PAST))
    remote.put("jobs/done.txt", b"finished")
    calls = _change_on_chunk(monkeypatch, path, change, times)
    with pytest.raises(IrodsSourceChangedError) as caught:
        up(
            source_path=remote.path("jobs/out.h5"),
            destination_path=f"{HOME}/staged.h5",
            sftp_range_readers=readers,
        )
    assert caught.value.path.endswith("jobs/out.h5")
    assert expected in caught.value.changed
    # One reader reads to the end and checks there, after every change. Parallel range readers check when
    # each opens its range too, so one that opens after the first change may stop the copy right there.
    assert len(calls) >= (times if readers == 1 else 1)
    assert objects(session) == [], "a changed source (or its temporary object) reached iRODS"


def test_wait_stable_seconds_stages_a_job_output_once_it_is_quiet(remote, session, monkeypatch) -> None:
    path = remote.put("jobs/out.h5", os.urandom(200 * KIB))
    os.utime(path, (PAST, PAST))
    probe_of = _ranged.sftp_probe
    polls: list[int] = []

    def growing_probe(*args, **kwargs):
        probe = probe_of(*args, **kwargs)

        def poll():
            polls.append(1)
            if len(polls) <= 3:
                _append(path)  # the job writes between polls, then finishes
            return probe()

        return poll

    monkeypatch.setattr(_ranged, "sftp_probe", growing_probe)
    report = up(
        source_path=remote.path("jobs/out.h5"), destination_path=f"{HOME}/stable.h5", wait_stable_seconds=0.2
    )
    assert len(polls) > 4
    final = path.read_bytes()
    assert len(final) == 200 * KIB + 3000
    assert report["transferred"] == 1
    assert report["bytes"] == len(final)
    assert session.data_objects.read(f"{HOME}/stable.h5") == final


def test_sftp_tree_symlinks_are_skipped_unless_followed_and_loops_detected(remote, session) -> None:
    remote.put("src/a.txt", b"a")
    remote.put("src/sub/b.txt", b"bb")
    remote.put("elsewhere/e.txt", b"eee")
    base = remote.dir / "src"
    (base / "loop").symlink_to(".")
    (base / "sub" / "up").symlink_to("..")
    (base / "link.txt").symlink_to("a.txt")
    (base / "ext").symlink_to("../elsewhere")
    (base / "self").symlink_to("self")
    report = up(source_path=remote.path("src"), destination_path=f"{HOME}/plain")
    assert sorted(f["destination"] for f in report["files"]) == [
        f"{HOME}/plain/a.txt",
        f"{HOME}/plain/sub/b.txt",
    ]
    report = up(source_path=remote.path("src/**/*.txt"), glob=True, destination_path=f"{HOME}/globbed")
    assert report["transferred"] == 2
    report = up(source_path=remote.path("src"), destination_path=f"{HOME}/followed", follow_symlinks=True)
    assert sorted(f["destination"].removeprefix(f"{HOME}/followed/") for f in report["files"]) == [
        "a.txt",
        "ext/e.txt",
        "link.txt",
        "sub/b.txt",
    ]
    assert session.data_objects.read(f"{HOME}/followed/link.txt") == b"a"
    assert session.data_objects.read(f"{HOME}/followed/ext/e.txt") == b"eee"


def test_the_check_after_the_last_read_asks_the_handle_and_the_path_in_one_round_trip(
    remote, monkeypatch
) -> None:
    """The handle's ``fstat`` and the path's ``lstat`` go out together: one round trip per file."""
    import sys

    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from irods_provider.sftp import SftpEndpoint
    from irods_provider.sftp._integrity import SftpState, source_change

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
    from sftp_wire import SftpWire

    remote.put("src/f.bin", b"x" * 1000)
    with SftpEndpoint(SFTPHook(ssh_conn_id="cluster")) as sftp, sftp.channel() as client:
        path = sftp.resolve(remote.path("src/f.bin"))
        handle = client.open(path, "rb")
        opened = SftpState.of(handle.stat())
        wire = SftpWire().install(monkeypatch)
        assert source_change(client, handle, path, opened) is None
        first = os.stat(remote.dir / "src" / "f.bin")
        replacement = remote.put("src/g.bin", b"y" * 1001)
        # The same mtime: only the size differs, whichever second the replacement lands in.
        os.utime(replacement, ns=(first.st_atime_ns, first.st_mtime_ns))
        os.replace(replacement, remote.dir / "src" / "f.bin")  # the handle keeps the old
        assert source_change(client, handle, path, opened) == "replaced at its path (size 1000 -> 1001)"
        handle.close()
        waves = wire.waves(id(client), until="close")
    assert [sorted(request.split(" ", 1)[0] for request in wave) for wave in waves] == [
        ["fstat", "lstat"]
    ] * 2


def test_a_small_sources_handle_is_checked_in_the_round_trip_of_its_first_reads(
    remote, irods, monkeypatch
) -> None:
    """The open handle's ``fstat`` (it must be the file listed and ``lstat``-ed) goes out with the first
    reads, not in a round trip of its own; its bytes count only once it matched (the swap tests above)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
    from sftp_wire import SftpWire

    remote.put("src/f.bin", os.urandom(3000))
    wire = SftpWire().install(monkeypatch)
    report = SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=remote.path("src/f.bin"),
        destination_path=f"{HOME}/w.bin",
    ).execute({})
    assert report["transferred"] == 1
    waves = [
        sorted({request.split(" ", 1)[0] for request in wave})
        for client in wire.clients()
        for wave in wire.waves(client, until="close")
    ]
    assert ["fstat", "read"] in waves, waves
    assert ["fstat"] not in waves, waves


@pytest.mark.parametrize("readers", [1, 3], ids=["one-reader", "range-readers"])
def test_a_source_truncated_while_read_is_a_changed_source_not_a_lost_connection(
    remote, session, monkeypatch, readers
) -> None:
    """The live server answers the reads past the new end with end-of-file: the file changed (never
    retried as a lost channel), and no temporary object is left for a later run to trip over."""
    path = remote.put("jobs/out.h5", os.urandom(1024 * KIB))
    os.utime(path, (PAST, PAST))
    upload = sftp_to_irods.upload_object
    losses = _losses(monkeypatch)
    _change_on_chunk(monkeypatch, path, lambda p: os.truncate(p, 256 * KIB), 1)
    with pytest.raises(IrodsSourceChangedError) as caught:
        up(
            source_path=remote.path("jobs/out.h5"),
            destination_path=f"{HOME}/t.h5",
            sftp_range_readers=readers,
        )
    assert caught.value.path.endswith("jobs/out.h5")
    assert losses == [], "retried as a lost connection"
    assert objects(session) == []
    monkeypatch.setattr(sftp_to_irods, "upload_object", upload)
    assert up(source_path=remote.path("jobs/out.h5"), destination_path=f"{HOME}/t.h5")["transferred"] == 1
    assert objects(session) == [f"{HOME}/t.h5"]


def test_a_retry_that_finds_the_source_changed_removes_the_temporary_it_would_resume(
    remote, session, monkeypatch
) -> None:
    """The first attempt loses its connection mid-file (its temporary kept for the retry to resume); the
    file changes meanwhile, so the retry refuses it as it opens: that temporary goes too."""
    import paramiko

    path = remote.put("jobs/out.h5", os.urandom(1024 * KIB))
    os.utime(path, (PAST, PAST))

    def drop_after_change(p: Path) -> None:
        _append(p)
        raise paramiko.SSHException("the SSH connection dropped (injected)")

    _change_on_chunk(monkeypatch, path, drop_after_change, 3)
    with pytest.raises(IrodsSourceChangedError):
        up(source_path=remote.path("jobs/out.h5"), destination_path=f"{HOME}/r.h5", sftp_range_readers=1)
    assert objects(session) == [], "the first attempt's temporary object was left behind"
