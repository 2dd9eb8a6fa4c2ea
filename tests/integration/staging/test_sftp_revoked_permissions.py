"""Permissions taken away on the HPC side while files are staged, against Debian's sshd as a non-root user.

The kernel refuses the login user (``EACCES``), and OpenSSH's sftp-server answers
``SSH2_FX_PERMISSION_DENIED`` (openssh-portable sftp-server.c ``errno_to_portable``: EPERM, EACCES). Each
case must fail typed, naming the SFTP path that was refused, and leave the next attempt able to finish: a
temporary this task made is resumed or removed then, never left forever. As root the kernel refuses
nothing, so the embedded server (which serves as the test process) cannot play these; without sshd they
skip.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from irods_provider.exceptions import IrodsPermissionError
from irods_provider.testing.sftp import OpenSshServer, airflow_connection_json
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

pytestmark = [pytest.mark.openssh, pytest.mark.timeout(120)]

HOME = "/tempZone/home/rods"
KIB = 1024


@pytest.fixture(scope="module")
def sftp_server() -> Iterator[OpenSshServer]:
    """Debian's sshd with a throwaway non-root login user (the staging ``remote`` fixture's server)."""
    reason = OpenSshServer.unavailable_reason()
    if reason is not None:
        pytest.skip(f"OpenSSH variant skipped: {reason}")
    with OpenSshServer() as server:
        yield server


def down(**kwargs):
    kwargs.setdefault("chunk_size", 64 * KIB)
    return IrodsToSFTPOperator(task_id="down", sftp_conn_id="cluster", **kwargs).execute({})


def _objects(session, **files: bytes) -> None:
    session.collections.create(f"{HOME}/src", exist_ok=True)
    for name, data in files.items():
        session.data_objects.write(f"{HOME}/src/{name}.bin", data)


def _target(remote):
    target = remote.dir / "dst"
    target.mkdir()
    os.chown(target, remote.server.root.stat().st_uid, remote.server.root.stat().st_gid)
    return target


def test_a_temporary_made_unreadable_before_its_check_is_typed_and_replaced_by_the_next_attempt(
    remote, session, monkeypatch
) -> None:
    """``chmod 0`` on the hidden temporary (by its owner's other job, or an admin) before it is read back:
    the error names the temporary, and the retry, which can no longer open it to resume, removes it and
    writes a new one instead of failing the same way on every attempt."""
    from irods_provider.sftp._sink import SftpStagingSink

    data = os.urandom(512 * KIB)  # several writes, read back over SFTP (not in the close's round trip)
    _objects(session, a=data)
    target = _target(remote)
    check = SftpStagingSink.verify

    def revoked(self, sha256_hex):
        for temporary in target.glob(".a.bin.irods-part-*"):
            temporary.chmod(0)
        return check(self, sha256_hex)

    monkeypatch.setattr(SftpStagingSink, "verify", revoked)
    with pytest.raises(IrodsPermissionError) as caught:
        down(source_path=f"{HOME}/src", destination_path=remote.path("dst"))
    assert "/dst/.a.bin.irods-part-" in str(caught.value.path)
    assert "SSH_FX_PERMISSION_DENIED" in str(caught.value)
    assert not (target / "a.bin").exists()

    monkeypatch.setattr(SftpStagingSink, "verify", check)
    report = down(source_path=f"{HOME}/src", destination_path=remote.path("dst"))
    assert report["transferred"] == 1
    assert [p.name for p in target.iterdir()] == ["a.bin"]  # the unreadable temporary is gone
    assert (target / "a.bin").read_bytes() == data


def test_an_unreadable_file_at_the_final_name_under_the_checksum_skip_is_typed_naming_it(
    remote, session
) -> None:
    """Another user's private file of the same size at the final name: ``skip="checksum"`` must read it to
    compare, is refused, and says which SFTP file (not the iRODS source); the other file still lands."""
    data, other = os.urandom(200 * KIB), os.urandom(3 * KIB)
    _objects(session, a=data, b=other)
    target = _target(remote)
    foreign = target / "a.bin"
    foreign.write_bytes(b"r" * len(data))  # owned by root, the other user here
    foreign.chmod(0o600)
    with pytest.raises(IrodsPermissionError) as caught:
        down(source_path=f"{HOME}/src", destination_path=remote.path("dst"), skip="checksum")
    assert str(caught.value.path).endswith("/dst/a.bin")
    assert "SSH_FX_PERMISSION_DENIED" in str(caught.value)
    assert foreign.read_bytes() == b"r" * len(data)
    assert sorted(p.name for p in target.iterdir()) == ["a.bin", "b.bin"]
    assert (target / "b.bin").read_bytes() == other


def test_a_temporary_left_in_a_directory_made_read_only_is_removed_by_the_next_attempt(
    remote, session, monkeypatch, caplog
) -> None:
    """Write permission on the target directory taken away before the rename (``resume=False``): the
    temporary cannot be published nor removed. It is said, and kept on record, so the next attempt,
    once the directory is writable again, removes it instead of leaving a hidden orphan for good."""
    from irods_provider.sftp import _sink

    data = os.urandom(2 * 1024 * KIB)
    _objects(session, a=data)
    target = _target(remote)
    rename = _sink.publish

    def revoked(client, temp, final, **kwargs):
        target.chmod(0o555)
        return rename(client, temp, final, **kwargs)

    monkeypatch.setattr(_sink, "publish", revoked)
    caplog.set_level(logging.WARNING, logger=_sink.__name__)
    try:
        with pytest.raises(IrodsPermissionError) as caught:
            down(source_path=f"{HOME}/src", destination_path=remote.path("dst"), resume=False)
        (left,) = target.glob(".a.bin.irods-part-*")
    finally:
        target.chmod(0o755)
    assert str(caught.value.path).endswith("/dst/a.bin")
    assert any(left.name in r.getMessage() for r in caplog.records), "the leftover is not reported"

    monkeypatch.setattr(_sink, "publish", rename)
    report = down(source_path=f"{HOME}/src", destination_path=remote.path("dst"), resume=False)
    assert report["transferred"] == 1
    assert [p.name for p in target.iterdir()] == ["a.bin"]
    assert (target / "a.bin").read_bytes() == data


def test_another_users_file_in_a_sticky_directory_is_refused_before_any_byte_is_copied(
    remote, session
) -> None:
    """A shared scratch directory (root's, mode 1777) holding another user's file at the final name: the
    kernel lets only the file's or the directory's owner replace it (rename(2) EPERM, Linux fs/namei.c
    ``check_sticky``), so ``overwrite=True`` fails typed, naming it, before copying: no temporary is left
    in the shared directory (it was, fully written, after a wasted copy), and the other file lands."""
    data, other = os.urandom(300 * KIB), os.urandom(3 * KIB)
    _objects(session, a=data, b=other)
    shared = remote.dir / "scratch"
    shared.mkdir()
    shared.chmod(0o1777)  # owned by root, as /scratch is
    foreign = shared / "a.bin"
    foreign.write_bytes(b"root's")
    with pytest.raises(IrodsPermissionError) as caught:
        down(source_path=f"{HOME}/src", destination_path=remote.path("scratch"), overwrite=True)
    assert str(caught.value.path).endswith("/scratch/a.bin")
    assert "sticky" in str(caught.value)
    assert foreign.read_bytes() == b"root's"
    assert sorted(p.name for p in shared.iterdir()) == ["a.bin", "b.bin"]  # no hidden temporary
    assert (shared / "b.bin").read_bytes() == other


@pytest.fixture(scope="module")
def without_posix_rename() -> Iterator[OpenSshServer]:
    """Debian's sshd refusing posix-rename (``internal-sftp -P posix-rename``, as some sites run it)."""
    with OpenSshServer(sftp_subsystem="internal-sftp -P posix-rename") as server:
        yield server


def test_a_replacing_publish_without_posix_rename_says_it_is_not_atomic(
    without_posix_rename, session, monkeypatch, caplog
) -> None:
    """Without posix-rename an overwrite removes the old file and renames: never a partial file at the final
    name, but the name is briefly absent. The task log says so, naming the file."""
    from irods_provider.sftp import _io

    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(without_posix_rename))
    data = os.urandom(300 * KIB)
    _objects(session, a=data)
    root = without_posix_rename.root
    out = root / "over"
    out.mkdir()
    (out / "a.bin").write_bytes(b"old")
    os.chown(out, root.stat().st_uid, root.stat().st_gid)
    os.chown(out / "a.bin", root.stat().st_uid, root.stat().st_gid)
    caplog.set_level(logging.WARNING, logger=_io.__name__)
    down(source_path=f"{HOME}/src/a.bin", destination_path="over/a.bin", overwrite=True)
    assert [p.name for p in out.iterdir()] == ["a.bin"]
    assert (out / "a.bin").read_bytes() == data
    said = [r.getMessage() for r in caplog.records if "posix-rename" in r.getMessage()]
    assert said, "the fallback is not said"
    assert "over/a.bin" in said[0]
    assert "not atomic" in said[0]
