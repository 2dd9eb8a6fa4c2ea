"""A resumable SFTP temporary whose source was replaced is found again by the next attempt and removed.

The resume record used to be named after the source's version: once the data object changed, the retry
looked for another record, created a new temporary and left the old one on the cluster for good (hidden,
as big as what was copied). Now the record is kept per task, endpoint and destination, with the version
inside it: a retry that finds a record for another version removes that temporary (never following a link)
before starting afresh, whatever its ``resume`` setting.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client.transfer import TransferConfig, download_object
from irods_provider.exceptions import IrodsTransferCancelledError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from first_progress import AfterFirstChunk

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=2, chunk_size=CHUNK, retries=0, backoff_base_seconds=0.0)
OLD = os.urandom(24 * CHUNK + 7)
NEW = os.urandom(20 * CHUNK + 1)


@pytest.fixture(params=[1, 2], ids=["1-connection", "2-connections"])
def endpoint(remote: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from irods_provider.sftp import SftpEndpoint

    with SftpEndpoint(SFTPHook(ssh_conn_id="cluster"), connections=request.param) as sftp:
        yield sftp


@pytest.fixture
def store(tmp_path: Path) -> Any:
    from irods_provider.sftp._resume_store import ResumeStore

    return ResumeStore(tmp_path / "records")


def _sink(endpoint: Any, client: Any, remote: Any, store: Any) -> Any:
    from irods_provider.sftp._sink import SftpStagingSink, target_root

    root = target_root(endpoint, remote.path("out"))
    return SftpStagingSink(
        endpoint,
        client,
        f"{root}/f.bin",
        root=root,
        store=store,
        identity=("t",),
        chunk_size=CHUNK,
        remote_checksum=False,
    )


def _killed_midway(session: Any, endpoint: Any, remote: Any, store: Any, source: str) -> bytes:
    """A resumable download stopped after its first chunk: its temporary and record stay."""
    cancel = threading.Event()
    with endpoint.channel() as client, pytest.raises(IrodsTransferCancelledError):
        download_object(
            session,
            source,
            _sink(endpoint, client, remote, store),
            config=CFG,
            cancel_event=cancel,
            subscribers=[AfterFirstChunk(cancel.set)],
        )
    (kept,) = remote.files("out").values()
    assert OLD.startswith(kept)
    return kept


@pytest.mark.parametrize("resume", [True, False], ids=["resume", "no-resume"])
def test_the_retry_after_the_source_was_replaced_leaves_no_stale_temporary(
    session: Any, remote: Any, endpoint: Any, store: Any, resume: bool
) -> None:
    source = f"{HOME}/replaced.bin"
    session.data_objects.write(source, OLD)
    _killed_midway(session, endpoint, remote, store, source)
    session.data_objects.write(source, NEW, truncate=True)  # a new version: other size and checksum
    with endpoint.channel() as client:
        result = download_object(
            session, source, _sink(endpoint, client, remote, store), config=CFG, resume=resume
        )
    assert result.resumed_from == 0
    files = remote.files("out")
    assert list(files) == ["f.bin"]  # no .f.bin.irods-part-* left behind
    assert hashlib.sha256(files["f.bin"]).hexdigest() == hashlib.sha256(NEW).hexdigest()
    assert list(store.directory.iterdir()) == []


def test_the_same_version_still_resumes(session: Any, remote: Any, endpoint: Any, store: Any) -> None:
    source = f"{HOME}/same.bin"
    session.data_objects.write(source, OLD)
    kept = _killed_midway(session, endpoint, remote, store, source)
    with endpoint.channel() as client:
        result = download_object(session, source, _sink(endpoint, client, remote, store), config=CFG)
    assert result.resumed_from == len(kept)  # its record found: the kept temporary continued
    assert remote.files("out") == {"f.bin": OLD}
    assert list(store.directory.iterdir()) == []
