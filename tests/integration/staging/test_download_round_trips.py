"""A download's SFTP round trips before its first byte: independent requests go out together, nothing
already known is asked again, and the further connections' handles open while the first is checked.

Observed on paramiko's wire plumbing of real connections to the embedded SFTP server (the requests each
client sends before it reads an answer form one round trip), never by the clock; every copy is checked
byte for byte. The safety checks stay: the further handles must be the file the first one created (a
temporary swapped before they open is refused and nothing is published), a symlink planted at the final
name is refused.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import random
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from irods_provider.exceptions import IrodsInvalidPathError, IrodsSymlinkError
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from sftp_wire import SftpWire

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
KIB, MIB = 1024, 1024 * 1024
CHUNK = 256 * KIB
HELD = 5.0  # seconds the first handle's fstat answer waits for another connection's open (then it fails)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def down(**kwargs: Any) -> dict[str, Any]:
    return IrodsToSFTPOperator(
        task_id="down", sftp_conn_id="cluster", chunk_size=CHUNK, remote_checksum=False, **kwargs
    ).execute({})


def test_setup_round_trips_before_the_first_write(remote, session, sftp_server, monkeypatch) -> None:
    """Into a new relative directory over three connections: the directory's stat, mkdir and realpath, the
    login directory and the server's umask (a hidden directory's mkdir, lstat and rmdir) in one round
    trip, the file's directory realpath and final lstat in one, the exclusive create, one fstat; the other
    connections open the temporary and fstat it. (Before: realpath ., stat, mkdir, realpath, realpath,
    lstat, open, fstat, fstat, each a round trip of its own.)"""
    blob = random.Random(5).randbytes(3 * MIB + 11)
    session.data_objects.write(f"{HOME}/one.bin", blob)
    wire = SftpWire().install(monkeypatch)
    report = down(source_path=f"{HOME}/one.bin", destination_path=remote.path("new/"), sftp_connections=3)
    assert report["transferred"] == 1
    assert {k: sha(v) for k, v in remote.files("new").items()} == {"one.bin": sha(blob)}
    root = posixpath.join(sftp_server.remote_root, remote.path("new"))
    waves = {client: wire.waves(client) for client in wire.clients()}
    (setup,) = [w for w in waves.values() if w and w[0][0].startswith("stat ")]
    temp = setup[2][0].removeprefix("open ")
    assert temp.startswith(f"{root}/.one.bin.irods-part-")
    relative = remote.path("new")  # as given (relative): the login directory asked in the same round trip
    probe = setup[0][4].removeprefix("mkdir ")  # the server's umask learned in that round trip too
    assert probe.startswith(f"{relative}/.irods-mode-probe-")
    assert setup == [
        [
            *[f"stat {relative}", f"mkdir {relative}", f"realpath {relative}", "realpath ."],
            *[f"mkdir {probe}", f"lstat {probe}", f"rmdir {probe}"],
        ],
        [f"realpath {root}", f"lstat {root}/one.bin"],
        [f"open {temp}"],
        [setup[3][0]],
    ]
    assert setup[3][0].startswith("fstat ")  # once: the further handles are checked against this answer
    further = [w for w in waves.values() if w and w[0] == [f"open {temp}"] and w is not setup]
    assert len(further) == 2
    for opened in further:
        assert len(opened) == 2
        assert opened[1][0].startswith("fstat ")


def test_the_further_handles_open_while_the_first_is_checked(remote, session, sftp_server, monkeypatch):
    """The first handle's fstat answer is held until another connection has sent its open of the
    temporary: only code that sends them at once gets through (the old order opened them afterwards)."""
    blob = random.Random(6).randbytes(2 * MIB + 5)
    session.data_objects.write(f"{HOME}/two.bin", blob)
    wire = SftpWire().install(monkeypatch)
    creator: dict[str, Any] = {}
    opened_elsewhere = threading.Event()
    held: list[bool] = []

    def on_send(client: Any, name: str, first: str) -> None:
        if name == "open" and ".irods-part-" in first:
            if "client" not in creator:
                creator.update(client=client, temp=first, last=name)
            elif client is not creator["client"] and first == creator["temp"]:
                opened_elsewhere.set()
        if client is creator.get("client"):
            creator["last"] = name

    def on_answer(client: Any) -> None:
        if client is creator.get("client") and creator.get("last") == "fstat" and not held:
            held.append(opened_elsewhere.wait(HELD))

    wire.on_send.append(on_send)
    wire.on_answer.append(on_answer)
    report = down(source_path=f"{HOME}/two.bin", destination_path=remote.path("held/"), sftp_connections=2)
    assert held == [True], "no other connection opened the temporary while its fstat was answered"
    assert report["transferred"] == 1
    assert {k: sha(v) for k, v in remote.files("held").items()} == {"two.bin": sha(blob)}


def test_a_temporary_swapped_before_the_further_opens_is_refused(remote, session, sftp_server, monkeypatch):
    """Someone renames the new temporary away and puts a file of theirs at its name before the further
    connections open it: refused (typed) before a byte is written, their file never written, nothing
    published."""
    blob = random.Random(7).randbytes(2 * MIB + 9)
    session.data_objects.write(f"{HOME}/three.bin", blob)
    wire = SftpWire().install(monkeypatch)
    first: dict[str, Any] = {}

    def on_send(client: Any, name: str, path: str) -> None:
        if name != "open" or ".irods-part-" not in path:
            return
        if not first:
            first.update(client=client, path=path)
        elif client is not first["client"] and "swapped" not in first:
            local = sftp_server.root / posixpath.relpath(path, sftp_server.remote_root)
            local.rename(local.with_name("moved-away"))
            local.write_bytes(b"theirs")
            owner = sftp_server.root.stat()  # as the login user (the same owner: only size and mtime differ)
            os.chown(local, owner.st_uid, owner.st_gid)
            first["swapped"] = local

    wire.on_send.append(on_send)
    with pytest.raises(IrodsInvalidPathError, match="changed while it was opened again"):
        down(
            source_path=f"{HOME}/three.bin",
            destination_path=remote.path("swap/"),
            sftp_connections=2,
            resume=False,
        )
    swapped: Path = first["swapped"]
    # Never written through a further handle (the failed copy's cleanup may remove it by its name), and no
    # byte went through the first handle either before the check refused.
    assert not swapped.exists() or swapped.read_bytes() == b"theirs"
    assert swapped.with_name("moved-away").read_bytes() == b""
    assert "three.bin" not in remote.files("swap")


def test_a_symlink_at_the_final_name_is_still_refused(remote, session, sftp_server) -> None:
    """The final name's lstat now rides with its directory's realpath: a planted link still refuses."""
    session.data_objects.write(f"{HOME}/four.bin", b"data")
    remote.put("elsewhere/secret", b"keep")
    remote.put("link/.keep", b"")
    (remote.dir / "link/four.bin").symlink_to(remote.dir / "elsewhere/secret")
    with pytest.raises(IrodsSymlinkError):
        down(source_path=f"{HOME}/four.bin", destination_path=remote.path("link/"), overwrite=True)
    assert (remote.dir / "elsewhere/secret").read_bytes() == b"keep"


def test_a_deep_tree_creates_missing_parents(remote, session, sftp_server) -> None:
    """A file whose directory's parent is missing too: the one-round-trip mkdir fails and the step by
    step creation takes over (parents first)."""
    tree = {"a/b/c/deep.bin": random.Random(8).randbytes(70 * KIB), "top.bin": b"top"}
    session.collections.create(f"{HOME}/deep/a/b/c", intermediates=True)
    for rel, blob in tree.items():
        session.data_objects.write(f"{HOME}/deep/{rel}", blob)
    report = down(source_path=f"{HOME}/deep", destination_path=remote.path("deep"))
    assert report["transferred"] == 2
    assert {k: sha(v) for k, v in remote.files("deep").items()} == {k: sha(v) for k, v in tree.items()}


def test_a_resumed_temporary_is_fstat_once_before_its_further_handles(
    remote, session, sftp_server, monkeypatch, tmp_path
) -> None:
    """Resuming over two connections: the recorded temporary is lstat-ed, opened and fstat-ed (the check
    against its lstat), and that one fstat also checks the further handle (before: a second fstat)."""
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from irods_provider.client.transfer import TransferConfig, TransferSubscriber, download_object
    from irods_provider.exceptions import IrodsTransferCancelledError
    from irods_provider.sftp import SftpEndpoint
    from irods_provider.sftp._resume_store import ResumeStore
    from irods_provider.sftp._sink import SftpStagingSink, target_root

    class HalfWay(TransferSubscriber):
        """Cancels once half the file was read (the writes acknowledged by then are kept)."""

        def __init__(self, cancel: threading.Event, at: int) -> None:
            self.cancel, self.at, self.seen = cancel, at, 0

        def on_progress(self, *, path: str, bytes_transferred: int, **kwargs: Any) -> None:
            self.seen += bytes_transferred
            if self.seen >= self.at:
                self.cancel.set()

    chunk = 64 * KIB
    blob = random.Random(9).randbytes(40 * chunk + 3)
    session.data_objects.write(f"{HOME}/five.bin", blob)
    config = TransferConfig(streams=2, chunk_size=chunk, retries=0, backoff_base_seconds=0.0)
    store = ResumeStore(tmp_path / "records")
    with SftpEndpoint(SFTPHook(ssh_conn_id="cluster"), connections=2) as sftp:
        root = target_root(sftp, remote.path("res"))

        def sink(client: Any) -> SftpStagingSink:
            final = f"{root}/five.bin"
            return SftpStagingSink(
                sftp, client, final, root=root, store=store, identity=("t",), chunk_size=chunk
            )

        cancel = threading.Event()
        with sftp.channel() as client, pytest.raises(IrodsTransferCancelledError):
            download_object(
                session,
                f"{HOME}/five.bin",
                sink(client),
                config=config,
                cancel_event=cancel,
                subscribers=[HalfWay(cancel, len(blob) // 2)],
            )
        wire = SftpWire().install(monkeypatch)
        with sftp.channel() as client:
            result = download_object(session, f"{HOME}/five.bin", sink(client), config=config)
            resumer = id(client)
    assert result.resumed_from > 0
    assert remote.files("res") == {"five.bin": blob}
    sent = [what.split(" ", 1)[0] for wave in wire.waves(resumer) for what in wave]
    assert sent[:3] == ["realpath", "lstat", "lstat"]  # the decision's answers, then the temporary's lstat
    assert sent[3] == "open"
    assert sent.count("fstat") == 1, sent
    (other,) = [c for c in wire.clients() if c != resumer and wire.waves(c)]
    assert [what.split(" ", 1)[0] for wave in wire.waves(other) for what in wave] == ["open", "fstat"]
