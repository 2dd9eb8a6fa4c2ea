"""The staging operators' setup before the first byte: what overlaps and what is asked only once.

Proved by the order of events and by counting requests, never by the clock: the extra SSH connections of a
download start while the first connection is still held in its handshake (its plan needs only the zone), a
target directory is ``stat``-ed once per task (not again per file), a fresh connection lends its own idle
SFTP client to a range reader or writer (no new channel on the way to the first byte), and a background
open that fails surfaces typed at the first use. Every copy is checked byte for byte by SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import random
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

from irods_provider.exceptions import IrodsSftpConnectionError
from irods_provider.sftp import _endpoint
from irods_provider.testing.sftp import EmbeddedSftpServer
from irods_provider.transfers import _staging
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from sftp_wire import SftpWire
from ssh_connections import wait_all_closed

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
KIB, MIB = 1024, 1024 * 1024
CHUNK = 256 * KIB
HELD = 10.0  # seconds connection #0 waits for a sibling to start before giving up (a failure, not a pace)


@pytest.fixture(scope="module")
def sftp_server() -> Iterator[EmbeddedSftpServer]:
    with EmbeddedSftpServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_counts(sftp_server: EmbeddedSftpServer) -> Iterator[None]:
    wait_all_closed(sftp_server)
    sftp_server.reset_connection_stats()
    yield
    sftp_server.inject()


@pytest.fixture
def small_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    """The automatic count at one connection per MiB, so a few MiB open several (the rule, scaled)."""
    monkeypatch.setattr(_staging, "AUTO_BYTES_PER_CONNECTION", MIB)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def down(**kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("chunk_size", CHUNK)
    return IrodsToSFTPOperator(task_id="down", sftp_conn_id="cluster", **kwargs).execute({})


def up(**kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("chunk_size", CHUNK)
    return SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", **kwargs).execute({})


def count_channels(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record each SFTP channel the endpoint opens on an existing connection (not a connection's own)."""
    opened: list[int] = []
    real = _endpoint.open_sftp_channels

    def counting(transport: paramiko.Transport, count: int = 1) -> list[paramiko.SFTPClient]:
        opened.append(count)
        return real(transport, count)

    monkeypatch.setattr(_endpoint, "open_sftp_channels", counting)
    return opened


def test_download_connections_open_while_the_first_is_held(
    remote, session, sftp_server, monkeypatch, small_auto
):
    """Connection #0 is held in its handshake until another connection starts: only a download that plans
    the zone and widens without waiting for it gets through (the old order waited, then timed out here)."""
    blob = random.Random(1).randbytes(3 * MIB + 7)
    session.data_objects.write(f"{HOME}/held.bin", blob)
    sibling_started, events = threading.Event(), []
    real_open, real_normalize = _endpoint.SftpEndpoint._open_link, paramiko.SFTPClient.normalize

    def open_link(self: _endpoint.SftpEndpoint, link: Any) -> None:
        events.append(f"connect #{link.index}")
        if link.index == 0:
            assert sibling_started.wait(HELD), "no other SSH connection started while #0 was connecting"
        else:
            sibling_started.set()
        real_open(self, link)
        events.append(f"connected #{link.index}")

    def normalize(self: paramiko.SFTPClient, path: str) -> str:
        events.append(f"realpath {path}")
        return real_normalize(self, path)

    monkeypatch.setattr(_endpoint.SftpEndpoint, "_open_link", open_link)
    monkeypatch.setattr(paramiko.SFTPClient, "normalize", normalize)
    report = down(source_path=f"{HOME}/held.bin", destination_path=remote.path("got/"))
    assert report["transferred"] == 1
    assert {k: sha(v) for k, v in remote.files("got").items()} == {"held.bin": sha(blob)}
    # Two more (3 MiB at one per MiB: three in all) started before #0 was up and before any SFTP request.
    early = events[: events.index("connected #0")]
    assert sorted(e for e in early if e.startswith("connect #")) == ["connect #0", "connect #1", "connect #2"]
    assert not [e for e in early if e.startswith("realpath")]


def test_download_asks_the_target_directory_once_per_task(remote, session, sftp_server, monkeypatch):
    """The target directory is created and ``stat``-ed once for the task; each file's final path is
    ``lstat``-ed for the decision and again right before its rename (the publish-time race check)."""
    data = {f"f{i}.bin": random.Random(i).randbytes(40 * KIB + i) for i in range(4)}
    session.collections.create(f"{HOME}/many")
    for name, blob in data.items():
        session.data_objects.write(f"{HOME}/many/{name}", blob)
    wire = SftpWire().install(monkeypatch)  # every request, blocking or sent together with others
    report = down(source_path=f"{HOME}/many", destination_path=remote.path("tree"), max_concurrent_files=2)
    assert report["transferred"] == len(data)
    assert {k: sha(v) for k, v in remote.files("tree").items()} == {k: sha(v) for k, v in data.items()}
    asked = Counter(what for events in wire.events.values() for kind, what in events if kind == "send")
    relative, target = remote.path("tree"), f"/{remote.path('tree')}"
    # Created once (stat: missing, mkdir; by its relative name, as given), then never asked again by the
    # four files (by either name).
    assert asked[f"stat {relative}"] + asked[f"stat {target}"] == 1
    assert asked[f"mkdir {relative}"] + asked[f"mkdir {target}"] == 1
    for name in data:
        assert asked[f"lstat {target}/{name}"] == 2, asked
        assert asked[f"stat {target}/{name}"] == 0


@pytest.mark.parametrize("direction", ["up", "down"])
def test_fresh_connections_lend_their_idle_client(remote, session, sftp_server, monkeypatch, direction):
    """With three connections, one file's range readers (upload) or range writers (download) take the
    new connections' own idle SFTP clients: no channel is opened for them on the way to the first byte
    (an upload reads on connection #0 through the file's own handle, so it needs no spare channel there)."""
    blob = random.Random(7).randbytes(4 * MIB + 3)
    channels = count_channels(monkeypatch)
    if direction == "up":
        remote.put("one.bin", blob)
        report = up(
            source_path=remote.path("one.bin"), destination_path=f"{HOME}/one.bin", sftp_connections=3
        )
        digest = base64.b64encode(hashlib.sha256(blob).digest()).decode()
        assert session.data_objects.calculate_checksum(f"{HOME}/one.bin") == f"sha2:{digest}"
        got = blob
    else:
        session.data_objects.write(f"{HOME}/one.bin", blob)
        report = down(
            source_path=f"{HOME}/one.bin", destination_path=remote.path("one.bin"), sftp_connections=3
        )
        got = remote.files()["one.bin"]
    assert report["transferred"] == 1
    assert sha(got) == sha(blob)
    assert channels == []
    stats = wait_all_closed(sftp_server)
    assert (stats["accepted"], stats["peak_open"]) == (3, 3)
    assert len([n for n in stats["data_bytes"] if n >= CHUNK]) == 3  # the bytes did go over all three


def use_unopened(endpoint: _endpoint.SftpEndpoint, raised: list[BaseException]) -> None:
    """Enter (no wait), ask an absolute path (no connection needed), a channel (raises, kept in ``raised``),
    then the login directory (raises again, out of the block)."""
    with endpoint:
        assert endpoint.resolve("/abs//path") == "/abs/path"
        with pytest.raises(IrodsSftpConnectionError, match="could not connect") as first:
            endpoint.open_channels(1)
        raised.append(first.value)
        endpoint.resolve("relative/path")


def test_a_failed_background_open_surfaces_typed_at_first_use(remote, sftp_server) -> None:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    hook = SFTPHook(ssh_conn_id="cluster")
    hook.conn_retry_attempts = 1
    sftp_server.inject(refuse_connections=1)
    endpoint = _endpoint.SftpEndpoint(hook, connect_attempts=1).open_in_background()
    raised: list[BaseException] = []
    with pytest.raises(IrodsSftpConnectionError, match="could not connect") as last:
        use_unopened(endpoint, raised)
    (first,) = raised
    assert isinstance(first.__cause__, paramiko.SSHException | EOFError | OSError)
    assert isinstance(last.value.__cause__, paramiko.SSHException | EOFError | OSError)
    assert sftp_server.injected_faults()["refused_connections"] == 1
    wait_all_closed(sftp_server)


def test_a_single_file_named_alone_keeps_its_name_in_an_existing_directory(remote, session, sftp_server):
    """The target of a single file is asked after the plan: an existing directory (collection) takes the
    file under its own name, any other target path is the file itself (both directions, no trailing /)."""
    blob = random.Random(3).randbytes(70 * KIB)
    session.data_objects.write(f"{HOME}/alone.bin", blob)
    remote.put("existing/.keep", b"")
    down(source_path=f"{HOME}/alone.bin", destination_path=remote.path("existing"))
    down(source_path=f"{HOME}/alone.bin", destination_path=remote.path("renamed.bin"))
    assert {k: sha(v) for k, v in remote.files().items()} == {
        "existing/.keep": sha(b""),
        "existing/alone.bin": sha(blob),
        "renamed.bin": sha(blob),
    }
    session.collections.create(f"{HOME}/into")
    up(source_path=remote.path("renamed.bin"), destination_path=f"{HOME}/into")
    up(source_path=remote.path("renamed.bin"), destination_path=f"{HOME}/as.bin")
    digest = "sha2:" + base64.b64encode(hashlib.sha256(blob).digest()).decode()
    assert session.data_objects.calculate_checksum(f"{HOME}/into/renamed.bin") == digest
    assert session.data_objects.calculate_checksum(f"{HOME}/as.bin") == digest


def test_an_upload_creates_only_the_deepest_collections(remote, session, sftp_server, monkeypatch):
    """Collections are created with intermediates, so only those no other lies below are asked for (one
    request per branch, not per level); a single file into an existing collection creates none."""
    from irods_provider.client._sync._fs import Collections

    created: list[str] = []
    real = Collections.create

    def create(self: Collections, path: str, **kwargs: Any) -> bool:
        created.append(path)
        return real(self, path, **kwargs)

    monkeypatch.setattr(Collections, "create", create)
    tree = {"x.csv": b"x", "b/y.csv": b"yy", "b/c/z.csv": b"zzz", "b-c/v.csv": b"v", "d/w.csv": b"w"}
    for rel, blob in tree.items():
        remote.put(f"src/{rel}", blob)
    up(source_path=remote.path("src"), destination_path=f"{HOME}/deep")
    assert created == [f"{HOME}/deep/b-c", f"{HOME}/deep/b/c", f"{HOME}/deep/d"]
    for rel, blob in tree.items():
        assert session.data_objects.read(f"{HOME}/deep/{rel}") == blob
    created.clear()
    up(source_path=remote.path("src/b/y.csv"), destination_path=f"{HOME}/deep/d")  # an existing collection
    assert created == []
    assert session.data_objects.read(f"{HOME}/deep/d/y.csv") == b"yy"
