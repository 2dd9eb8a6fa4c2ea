"""A live SFTP server's answers are its errors, typed and naming the file, never a lost connection retried:
a full disk (a real tmpfs, ``SSH_FX_FAILURE``), a name too long for a temporary, a file truncated while it
is read, permissions; and what each failure leaves behind."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from irods_provider.exceptions import (
    IrodsNotFoundError,
    IrodsPermissionError,
    IrodsSftpConnectionError,
    IrodsSftpFileError,
)
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

pytestmark = pytest.mark.timeout(90)

HOME = "/tempZone/home/rods"
KIB = 1024


def up(**kwargs):
    return SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", chunk_size=64 * KIB, **kwargs).execute(
        {}
    )


def down(**kwargs):
    return IrodsToSFTPOperator(task_id="down", sftp_conn_id="cluster", chunk_size=64 * KIB, **kwargs).execute(
        {}
    )


@pytest.fixture
def full_disk(remote) -> Iterator[Path]:
    """The remote ``dst`` directory on a 1 MiB tmpfs the login user owns (needs root and ``mount``)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    target = remote.dir / "dst"
    target.mkdir()
    owner = remote.server.root.stat()
    options = f"size=1m,uid={owner.st_uid},gid={owner.st_gid}"
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], check=False)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_full_disk_is_the_servers_error_not_a_lost_connection(
    remote, session, full_disk, monkeypatch
) -> None:
    from irods_provider.sftp import SftpEndpoint

    losses: list[object] = []
    judge = SftpEndpoint.lost_connections

    def recording(self, exc, used):
        lost = judge(self, exc, used)
        if lost is not None:
            losses.append(exc)
        return lost

    monkeypatch.setattr(SftpEndpoint, "lost_connections", recording)
    session.collections.create(f"{HOME}/src", exist_ok=True)
    session.data_objects.write(f"{HOME}/src/b.bin", os.urandom(2 * 1024 * KIB))
    with pytest.raises(IrodsSftpFileError) as caught:
        down(source_path=f"{HOME}/src", destination_path=remote.path("dst"), sftp_retries=3)
    assert not isinstance(caught.value, IrodsSftpConnectionError)
    assert "disk full" in str(caught.value)
    assert ".b.bin.irods-part-" in str(caught.value.path)
    assert losses == [], "retried as a lost connection"
    assert os.listdir(full_disk) == []  # the partial temporary is not left on the full disk


@pytest.mark.parametrize("length", [226, 255])
def test_a_final_name_up_to_255_bytes_is_written_through_a_shortened_temporary(
    remote, session, length
) -> None:
    """``.<name>.irods-part-<16 hex>`` would exceed 255 bytes: the temporary's name is shortened (with a
    digest of the final name), so the server accepts it and the file lands under its own name."""
    name = "é" * 10 + "n" * (length - 20)  # multi-byte characters: the limit is in bytes
    assert len(name.encode()) == length
    data = os.urandom(300 * KIB)  # several chunks: a parallel writer over two connections
    session.collections.create(f"{HOME}/long", exist_ok=True)
    session.data_objects.write(f"{HOME}/long/{name}", data)
    report = down(
        source_path=f"{HOME}/long/{name}", destination_path=remote.path("back/"), sftp_connections=2
    )
    assert report["transferred"] == 1
    assert remote.files("back") == {name: data}


@pytest.fixture
def unprivileged(remote) -> None:
    """Permissions bind only a login user other than root (Debian's sshd runs the tests' user; the
    embedded server serves as the test process)."""
    if remote.server.root.stat().st_uid == os.geteuid() == 0:
        pytest.skip("the SFTP login user is root: permissions do not bind it")


def test_permission_answers_are_typed_naming_the_sftp_path(remote, session, unprivileged) -> None:
    session.collections.create(f"{HOME}/src", exist_ok=True)
    session.data_objects.write(f"{HOME}/src/a.bin", b"a" * 1000)
    target = remote.dir / "ro"
    target.mkdir()
    os.chown(target, remote.server.root.stat().st_uid, -1)
    target.chmod(0o555)
    secret = remote.put("up/secret.bin", b"s" * 100)
    secret.chmod(0)
    locked = remote.put("tree/locked/x.bin", b"x").parent
    remote.put("tree/a.bin", b"a")
    locked.chmod(0)
    try:
        with pytest.raises(IrodsPermissionError) as into_read_only:
            down(source_path=f"{HOME}/src", destination_path=remote.path("ro"))
        with pytest.raises(IrodsPermissionError) as unreadable:
            up(source_path=remote.path("up/secret.bin"), destination_path=f"{HOME}/x")
        with pytest.raises(IrodsPermissionError) as unlistable:
            up(source_path=remote.path("tree"), destination_path=f"{HOME}/tree", continue_on_error=True)
    finally:
        target.chmod(0o755)
        secret.chmod(0o644)
        locked.chmod(0o755)
    assert "/ro/.a.bin.irods-part-" in str(into_read_only.value.path)
    assert str(unreadable.value.path).endswith("up/secret.bin")
    assert str(unlistable.value.path).endswith("tree/locked")  # at the end: the rest of the tree went
    assert session.data_objects.read(f"{HOME}/tree/a.bin") == b"a"
    assert os.listdir(target) == []


def test_a_target_directory_swapped_for_a_link_before_the_publish_is_typed(
    remote, session, monkeypatch
) -> None:
    """The temporary's directory replaced by a symbolic link (to an empty directory) right before the
    rename: the temporary is gone there, which is said, typed, and nothing lands through the link."""
    from irods_provider.sftp import _sink

    session.collections.create(f"{HOME}/c/sub", intermediates=True, exist_ok=True)
    session.data_objects.write(f"{HOME}/c/sub/f.bin", os.urandom(200 * KIB))
    outside = remote.dir / "outside"
    outside.mkdir()
    real = _sink.publish

    def swapped(client, temp, final, **kwargs):
        sub = remote.dir / "dst" / "sub"
        sub.rename(sub.with_name("sub.old"))
        sub.symlink_to("../outside")
        return real(client, temp, final, **kwargs)

    monkeypatch.setattr(_sink, "publish", swapped)
    with pytest.raises(IrodsNotFoundError) as caught:
        down(source_path=f"{HOME}/c", destination_path=remote.path("dst"))
    assert ".f.bin.irods-part-" in str(caught.value.path)
    assert "gone before publishing" in str(caught.value)
    assert os.listdir(outside) == []


def test_a_backslash_in_an_sftp_name_is_an_ordinary_character_in_irods(remote, session) -> None:
    """POSIX and iRODS both take ``\\`` as part of a name: the tree is staged, that file included."""
    remote.put("src/ok.bin", b"ok")
    remote.put("src/a\\b.bin", b"bs")
    report = up(source_path=remote.path("src"), destination_path=f"{HOME}/bs", continue_on_error=True)
    assert report["transferred"] == 2
    assert session.data_objects.read(f"{HOME}/bs/a\\b.bin") == b"bs"
