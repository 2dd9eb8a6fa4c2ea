"""``file_mode`` / ``directory_mode``: what an SFTP download publishes gets exactly the chosen mode.

A chosen file mode is set the way the default one is: through the temporary's open handle (``FSETSTAT``,
which OpenSSH's ``sftp-server`` applies with ``fchmod(fd, perm & 07777)``: no umask, sftp-server.c
V_9_6_P1 ``process_fsetstat``) in its close's round trip, the temporary private (0600) until then; an
overwrite gets it too. A chosen directory mode goes with each ``mkdir`` (``mkdir(name, perm & 07777)``:
the umask applies, ``process_mkdir``), then a ``SETSTAT`` where the umask masked it. Both servers run with
umask 027, so 0644 / 0775 can only come from the explicit set, never from the create.
"""

from __future__ import annotations

import collections
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from paramiko.sftp import CMD_FSETSTAT, CMD_NAMES, CMD_SETSTAT

from irods_provider.client.transfer import OverwritePolicy, TransferConfig, download_object
from irods_provider.exceptions import IrodsSftpFileError
from irods_provider.testing.sftp import SshTestServer

pytestmark = pytest.mark.timeout(90)

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=2, chunk_size=CHUNK, retries=0, backoff_base_seconds=0.0)
#: One write (closed with its read-back), read back, sha256sum with two sessions writing.
SIZES = {"one-write": CHUNK - 5, "small": 5 * CHUNK + 3, "large": 1024 * 1024 + CHUNK + 7}
UMASK = SFTP_UMASK = 0o027  # both servers run under it (the conftest's sftp_server)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _hidden(directory: Path) -> dict[str, int]:
    """The temporaries in ``directory`` (hidden names: the staging sink's, ``SftpFile``'s and
    ``publish_atomically``'s) and their modes."""
    return {p.name: mode_of(p) for p in directory.iterdir() if p.name.startswith(".")}


class Sent:
    """How many requests of each kind every SFTP channel of the process sent (paramiko's wire plumbing)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import paramiko

        self.kinds: collections.Counter[str] = collections.Counter()
        send = paramiko.SFTPClient._async_request

        def counted(client: Any, fileobj: Any, t: int, *args: Any) -> int:
            self.kinds[CMD_NAMES.get(t, str(t))] += 1
            return int(send(client, fileobj, t, *args))

        monkeypatch.setattr(paramiko.SFTPClient, "_async_request", counted)


def _stage(
    session: Any, remote: Any, tmp_path: Path, data: bytes, monkeypatch: pytest.MonkeyPatch, **modes: Any
) -> tuple[list[int], collections.Counter[str]]:
    """Download ``data`` to ``out/f.bin`` through the sink with ``modes``: the temporaries' modes on the
    server's disk once opened, and the requests the copy sent (after the target directory was set up)."""
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from irods_provider.sftp import SftpEndpoint
    from irods_provider.sftp._resume_store import ResumeStore
    from irods_provider.sftp._sink import SftpStagingSink, target_root

    session.data_objects.write(f"{HOME}/f.bin", data)
    seen: list[int] = []
    out = remote.dir / "out"
    open_temp = SftpStagingSink.open_temp

    def opened(sink: Any, **kwargs: Any) -> Any:
        writer, offset = open_temp(sink, **kwargs)
        seen.extend(_hidden(out).values())
        return writer, offset

    with monkeypatch.context() as patched:
        patched.setattr(SftpStagingSink, "open_temp", opened)
        with SftpEndpoint(SFTPHook(ssh_conn_id="cluster"), connections=2) as sftp, sftp.channel() as client:
            root = target_root(sftp, remote.path("out"))
            sent = Sent(patched)
            store = ResumeStore(tmp_path / "r")
            sink = SftpStagingSink(
                sftp, client, f"{root}/f.bin", root=root, store=store, chunk_size=CHUNK, **modes
            )
            download_object(session, f"{HOME}/f.bin", sink, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
    assert (out / "f.bin").read_bytes() == data
    assert _hidden(out) == {}
    return seen, sent.kinds


@pytest.mark.parametrize("chosen", [0o644, 0o600], ids=lambda m: f"{m:o}")
@pytest.mark.parametrize("old", [None, 0o755], ids=lambda m: "new" if m is None else f"over-{m:o}")
@pytest.mark.parametrize("size", list(SIZES))
def test_a_chosen_file_mode_is_exact_for_new_files_and_overwrites_in_the_same_requests(
    session: Any,
    remote: Any,
    sftp_server: SshTestServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    size: str,
    old: int | None,
    chosen: int,
) -> None:
    """Exactly ``chosen`` (0644 is more than the umask 027 lets a create give; 0600 less than an
    overwritten 0755), the temporary 0600 while written, and no request more than the same copy without a
    chosen mode sends (at most the one ``FSETSTAT``, in the close's round trip, that the default has too)."""
    data = os.urandom(SIZES[size])
    if old is not None:
        remote.put("out/f.bin", b"old").chmod(old)
    baseline_seen, baseline = _stage(session, remote, tmp_path, data, monkeypatch)
    published = remote.dir / "out" / "f.bin"
    assert mode_of(published) == (0o666 & ~UMASK if old is None else old)
    if old is None:
        published.unlink()
    else:
        published.chmod(old)
    seen, sent = _stage(session, remote, tmp_path, data, monkeypatch, file_mode=chosen)
    assert seen == baseline_seen == [0o600]  # private while written
    assert mode_of(published) == chosen
    fsetstat, setstat = CMD_NAMES[CMD_FSETSTAT], CMD_NAMES[CMD_SETSTAT]
    assert sent[setstat] == baseline[setstat] == 0
    assert baseline[fsetstat] == 1  # the default: 0640 for a new file, the old 0755, both not the 0600 made
    assert sent[fsetstat] == (0 if chosen == 0o600 else 1)  # 0600: what the create gave already
    assert sum(sent.values()) - sent[fsetstat] == sum(baseline.values()) - baseline[fsetstat]


def test_a_refused_file_mode_fails_the_file_unpublished(
    session: Any, remote: Any, sftp_server: SshTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server refusing ``FSETSTAT`` (some managed SFTP services): without a chosen mode the file is
    published private with a warning; with one it fails, typed and naming the file, and nothing lands."""
    from irods_provider.sftp import _pipelined

    fchmod = _pipelined.fchmod
    monkeypatch.setattr(_pipelined, "fchmod", lambda handle, mode: (fchmod(handle, mode)[0], b"gone", mode))
    with pytest.raises(IrodsSftpFileError) as caught:
        _stage(session, remote, tmp_path, os.urandom(3 * CHUNK), monkeypatch, file_mode=0o640)
    assert str(caught.value.path).endswith("out/f.bin")
    assert "0o640" in str(caught.value)
    assert sorted(p.name for p in (remote.dir / "out").iterdir()) == []


def _tree(session: Any, name: str) -> dict[str, bytes]:
    blobs = {"a.bin": os.urandom(CHUNK + 1), "sub/b.bin": os.urandom(7), "sub/deeper/c.bin": os.urandom(3)}
    for relative, blob in blobs.items():
        session.collections.create(f"{HOME}/{name}/{os.path.dirname(relative)}".rstrip("/"), exist_ok=True)
        session.data_objects.write(f"{HOME}/{name}/{relative}", blob)
    session.collections.create(f"{HOME}/{name}/empty", exist_ok=True)
    return blobs


def _deliver(remote: Any, source: str, destination: str, **modes: Any) -> dict[str, Any]:
    from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

    return IrodsToSFTPOperator(  # type: ignore[no-any-return]
        task_id="deliver",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/{source}",
        destination_path=remote.path(destination),
        chunk_size=CHUNK,
        **modes,
    ).execute({})


@pytest.mark.parametrize("chosen", [0o750, 0o775, 0o2770], ids=lambda m: f"{m:o}")
def test_the_operator_creates_directories_with_directory_mode_and_files_with_file_mode(
    session: Any, remote: Any, sftp_server: SshTestServer, chosen: int
) -> None:
    """A tree copy into a missing, nested destination: every directory the run creates (the destination,
    its missing parents, the tree's, an empty one) gets ``directory_mode`` exactly (0775 and 02770 pass
    the umask only by a ``SETSTAT``), each file ``file_mode`` given as a string; an existing directory
    keeps its own mode."""
    blobs = _tree(session, f"tree{chosen:o}")
    remote._mkdir(remote.dir / "kept" / "sub")
    (remote.dir / "kept" / "sub").chmod(0o700)
    kept = mode_of(remote.dir / "kept")
    report = _deliver(
        remote, f"tree{chosen:o}", "kept/new/deep/", file_mode="0644", directory_mode=f"{chosen:o}"
    )
    report_sub = _deliver(remote, f"tree{chosen:o}", "kept/", file_mode="644", directory_mode=chosen)
    assert report["transferred"] == report_sub["transferred"] == 3
    out = remote.dir / "kept" / "new" / "deep"
    assert remote.files("kept/new/deep") == blobs
    for directory in ("kept/new", "kept/new/deep", "kept/new/deep/sub", "kept/new/deep/sub/deeper"):
        assert mode_of(remote.dir / directory) == chosen, directory
    assert mode_of(out / "empty") == chosen
    assert mode_of(remote.dir / "kept") == kept  # the existing ones: as they were
    assert mode_of(remote.dir / "kept" / "sub") == 0o700
    assert mode_of(remote.dir / "kept" / "sub" / "deeper") == chosen
    for relative in blobs:
        assert mode_of(out / relative) == 0o644
        assert mode_of(remote.dir / "kept" / relative) == 0o644


def test_an_inherited_setgid_bit_stays_as_with_gnu_mkdir(
    session: Any, remote: Any, sftp_server: SshTestServer
) -> None:
    """A project directory with the setgid bit (new entries take its group): Linux gives a directory made
    in it that bit too, and ``directory_mode=0o750`` keeps it (GNU ``mkdir -m 750`` does), as the default
    mode would. The file mode the server gives there is the one learned in the target directory: OpenSSH's
    umask is the process's, the same in every directory."""
    _tree(session, "shared")
    remote._mkdir(remote.dir / "project")
    (remote.dir / "project").chmod(0o2770)
    assert _deliver(remote, "shared", "project/", directory_mode=0o750)["transferred"] == 3
    assert _deliver(remote, "shared", "plain/", directory_mode=0o750)["transferred"] == 3
    for directory in ("sub", "sub/deeper", "empty"):
        assert mode_of(remote.dir / "project" / directory) == 0o2750, directory
        assert mode_of(remote.dir / "plain" / directory) == 0o750, directory
    assert mode_of(remote.dir / "project" / "sub" / "b.bin") == 0o666 & ~UMASK


def test_without_modes_the_server_decides_as_before(
    session: Any, remote: Any, sftp_server: SshTestServer
) -> None:
    """No ``file_mode`` / ``directory_mode``: files and directories get what the umask 027 leaves."""
    _tree(session, "plain")
    assert _deliver(remote, "plain", "dflt/new/")["transferred"] == 3
    out = remote.dir / "dflt" / "new"
    for directory in (out.parent, out, out / "sub", out / "sub" / "deeper", out / "empty"):
        assert mode_of(directory) == 0o777 & ~UMASK, directory
    assert mode_of(out / "a.bin") == 0o666 & ~UMASK


@pytest.mark.parametrize("old", [None, 0o755], ids=lambda m: "new" if m is None else f"over-{m:o}")
def test_the_generic_sftp_sink_and_publish_atomically_take_a_file_mode(
    remote: Any, sftp_server: SshTestServer, monkeypatch: pytest.MonkeyPatch, old: int | None
) -> None:
    """:class:`~irods_provider.sftp._file.SftpFile` (``copy_file``'s SFTP sink) and
    :func:`~irods_provider.sftp.publish_atomically` with ``file_mode``: exactly it, new or overwritten, the
    temporary 0600 while written; neither the replaced file's mode nor the server's default is asked then
    (one round trip fewer), so no more requests than without it."""
    from irods_provider.client.transfer._endpoints import BytesFile, copy_file
    from irods_provider.sftp import publish_atomically
    from irods_provider.sftp._file import SftpFile
    from irods_provider.testing.sftp import paramiko_client

    data = os.urandom(3 * CHUNK + 1)
    out = remote.dir / "gen"
    remote._mkdir(out)
    seen: list[int] = []
    open_temp = SftpFile.open_temp

    def opened(sink: Any, **kwargs: Any) -> Any:
        writer, offset = open_temp(sink, **kwargs)
        seen.extend(_hidden(out).values())
        return writer, offset

    monkeypatch.setattr(SftpFile, "open_temp", opened)
    counts = []
    for chosen in (None, 0o644):
        for name in ("copied.bin", "published.bin"):
            (out / name).unlink(missing_ok=True)
            if old is not None:
                remote.put(f"gen/{name}", b"old").chmod(old)
        with paramiko_client(sftp_server) as client, monkeypatch.context() as patched:
            sftp = client.open_sftp()
            sent = Sent(patched)
            sink = SftpFile(sftp, remote.path("gen/copied.bin"), file_mode=chosen)
            copy_file(BytesFile(data), sink, overwrite=True, chunk_size=CHUNK)
            with publish_atomically(sftp, remote.path("gen/published.bin"), file_mode=chosen) as writer:
                writer.write(data)
                seen.extend(_hidden(out).values())
            counts.append(sum(sent.kinds.values()))
    assert seen == [0o600] * 4
    for name in ("copied.bin", "published.bin"):
        assert (out / name).read_bytes() == data
        assert mode_of(out / name) == 0o644, name
    assert _hidden(out) == {}
    assert counts[1] < counts[0]


def test_publish_atomically_with_a_refused_file_mode_publishes_nothing(
    remote: Any, sftp_server: SshTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from irods_provider.sftp import _pipelined, publish_atomically
    from irods_provider.testing.sftp import paramiko_client

    fchmod = _pipelined.fchmod
    monkeypatch.setattr(_pipelined, "fchmod", lambda handle, mode: (fchmod(handle, mode)[0], b"gone", mode))
    remote._mkdir(remote.dir / "gen")
    with paramiko_client(sftp_server) as client:
        sftp = client.open_sftp()
        with (
            pytest.raises(IrodsSftpFileError, match="0o640") as caught,
            publish_atomically(sftp, remote.path("gen/f.bin"), file_mode=0o640) as writer,
        ):
            writer.write(b"x" * CHUNK)
    assert str(caught.value.path).endswith("gen/f.bin")
    assert list((remote.dir / "gen").iterdir()) == []


def test_a_single_object_into_missing_directories_gets_both_modes(
    session: Any, remote: Any, sftp_server: SshTestServer
) -> None:
    """One data object to a path whose directories are missing: the sink creates them (one ``mkdir`` with
    its ``lstat``, parents step by step) with ``directory_mode``, the file gets ``file_mode``."""
    blob = os.urandom(CHUNK + 9)
    session.data_objects.write(f"{HOME}/one.bin", blob)
    report = _deliver(remote, "one.bin", "single/a/b/one.bin", file_mode=0o604, directory_mode="0775")
    assert report["transferred"] == 1
    assert (remote.dir / "single" / "a" / "b" / "one.bin").read_bytes() == blob
    for directory in ("single", "single/a", "single/a/b"):
        assert mode_of(remote.dir / directory) == 0o775, directory
    assert mode_of(remote.dir / "single" / "a" / "b" / "one.bin") == 0o604


def _default_acl(directory: Path, group: int) -> None:
    """Give ``directory`` a POSIX default ACL ``u::rwx,g::<group>,m::<group>,o::---`` (what ``setfacl -d``
    writes: the ``system.posix_acl_default`` attribute, version 2, then tag, permissions, id per entry)."""
    import struct

    entries = [(0x01, 7), (0x04, group), (0x10, group), (0x20, 0)]
    blob = struct.pack("<I", 2) + b"".join(
        struct.pack("<HHI", tag, perm, 0xFFFFFFFF) for tag, perm in entries
    )
    try:
        os.setxattr(directory, "system.posix_acl_default", blob)
    except OSError as exc:
        pytest.skip(f"no POSIX ACLs on the server's file system: {exc}")


def test_a_subdirectory_with_a_default_acl_is_the_one_place_the_learned_mode_differs(
    session: Any, remote: Any, sftp_server: SshTestServer
) -> None:
    """The finding behind the default mode: OpenSSH's umask is the process's (``-u``), so the mode learned in
    the target directory is what a plain create gives in every subdirectory, except one carrying a POSIX
    default ACL, where ``open(2)`` uses the ACL instead of the umask (0660 here). There the default publish
    gives the learned 0640 (narrower, never wider), and ``file_mode`` gives exactly what is asked."""
    _tree(session, "acl")
    for destination in ("acl-default", "acl-chosen"):
        remote._mkdir(remote.dir / destination / "sub")
        _default_acl(remote.dir / destination / "sub", 6)
    plain = remote.dir / "acl-default" / "sub" / "plain"
    from irods_provider.testing.sftp import paramiko_client

    with paramiko_client(sftp_server) as client:
        sftp = client.open_sftp()
        with sftp.open(remote.path("acl-default/sub/plain"), "w") as handle:
            handle.write(b"x")
    assert mode_of(plain) == 0o660  # the ACL, not the umask 027
    assert _deliver(remote, "acl", "acl-default/")["transferred"] == 3
    assert _deliver(remote, "acl", "acl-chosen/", file_mode=0o660)["transferred"] == 3
    assert mode_of(remote.dir / "acl-default" / "a.bin") == 0o640  # the target directory: the umask's
    assert mode_of(remote.dir / "acl-default" / "sub" / "b.bin") == 0o640  # learned in the target
    assert mode_of(remote.dir / "acl-chosen" / "sub" / "b.bin") == 0o660
    assert mode_of(remote.dir / "acl-chosen" / "sub" / "deeper" / "c.bin") == 0o660
