"""The automatic SSH connections start opening as soon as the files a plan has found ask for them, while
the plan goes on (a large file met early in a tree does not wait for the rest of the listing), and never
beyond what the whole plan asks: small files open none.

Proved by the order of events, never by the clock: the listing of a later directory (SFTP for an upload,
the zone's collection for a download) is held until connection #1 starts connecting; before, the
connections were opened once the whole plan was known, so the hold waited in vain. Every byte is compared.
"""

from __future__ import annotations

import hashlib
import random
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.sftp import _endpoint
from irods_provider.sftp._tree import SftpTree
from irods_provider.testing.sftp import EmbeddedSftpServer
from irods_provider.transfers import _staging
from irods_provider.transfers._staging import AutoCount, auto_connections
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from ssh_connections import wait_all_closed

pytestmark = pytest.mark.timeout(90)

HOME = "/tempZone/home/rods"
KIB, MIB = 1024, 1024 * 1024
CHUNK = 256 * KIB
HELD = 20.0  # seconds a held step waits for its event (a failure, not a pace)


@pytest.fixture(scope="module")
def sftp_server() -> Iterator[EmbeddedSftpServer]:
    with EmbeddedSftpServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_counts(sftp_server: EmbeddedSftpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counts from 0; the automatic count at one connection per MiB (a 3 MiB file asks for three)."""
    monkeypatch.setattr(_staging, "AUTO_BYTES_PER_CONNECTION", MIB)
    wait_all_closed(sftp_server)
    sftp_server.reset_connection_stats()


def tree_files(seed: int) -> dict[str, bytes]:
    """A large file at the top, small ones in a directory listed after it."""
    rng = random.Random(seed)
    small = {f"later/s{i}.bin": rng.randbytes(10 * KIB + i) for i in range(3)}
    return {"big.bin": rng.randbytes(3 * MIB + 7), **small}


class Connecting:
    """Records when connection #1 starts connecting; ``hold(...)`` makes a listing wait for that."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = threading.Event()
        self.events: list[str] = []
        real_open = _endpoint.SftpEndpoint._open_link

        def open_link(endpoint: _endpoint.SftpEndpoint, link: Any) -> None:
            if link.index == 1:
                self.events.append("connecting #1")
                self.started.set()
            real_open(endpoint, link)

        monkeypatch.setattr(_endpoint.SftpEndpoint, "_open_link", open_link)

    def hold(self, list_dir: Callable[..., Any], suffix: str) -> Callable[..., Any]:
        """``list_dir`` holding the listing of a path ending with ``suffix`` until #1 starts connecting."""

        def listing(tree: Any, path: str, *args: Any, **kwargs: Any) -> Any:
            if path.endswith(suffix):
                self.events.append("listing held: " + ("released" if self.started.wait(HELD) else "in vain"))
            return list_dir(tree, path, *args, **kwargs)

        return listing


def _upload(remote: Any, name: str) -> Any:
    """The upload operator's run from the SFTP directory ``name`` into the home collection's ``name``."""
    return SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=remote.path(name),
        destination_path=f"{HOME}/{name}",
        chunk_size=CHUNK,
    ).execute({})


def test_partial_counts_never_exceed_the_whole_plans() -> None:
    """What lets connections open before the plan is complete: each file added only raises the count."""
    rng = random.Random(3)
    sizes = [rng.choice([0, 4 * KIB, 700 * KIB, 40 * MIB, 300 * MIB]) for _ in range(300)]
    count, seen = AutoCount(), []
    for size in sizes:
        seen.append(count.add(size))
    assert seen == sorted(seen)
    assert seen[-1] == auto_connections(sizes)
    assert [auto_connections(sizes[: i + 1]) for i in range(len(sizes))] == seen


def test_an_upload_opens_connections_while_the_tree_is_still_listed(
    remote, session, sftp_server, monkeypatch
):
    data = tree_files(41)
    for name, blob in data.items():
        remote.put(f"tree/{name}", blob)
    connecting = Connecting(monkeypatch)
    monkeypatch.setattr(SftpTree, "list_dir", connecting.hold(SftpTree.list_dir, "/later"))
    report = _upload(remote, "tree")
    assert report["transferred"] == len(data)
    for name, blob in data.items():
        got = session.data_objects.read(f"{HOME}/tree/{name}")
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(blob).hexdigest()
    assert connecting.events[:2] == ["connecting #1", "listing held: released"], connecting.events
    stats = wait_all_closed(sftp_server)
    assert stats["accepted"] == 3  # what the whole plan asks (3 MiB and change), no more


def test_a_download_opens_connections_while_the_collection_is_still_listed(
    remote, session, sftp_server, monkeypatch
):
    from irods_provider.client.transfer._trees import IrodsTree

    data = tree_files(42)
    session.collections.create(f"{HOME}/coll/later", intermediates=True)
    for name, blob in data.items():
        session.data_objects.write(f"{HOME}/coll/{name}", blob)
    connecting = Connecting(monkeypatch)
    real_walk = IrodsTree.walk_files

    def walk_files(tree: IrodsTree, root: str, **kwargs: Any) -> Iterator[tuple[str, str, Any]]:
        for found in real_walk(tree, root, **kwargs):
            yield found
            if found[1] == "big.bin":  # the planner holds it; the rest of the listing waits
                released = connecting.started.wait(HELD)
                connecting.events.append("listing held: " + ("released" if released else "in vain"))

    monkeypatch.setattr(IrodsTree, "walk_files", walk_files)
    report = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/coll",
        destination_path=remote.path("back"),
        chunk_size=CHUNK,
    ).execute({})
    assert report["transferred"] == len(data)
    assert remote.files("back") == data
    assert connecting.events[:2] == ["connecting #1", "listing held: released"], connecting.events
    stats = wait_all_closed(sftp_server)
    assert stats["accepted"] == 3


def test_small_files_found_open_no_further_connection(remote, session, sftp_server, monkeypatch):
    """A tree of small files (below one connection's share in all) opens no further SSH connection."""
    rng = random.Random(43)
    data = {f"d{i}/f.bin": rng.randbytes(20 * KIB) for i in range(4)}
    for name, blob in data.items():
        remote.put(f"small/{name}", blob)
    connecting = Connecting(monkeypatch)
    report = _upload(remote, "small")
    assert report["transferred"] == len(data)
    assert connecting.events == []
    stats = wait_all_closed(sftp_server)
    assert stats["accepted"] == 1
