"""Replacing a file on an SFTP server without ``posix-rename@openssh.com`` never loses the old file.

Plain SFTP RENAME never replaces (draft-ietf-secsh-filexfer-02 section 6.5: "It is an error if there
already exists a file with the name specified by newpath"; OpenSSH sftp-server.c ``process_rename`` links
and unlinks, failing on an existing name), so the fallback renames the old file aside to a hidden
``.<name>.<random>.keep``, renames the verified temporary into place, then removes the kept file. The
embedded server refuses posix-rename as ``sftp-server -P posix-rename`` does (``process_extended``:
not advertised, SSH2_FX_PERMISSION_DENIED) and fails the renames named by their source's file name with
SSH2_FX_FAILURE, the status OpenSSH answers for a read-only directory's EROFS or a quota's EDQUOT
(sftp-server.c ``errno_to_portable``, V_9_2).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from irods_provider.exceptions import IrodsOverwriteIncompleteError
from irods_provider.sftp._io import publish_atomically
from irods_provider.sftp._session import open_sftp_session, server_offers
from irods_provider.testing.sftp import EmbeddedSftpServer, airflow_connection_json, paramiko_client
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

HOME = "/tempZone/home/rods"


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedSftpServer]:
    with EmbeddedSftpServer() as embedded:
        yield embedded


@pytest.fixture
def no_posix_rename(server: EmbeddedSftpServer) -> Iterator[EmbeddedSftpServer]:
    server.inject(refuse_posix_rename=True)
    yield server
    server.inject()


def _put(server: EmbeddedSftpServer, relative: str, data: bytes) -> None:
    path = server.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _names(server: EmbeddedSftpServer, relative: str) -> list[str]:
    return sorted(p.name for p in (server.root / relative).iterdir())


def test_the_embedded_server_refuses_posix_rename_as_openssh_does(no_posix_rename: Any) -> None:
    _put(no_posix_rename, "probe/a", b"a")
    _put(no_posix_rename, "probe/b", b"b")
    with paramiko_client(no_posix_rename) as ssh:
        transport = ssh.get_transport()
        assert transport is not None
        sftp: Any = open_sftp_session(transport)
        sftp.normalize(".")
        assert server_offers(sftp, "posix-rename@openssh.com") is False
        with pytest.raises(PermissionError):
            sftp.posix_rename("probe/a", "probe/b")
        sftp.close()
    assert (no_posix_rename.root / "probe/b").read_bytes() == b"b"


def test_a_replacing_publish_leaves_no_kept_copy(no_posix_rename: Any) -> None:
    _put(no_posix_rename, "ok/final.bin", b"old")
    with (
        paramiko_client(no_posix_rename) as ssh,
        publish_atomically(ssh.open_sftp(), "ok/final.bin") as writer,
    ):
        writer.write(b"new bytes")
    assert _names(no_posix_rename, "ok") == ["final.bin"]
    assert (no_posix_rename.root / "ok/final.bin").read_bytes() == b"new bytes"


def test_a_rename_failing_after_the_old_file_was_moved_aside_puts_it_back(no_posix_rename: Any) -> None:
    """The temporary's rename onto the final name fails: the old bytes are at the final name again, the
    temporary is gone and nothing is left aside."""
    _put(no_posix_rename, "fail/final.bin", b"old bytes")
    no_posix_rename.inject(refuse_posix_rename=True, fail_renames_of=("*.part",))
    with (
        paramiko_client(no_posix_rename) as ssh,
        pytest.raises(OSError, match="Failure"),
        publish_atomically(ssh.open_sftp(), "fail/final.bin") as writer,
    ):
        writer.write(b"new bytes")
    assert no_posix_rename.injected_faults()["failed_renames"] >= 1
    assert (no_posix_rename.root / "fail/final.bin").read_bytes() == b"old bytes"
    assert _names(no_posix_rename, "fail") == ["final.bin"]


def test_an_old_file_that_cannot_be_put_back_is_named(no_posix_rename: Any) -> None:
    """Even the rename back fails: a typed error names where the old bytes are kept, and they are there."""
    _put(no_posix_rename, "kept/final.bin", b"old bytes")
    no_posix_rename.inject(refuse_posix_rename=True, fail_renames_of=("*.part", "*.keep"))
    with (
        paramiko_client(no_posix_rename) as ssh,
        pytest.raises(IrodsOverwriteIncompleteError) as caught,
        publish_atomically(ssh.open_sftp(), "kept/final.bin") as writer,
    ):
        writer.write(b"new bytes")
    backup = caught.value.backup
    assert caught.value.path == "kept/final.bin"
    assert backup.startswith("kept/.final.bin.")
    assert backup.endswith(".keep")
    assert backup in str(caught.value)
    assert (no_posix_rename.root / backup).read_bytes() == b"old bytes"


def _down(path: str) -> dict[str, Any]:
    operator = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/{path}",
        destination_path=path,
        overwrite=True,
    )
    return dict(operator.execute({}))


def _unput_back(
    server: EmbeddedSftpServer, session: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, bytes]:
    """A first attempt whose rename and put-back both fail: the old file is only at its kept name."""
    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(server))
    session.collections.create(f"{HOME}/retry", exist_ok=True)
    data = os.urandom(5000)
    session.data_objects.write(f"{HOME}/retry/a.bin", data)
    _put(server, "retry/a.bin", b"old bytes")
    server.inject(refuse_posix_rename=True, fail_renames_of=("*.irods-part-*", "*.keep"))
    with pytest.raises(IrodsOverwriteIncompleteError, match=r"retry/\.a\.bin\.[0-9a-f]+\.keep"):
        _down("retry/a.bin")
    (kept,) = [n for n in _names(server, "retry") if n.endswith(".keep")]
    assert (server.root / "retry" / kept).read_bytes() == b"old bytes"
    assert "a.bin" not in _names(server, "retry")
    return kept, data


def test_the_next_attempt_removes_the_kept_copy_once_the_new_file_is_in_place(
    no_posix_rename: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old file an attempt could not put back is recorded; the retry publishes and leaves no copy."""
    _kept, data = _unput_back(no_posix_rename, session, monkeypatch)
    no_posix_rename.inject(refuse_posix_rename=True)
    assert _down("retry/a.bin")["transferred"] == 1
    assert _names(no_posix_rename, "retry") == ["a.bin"]
    assert (no_posix_rename.root / "retry/a.bin").read_bytes() == data


def test_the_next_attempt_puts_the_kept_file_back_before_it_copies(
    no_posix_rename: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry puts the old file back first, so when its own rename fails too the old bytes are at the
    final name again."""
    _unput_back(no_posix_rename, session, monkeypatch)
    no_posix_rename.inject(refuse_posix_rename=True, fail_renames_of=("*.irods-part-*",))
    with pytest.raises(Exception, match=r"retry/a\.bin"):
        _down("retry/a.bin")
    assert _names(no_posix_rename, "retry") == ["a.bin"]
    assert (no_posix_rename.root / "retry/a.bin").read_bytes() == b"old bytes"


def test_a_link_planted_at_the_kept_name_is_never_put_back(
    no_posix_rename: Any, session: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Someone swaps the kept file for a symlink before the retry: it is not renamed onto the final name."""
    kept, data = _unput_back(no_posix_rename, session, monkeypatch)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"not ours")
    (no_posix_rename.root / "retry" / kept).unlink()
    (no_posix_rename.root / "retry" / kept).symlink_to(elsewhere)
    no_posix_rename.inject(refuse_posix_rename=True)
    assert _down("retry/a.bin")["transferred"] == 1
    final = no_posix_rename.root / "retry/a.bin"
    assert not final.is_symlink()
    assert final.read_bytes() == data
    assert elsewhere.read_bytes() == b"not ours"


def test_an_overwriting_download_whose_rename_fails_keeps_the_old_file(
    no_posix_rename: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the operator (the staging sink's publish): the file fails, the old bytes stay in place."""
    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(no_posix_rename))
    session.data_objects.write(f"{HOME}/new.bin", os.urandom(5000))
    _put(no_posix_rename, "op/new.bin", b"old bytes")
    no_posix_rename.inject(refuse_posix_rename=True, fail_renames_of=("*.irods-part-*",))
    with pytest.raises(Exception, match=r"op/new\.bin"):
        IrodsToSFTPOperator(
            task_id="down",
            sftp_conn_id="cluster",
            source_path=f"{HOME}/new.bin",
            destination_path="op/new.bin",
            overwrite=True,
        ).execute({})
    assert (no_posix_rename.root / "op/new.bin").read_bytes() == b"old bytes"
    assert _names(no_posix_rename, "op") == ["new.bin"]
