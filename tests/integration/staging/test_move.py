"""``move=True`` on the SFTP and iRODS sides: sources removed after verified copies (iRODS ones with no_trash
unless ``trash=True``), emptied directories and collections below the source root removed, and a source
that changed after its copy kept."""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsAlreadyExistsError
from irods_provider.sftp import _sink as sftp_sink
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
TRASH = "/tempZone/trash/home/rods"


def up(**kwargs):
    return SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", **kwargs).execute({})


def down(**kwargs):
    return IrodsToSFTPOperator(task_id="down", sftp_conn_id="cluster", **kwargs).execute({})


def dirs(root) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir())


def test_sftp_tree_moved_leaves_no_emptied_directory_below_the_root(remote, session) -> None:
    remote.put("src/a.csv", b"a")
    remote.put("src/sub/b.csv", b"b")
    remote.put("src/sub/deeper/c.csv", b"c")
    remote.put("src/kept/x.csv", b"x")
    remote.put("src/kept/notes.txt", b"not selected")
    report = up(source_path=remote.path("src/**/*.csv"), glob=True, destination_path=f"{HOME}/mv", move=True)
    assert report["transferred"] == 4
    assert session.data_objects.read(f"{HOME}/mv/sub/deeper/c.csv") == b"c"
    # Moved files gone; sub/deeper and sub emptied and removed; kept/ still holds an unselected file;
    # the root the glob was taken from stays.
    assert remote.files("src") == {"kept/notes.txt": b"not selected"}
    assert dirs(remote.dir / "src") == ["kept"]


def test_a_partly_failed_move_still_removes_what_the_moved_files_emptied(remote, session) -> None:
    """One file fails (its destination exists, REFUSE): the task fails, that file's source and directory
    stay, and the directories the moved files emptied are removed all the same, both directions."""
    remote.put("src/sub/deep/a.csv", b"a")
    remote.put("src/held/b.csv", b"b")
    session.collections.create(f"{HOME}/upm/held", intermediates=True)
    session.data_objects.write(f"{HOME}/upm/held/b.csv", b"already there")
    with pytest.raises(IrodsAlreadyExistsError):
        up(source_path=remote.path("src"), destination_path=f"{HOME}/upm", move=True, continue_on_error=True)
    assert session.data_objects.read(f"{HOME}/upm/sub/deep/a.csv") == b"a"
    assert remote.files("src") == {"held/b.csv": b"b"}
    assert dirs(remote.dir / "src") == ["held"]  # sub/deep and sub emptied by the move: removed

    for rel in ("sub/deep/c.bin", "held/d.bin"):
        session.collections.create(f"{HOME}/dnm/{rel}".rsplit("/", 1)[0], intermediates=True, exist_ok=True)
        session.data_objects.write(f"{HOME}/dnm/{rel}", rel.encode())
    remote.put("got2/held/d.bin", b"already there")
    with pytest.raises(IrodsAlreadyExistsError):
        down(
            source_path=f"{HOME}/dnm", destination_path=remote.path("got2"), move=True, continue_on_error=True
        )
    assert remote.files("got2") == {"sub/deep/c.bin": b"sub/deep/c.bin", "held/d.bin": b"already there"}
    names = {e.path for e in session.collections.iterate(f"{HOME}/dnm", recursive=True)}
    assert names == {f"{HOME}/dnm/held", f"{HOME}/dnm/held/d.bin"}


def test_irods_tree_moved_with_no_trash_by_default(remote, session) -> None:
    for rel in ("a.bin", "sub/b.bin", "sub/deeper/c.bin", "other/d.bin"):
        session.collections.create(f"{HOME}/out/{rel}".rsplit("/", 1)[0], intermediates=True, exist_ok=True)
        session.data_objects.write(f"{HOME}/out/{rel}", rel.encode())
    session.data_objects.write(f"{HOME}/out/other/keep.txt", b"not selected")
    report = down(
        source_path=f"{HOME}/out/**/*.bin", glob=True, destination_path=remote.path("got"), move=True
    )
    assert report["transferred"] == 4
    assert remote.files("got") == {
        "a.bin": b"a.bin",
        "sub/b.bin": b"sub/b.bin",
        "sub/deeper/c.bin": b"sub/deeper/c.bin",
        "other/d.bin": b"other/d.bin",
    }
    names = {e.path for e in session.collections.iterate(f"{HOME}/out", recursive=True)}
    assert names == {f"{HOME}/out/other", f"{HOME}/out/other/keep.txt"}  # sub/ and sub/deeper/ removed
    assert session.collections.exists(f"{HOME}/out")  # the root stays
    # Removed for good: nothing went to the trash (quota freed).
    assert not session.collections.exists(f"{TRASH}/out")


def test_irods_move_with_trash_keeps_the_sources_in_the_trash(remote, session) -> None:
    session.collections.create(f"{HOME}/t/sub", intermediates=True)
    session.data_objects.write(f"{HOME}/t/sub/f.bin", b"to the trash")
    report = down(source_path=f"{HOME}/t", destination_path=remote.path("t"), move=True, trash=True)
    assert report["transferred"] == 1
    assert not session.data_objects.exists(f"{HOME}/t/sub/f.bin")
    assert not session.collections.exists(f"{HOME}/t/sub")
    assert session.data_objects.read(f"{TRASH}/t/sub/f.bin") == b"to the trash"


def test_irods_source_changed_after_its_copy_is_kept(remote, session, monkeypatch) -> None:
    session.collections.create(f"{HOME}/c/sub", intermediates=True)
    session.data_objects.write(f"{HOME}/c/sub/f.bin", b"version one")
    publish = sftp_sink.publish

    def rewrite_then_publish(*args, **kwargs):
        session.data_objects.write(f"{HOME}/c/sub/f.bin", b"version two!")  # after the copy was verified
        return publish(*args, **kwargs)

    monkeypatch.setattr(sftp_sink, "publish", rewrite_then_publish)
    report = down(source_path=f"{HOME}/c", destination_path=remote.path("c"), move=True)
    assert report["transferred"] == 1
    assert remote.files("c") == {"sub/f.bin": b"version one"}
    assert session.data_objects.read(f"{HOME}/c/sub/f.bin") == b"version two!"  # kept, not removed
    assert session.collections.exists(f"{HOME}/c/sub")
