"""Issue 18 findings 1-2: staging that a hostile directory cannot redirect and sources that cannot be swapped.

Against a real OpenSSH server (``openssh`` variant, Debian's sshd) and the embedded asyncssh server. Each test
reproduces an attack by someone who can write into the SFTP destination or source directory (a shared project
or scratch directory): on the code before this change the planted symlink received the staged bytes, and a
file swapped for a symlink after the listing put the link's target (the account's private key) into iRODS.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest
import staging_support
from paramiko.sftp import CMD_OPEN
from staging_support import HOME, Remote

from irods_provider.client.transfer import IrodsTransferCancelledError, OverwritePolicy, download_object
from irods_provider.client.transfer import _sink_download as sink_download
from irods_provider.exceptions import IrodsSymlinkError
from irods_provider.operators.transfer import LocalToIrodsOperator
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

# The fixtures, shared with the other staging security module without touching the suite's conftest.
sftp_server = staging_support.sftp_server
remote = staging_support.remote
resume_state_dir = staging_support.resume_state_dir
irods = staging_support.irods
session = staging_support.session

KIB = 1024
CHUNK = 64 * KIB
ORIGINAL = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA original-key service@cluster\n"


def down(**kwargs):
    kwargs.setdefault("chunk_size", CHUNK)
    return IrodsToSFTPOperator(task_id="down", sftp_conn_id="cluster", **kwargs).execute({})


def up(**kwargs):
    kwargs.setdefault("chunk_size", CHUNK)
    return SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", **kwargs).execute({})


def _object(session, path: str, data: bytes) -> str:
    session.data_objects.write(path, data)
    return session.data_objects.calculate_checksum(path)


def _all_objects(session, collection: str) -> dict[str, bytes]:
    from irods_provider.client import Kinds

    return {
        e.path: session.data_objects.read(e.path)
        for e in session.collections.iterate(collection, recursive=True, kinds=Kinds.DATA_OBJECTS)
    }


def test_symlink_planted_at_the_predictable_temporary_name_gets_nothing(remote: Remote, session) -> None:
    """Finding 1: the old temporary name was sha256(source|size|checksum)[:12], computable in advance."""
    blob = os.urandom(200 * KIB)
    checksum = _object(session, f"{HOME}/payload.bin", blob)
    victim = remote.put("outside/authorized_keys", ORIGINAL)
    predicted = hashlib.sha256(f"{HOME}/payload.bin|{len(blob)}|{checksum}".encode()).hexdigest()[:12]
    remote.symlink(f"drop/.payload.bin.irods-part-{predicted}", "../outside/authorized_keys")

    report = down(source_path=f"{HOME}/payload.bin", destination_path=remote.path("drop/"))

    assert victim.read_bytes() == ORIGINAL, "the staged bytes went through the planted symlink"
    final = remote.dir / "drop" / "payload.bin"
    assert not final.is_symlink()
    assert final.read_bytes() == blob
    assert report["transferred"] == 1


def _interrupt_download(op: IrodsToSFTPOperator, irods, partial_dir: Path) -> BaseException | None:
    """Run ``op`` in a thread and cancel it once its hidden temporary holds a few chunks."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            op.execute({})
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    irods.set_faults(latency_seconds=0.02)
    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and thread.is_alive()
        and not any(p.stat().st_size >= 2 * CHUNK for p in partial_dir.glob(".*") if p.is_file())
    ):
        time.sleep(0.005)  # polling, bounded by the deadline
    op.on_kill()
    thread.join(60)
    irods.set_faults(latency_seconds=0.0)
    assert not thread.is_alive()
    return outcome[0]


def test_resumed_temporary_swapped_for_a_symlink_is_refused(remote: Remote, session, irods) -> None:
    """A temporary left by an interrupted attempt is visible in the directory: swapping it for a link to the
    account's own file must not make the retry write there."""
    blob = os.urandom(3 * 1024 * KIB)
    session.data_objects.write(f"{HOME}/r.bin", blob[: 2 * 1024 * KIB])
    session.data_objects.write(f"{HOME}/r.bin", blob[2 * 1024 * KIB :], offset=2 * 1024 * KIB, truncate=False)
    victim = remote.put("outside/authorized_keys", ORIGINAL)
    remote.mkdir(remote.dir / "dl")
    op = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/r.bin",
        destination_path=remote.path("dl/"),
        chunk_size=CHUNK,
        streams=1,
    )
    assert isinstance(_interrupt_download(op, irods, remote.dir / "dl"), IrodsTransferCancelledError)
    (leftover,) = (remote.dir / "dl").glob(".r.bin.irods-part-*")
    remote.symlink(f"dl/{leftover.name}", "../outside/authorized_keys")

    with pytest.raises(IrodsSymlinkError) as caught:
        down(source_path=f"{HOME}/r.bin", destination_path=remote.path("dl/"), streams=1)
    assert leftover.name in str(caught.value)
    assert victim.read_bytes() == ORIGINAL
    assert not (remote.dir / "dl" / "r.bin").exists()
    # The refused record is forgotten: the next attempt starts a fresh temporary and completes.
    report = down(source_path=f"{HOME}/r.bin", destination_path=remote.path("dl/"), streams=1)
    assert report["files"][0]["resumed_from"] == 0
    assert (remote.dir / "dl" / "r.bin").read_bytes() == blob
    assert victim.read_bytes() == ORIGINAL


def test_symlink_planted_at_the_final_name_during_the_copy_is_refused(
    remote: Remote, session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The final name is checked with lstat right before the rename, not only before the copy."""
    blob = os.urandom(100 * KIB)
    _object(session, f"{HOME}/late.bin", blob)
    victim = remote.put("outside/authorized_keys", ORIGINAL)
    remote.mkdir(remote.dir / "out")
    verify = sink_download.verify_checksum

    def plant_then_verify(*args, **kwargs):
        remote.symlink("out/late.bin", "../outside/authorized_keys")
        return verify(*args, **kwargs)

    monkeypatch.setattr(sink_download, "verify_checksum", plant_then_verify)
    with pytest.raises(IrodsSymlinkError, match="symbolic link") as caught:
        down(source_path=f"{HOME}/late.bin", destination_path=remote.path("out/"), overwrite=True)
    assert caught.value.path.endswith("out/late.bin")
    assert (remote.dir / "out" / "late.bin").is_symlink()
    assert victim.read_bytes() == ORIGINAL
    assert [p.name for p in (remote.dir / "out").iterdir()] == ["late.bin"], "temporary left behind"


def test_sftp_source_swapped_for_a_symlink_after_the_listing_is_refused(
    remote: Remote, session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 2: a listed file swapped for a same-size symlink to the account's private key."""
    secret = b"-----BEGIN OPENSSH PRIVATE KEY-----\n" + b"k" * 300 + b"\n-----END OPENSSH PRIVATE KEY-----\n"
    remote.put("keys/id_ed25519", secret)
    remote.put("src/data.bin", os.urandom(len(secret)))
    remote.put("src/other.bin", b"fine")
    plan = SFTPToIrodsOperator._plan

    def plan_then_swap(self, *args, **kwargs):
        planned = plan(self, *args, **kwargs)
        remote.symlink("src/data.bin", "../keys/id_ed25519")
        return planned

    monkeypatch.setattr(SFTPToIrodsOperator, "_plan", plan_then_swap)
    with pytest.raises(IrodsSymlinkError) as caught:
        up(source_path=remote.path("src"), destination_path=f"{HOME}/in", max_concurrent_files=1)
    assert caught.value.path.endswith("src/data.bin")
    assert secret not in _all_objects(session, HOME).values()


def test_local_source_swapped_for_a_symlink_after_the_listing_is_refused(
    tmp_path: Path, session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same swap on a local source directory (LocalToIrodsOperator)."""
    from irods_provider.client.transfer import _local

    secret = b"PRIVATE " * 64
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "id_ed25519").write_bytes(secret)
    src = tmp_path / "src"
    src.mkdir()
    (src / "data.bin").write_bytes(os.urandom(len(secret)))
    planner = _local.plan_local_tree  # what upload_files plans with

    def plan_then_swap(*args, **kwargs):
        planned = planner(*args, **kwargs)
        (src / "data.bin").unlink()
        (src / "data.bin").symlink_to(tmp_path / "keys" / "id_ed25519")
        return planned

    monkeypatch.setattr(_local, "plan_local_tree", plan_then_swap)
    op = LocalToIrodsOperator(task_id="up", source_path=str(src), destination_path=f"{HOME}/local")
    with pytest.raises(IrodsSymlinkError) as caught:
        op.execute({})
    assert caught.value.path == str(src / "data.bin")
    assert secret not in _all_objects(session, HOME).values()


def test_local_download_refuses_a_symlink_at_the_final_name(tmp_path: Path, session) -> None:
    """Overwriting a local destination that is a symlink is refused, typed, and the link target untouched."""
    blob = os.urandom(50 * KIB)
    _object(session, f"{HOME}/d.bin", blob)
    victim = tmp_path / "authorized_keys"
    victim.write_bytes(ORIGINAL)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "d.bin").symlink_to(victim)
    with pytest.raises(IrodsSymlinkError) as caught:
        download_object(
            session, f"{HOME}/d.bin", tmp_path / "out" / "d.bin", overwrite=OverwritePolicy.OVERWRITE
        )
    assert caught.value.path == str(tmp_path / "out" / "d.bin")
    assert victim.read_bytes() == ORIGINAL
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["d.bin"]


def test_local_temporary_is_created_exclusively_never_through_a_symlink(tmp_path: Path, session) -> None:
    """The download temporary is opened with O_CREAT|O_EXCL|O_NOFOLLOW: a link planted at its name fails."""
    from irods_provider.client.transfer import parallel_download

    _object(session, f"{HOME}/t.bin", os.urandom(20 * KIB))
    victim = tmp_path / "authorized_keys"
    victim.write_bytes(ORIGINAL)
    planted = tmp_path / ".t.bin.irods-part-0123456789ab"
    planted.symlink_to(victim)
    with pytest.raises(IrodsSymlinkError) as caught:
        parallel_download(session, f"{HOME}/t.bin", planted, exclusive=True)
    assert caught.value.path == str(planted)
    assert victim.read_bytes() == ORIGINAL


class _SwapOnOpen:
    """An SFTP client whose next ``open`` of ``path`` is preceded by ``swap()``: the race between the
    ``lstat`` and the ``open`` that only the open handle's attributes can reveal."""

    def __init__(self, client, path: str, swap) -> None:
        self._client = client
        self._path = path
        self._swap = swap

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    def open(self, path: str, mode: str = "r", **kwargs):
        if path == self._path and self._swap is not None:
            swap, self._swap = self._swap, None
            swap()
        return self._client.open(path, mode, **kwargs)

    def _async_request(self, fileobj, t, *args):
        """An open sent right behind the ``lstat`` (one round trip): the ``lstat`` is answered first."""
        if t == CMD_OPEN and args[0] == self._path.encode() and self._swap is not None:
            self._client._read_response()  # the lstat's answer, handed to its waiter
            swap, self._swap = self._swap, None
            swap()
        return self._client._async_request(fileobj, t, *args)


def test_swaps_between_lstat_and_open_are_caught_by_the_open_handle(remote: Remote, sftp_server) -> None:
    """Resumed temporary and source alike: the open handle's fstat must equal the lstat taken before it."""
    from irods_provider.exceptions import IrodsSourceChangedError
    from irods_provider.testing.sftp import paramiko_client
    from irods_provider.transfers._sftp_integrity import open_resumed, open_source

    victim = remote.put("outside/authorized_keys", ORIGINAL * 4)
    remote.put("dl/.f.irods-part-00ff", b"p" * 10)
    source = remote.put("src/data.bin", b"d" * len(ORIGINAL))
    os.utime(source, (1_600_000_000, 1_600_000_000))
    with paramiko_client(sftp_server) as ssh:
        sftp = ssh.open_sftp()
        temp = remote.path("dl/.f.irods-part-00ff")
        plant = _SwapOnOpen(
            sftp, temp, lambda: remote.symlink("dl/.f.irods-part-00ff", "../outside/authorized_keys")
        )
        with pytest.raises(IrodsSymlinkError, match="swapped"):
            open_resumed(plant, temp, uid=None, max_size=10_000)
        listed = sftp.stat(remote.path("src/data.bin"))
        path = remote.path("src/data.bin")
        swap = _SwapOnOpen(sftp, path, lambda: remote.symlink("src/data.bin", "../outside/authorized_keys"))
        with pytest.raises(IrodsSourceChangedError, match="swapped or changed"):
            open_source(swap, path, listed_size=listed.st_size, listed_mtime=listed.st_mtime)
    assert victim.read_bytes() == ORIGINAL * 4
