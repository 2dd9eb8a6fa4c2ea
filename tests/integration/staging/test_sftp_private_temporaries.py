"""An SFTP staging temporary is private (0600) while it is written, and the published file gets the mode
a user expects: an overwritten file keeps its own, a new file gets what a plain create gives on that server.

OpenSSH's ``sftp-server`` creates a file with the OPEN's permission attribute, else 0666, through
``open(2)``, so the server's umask applies (sftp-server.c V_9_6_P1 ``process_open``; its ``-u`` sets that
umask). The temporary used to be created without the attribute (0666 less the umask: world-readable under
the usual 022) and, over an existing file, chmod-ed to that file's mode right after the create: a private
dataset was readable by everyone on a shared cluster file system while it was being written. Both servers
here run with umask 027, so a new file's expected mode (0640) is not the usual 0644: it has to be learned
from the server, and is checked against a file a plain SFTP create made on the same server.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client.transfer import OverwritePolicy, TransferConfig, download_object
from irods_provider.testing.sftp import SshTestServer, paramiko_client

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=2, chunk_size=CHUNK, retries=0, backoff_base_seconds=0.0)
SIZES = {"one-write": CHUNK - 5, "small": 5 * CHUNK + 3, "large": 24 * CHUNK + 7}  # read back / sha256sum
UMASK = SFTP_UMASK = 0o027  # both servers run under it (the conftest's sftp_server)


@pytest.fixture(params=[1, 2], ids=["1-connection", "2-connections"])
def endpoint(remote: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from irods_provider.sftp import SftpEndpoint

    with SftpEndpoint(SFTPHook(ssh_conn_id="cluster"), connections=request.param) as sftp:
        yield sftp


def plain_create_mode(server: SshTestServer, remote: Any) -> int:
    """The mode of a file a plain SFTP create (OPEN without attributes, as paramiko sends it) makes."""
    with paramiko_client(server) as client:
        sftp = client.open_sftp()
        name = remote.path("plain-create")
        with sftp.open(name, "w") as handle:
            handle.write(b"x")
        mode = stat.S_IMODE(sftp.lstat(name).st_mode or 0)
        sftp.remove(name)
    return mode


def _temporary_modes(directory: Path) -> dict[str, int]:
    return {
        p.name: stat.S_IMODE(os.lstat(p).st_mode) for p in directory.iterdir() if ".irods-part-" in p.name
    }


def _stage(
    session: Any, endpoint: Any, remote: Any, tmp_path: Path, data: bytes, monkeypatch: pytest.MonkeyPatch
) -> dict[str, int]:
    """Download ``data`` to ``out/f.bin``: the temporary's mode seen on the server's disk once it was
    opened and once its first chunk was handed to it (the published file's mode is checked by the caller)."""
    from irods_provider.sftp._resume_store import ResumeStore
    from irods_provider.sftp._sink import SftpStagingSink, target_root

    session.data_objects.write(f"{HOME}/f.bin", data)
    seen: dict[str, int] = {}
    out = remote.dir / "out"
    open_temp = SftpStagingSink.open_temp

    def opened(sink: Any, **kwargs: Any) -> Any:
        writer, offset = open_temp(sink, **kwargs)
        seen.update(_temporary_modes(out))
        return writer, offset

    monkeypatch.setattr(SftpStagingSink, "open_temp", opened)
    with endpoint.channel() as client:
        root = target_root(endpoint, remote.path("out"))
        sink = SftpStagingSink(
            endpoint, client, f"{root}/f.bin", root=root, store=ResumeStore(tmp_path / "r"), chunk_size=CHUNK
        )
        download_object(
            session,
            f"{HOME}/f.bin",
            sink,
            config=CFG,
            overwrite=OverwritePolicy.OVERWRITE,
        )
    assert hashlib.sha256((out / "f.bin").read_bytes()).digest() == hashlib.sha256(data).digest()
    assert _temporary_modes(out) == {}
    return seen


@pytest.mark.parametrize("size", list(SIZES))
def test_a_new_file_is_written_private_then_gets_the_servers_plain_create_mode(
    session: Any,
    remote: Any,
    sftp_server: SshTestServer,
    endpoint: Any,
    tmp_path: Path,
    size: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = plain_create_mode(sftp_server, remote)
    assert expected == 0o666 & ~UMASK  # the server applies its umask (0640 here, not the usual 0644)
    seen = _stage(session, endpoint, remote, tmp_path, os.urandom(SIZES[size]), monkeypatch)
    assert list(seen.values()) == [0o600]  # one temporary, private while written
    assert stat.S_IMODE(os.lstat(remote.dir / "out" / "f.bin").st_mode) == expected


@pytest.mark.parametrize("kept", [0o644, 0o600, 0o755], ids=lambda mode: f"{mode:o}")
@pytest.mark.parametrize("size", list(SIZES))
def test_an_overwrite_is_written_private_then_keeps_the_old_files_mode(
    session: Any,
    remote: Any,
    endpoint: Any,
    tmp_path: Path,
    size: str,
    kept: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = remote.put("out/f.bin", b"old")
    old.chmod(kept)
    seen = _stage(session, endpoint, remote, tmp_path, os.urandom(SIZES[size]), monkeypatch)
    assert list(seen.values()) == [0o600]
    assert stat.S_IMODE(os.lstat(old).st_mode) == kept


def test_a_server_refusing_to_set_modes_still_gets_every_file(
    session: Any,
    remote: Any,
    sftp_server: SshTestServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that refuses SETSTAT (some managed SFTP services do): the file whose mode was refused is
    published private, with one warning; the task's later files are created with the server's default
    mode as before (nothing left to set), and every file arrives."""
    from irods_provider.sftp import _pipelined
    from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

    fchmod = _pipelined.fchmod
    monkeypatch.setattr(_pipelined, "fchmod", lambda handle, mode: (fchmod(handle, mode)[0], b"gone", mode))
    # Above 1 MiB: the large files' lane, one file at a time (max_concurrent_files=1).
    blobs = {name: os.urandom(1024 * 1024 + CHUNK + n) for n, name in enumerate(["a.bin", "b.bin"])}
    session.collections.create(f"{HOME}/refused", exist_ok=True)
    for name, blob in blobs.items():
        session.data_objects.write(f"{HOME}/refused/{name}", blob)
    report = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/refused",
        destination_path=remote.path("refused/"),
        chunk_size=CHUNK,
        max_concurrent_files=1,
    ).execute({})
    assert report["transferred"] == 2
    assert remote.files("refused") == blobs
    modes = sorted(stat.S_IMODE(os.lstat(remote.dir / "refused" / name).st_mode) for name in blobs)
    assert modes == [0o600, 0o666 & ~UMASK]
    refusals = [r for r in caplog.records if "refused to set the mode" in r.getMessage()]
    assert len(refusals) == 1


def _hidden_modes(directory: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(os.lstat(p).st_mode) for p in directory.iterdir() if p.name.startswith(".")}


@pytest.mark.parametrize(
    "kept", [None, 0o644, 0o600], ids=lambda mode: "new" if mode is None else f"{mode:o}"
)
def test_the_generic_sftp_sink_writes_private_then_publishes_the_expected_mode(
    remote: Any, sftp_server: SshTestServer, kept: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """:class:`~irods_provider.sftp._file.SftpFile` (the engine's generic SFTP sink, ``copy_file``) and
    :func:`~irods_provider.sftp.publish_atomically` follow the staging sink's rule: private while written,
    then the replaced file's mode, else the server's plain-create mode. They created their temporaries
    with the server's default (0640 here, 0644 under the usual umask) and published a replaced 0600 file
    as that."""
    from irods_provider.client.transfer._endpoints import BytesFile, copy_file
    from irods_provider.sftp import publish_atomically
    from irods_provider.sftp._file import SftpFile

    expected = plain_create_mode(sftp_server, remote) if kept is None else kept
    data = os.urandom(3 * CHUNK + 1)
    out = remote.dir / "gen"
    remote._mkdir(out)  # owned by the server's user
    for name in ("copied.bin", "published.bin") if kept is not None else ():
        remote.put(f"gen/{name}", b"old").chmod(kept)
    seen: list[dict[str, int]] = []
    open_temp = SftpFile.open_temp

    def opened(sink: Any, **kwargs: Any) -> Any:
        writer, offset = open_temp(sink, **kwargs)
        seen.append(_hidden_modes(out))
        return writer, offset

    monkeypatch.setattr(SftpFile, "open_temp", opened)
    with paramiko_client(sftp_server) as client:
        sftp = client.open_sftp()
        copy_file(
            BytesFile(data), SftpFile(sftp, remote.path("gen/copied.bin")), overwrite=True, chunk_size=CHUNK
        )
        with publish_atomically(sftp, remote.path("gen/published.bin")) as writer:
            writer.write(data)
            seen.append(_hidden_modes(out))
    assert [list(modes.values()) for modes in seen] == [[0o600], [0o600]]  # one temporary each, private
    for name in ("copied.bin", "published.bin"):
        assert hashlib.sha256((out / name).read_bytes()).digest() == hashlib.sha256(data).digest()
        assert stat.S_IMODE(os.lstat(out / name).st_mode) == expected, name
    assert _hidden_modes(out) == {}


def test_the_generic_sftp_sink_on_a_server_refusing_modes_still_publishes(
    remote: Any, sftp_server: SshTestServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """SETSTAT refused: the first file stays private, with one warning; the session's later temporaries are
    created with the server's default mode as before, and every file arrives whole."""
    from irods_provider.client.transfer._endpoints import BytesFile, copy_file
    from irods_provider.sftp import _pipelined
    from irods_provider.sftp._file import SftpFile

    fchmod = _pipelined.fchmod
    monkeypatch.setattr(_pipelined, "fchmod", lambda handle, mode: (fchmod(handle, mode)[0], b"gone", mode))
    blobs = {"a.bin": os.urandom(CHUNK + 1), "b.bin": os.urandom(CHUNK + 2)}
    remote._mkdir(remote.dir / "refused")
    with paramiko_client(sftp_server) as client:
        sftp = client.open_sftp()
        for name, blob in blobs.items():
            copy_file(BytesFile(blob), SftpFile(sftp, remote.path(f"refused/{name}")), chunk_size=CHUNK)
    assert remote.files("refused") == blobs
    modes = [stat.S_IMODE(os.lstat(remote.dir / "refused" / name).st_mode) for name in blobs]
    assert modes == [0o600, 0o666 & ~UMASK]
    assert len([r for r in caplog.records if "refused to set the mode" in r.getMessage()]) == 1
