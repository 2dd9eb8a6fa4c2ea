"""The operators and hook shortcuts that download: sources whose path holds ``+`` (which no GET can address)
are read through a server-side copy in the user's home collection, verified against the original's
checksum, and the copy is removed afterwards, whether the task succeeds or fails."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from irods_provider.exceptions import IrodsChecksumMismatchError
from irods_provider.hooks.irods import IrodsHook
from irods_provider.transfers.irods_to_local import IrodsToLocalOperator
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from alias_runs import aliases, put_run, sha

HOME = "/tempZone/home/rods"
CHUNK = 256 * 1024
RUN = f"{HOME}/runs+x"
NAMES = ["run-2026-12-06T10:00:00+01:00.h5", "a+b.bin"]


def down(**kwargs: Any) -> dict[str, Any]:
    return IrodsToSFTPOperator(
        task_id="down", sftp_conn_id="cluster", chunk_size=CHUNK, remote_checksum=False, **kwargs
    ).execute({})


def test_irods_to_sftp_downloads_plus_paths(remote, session) -> None:
    blobs = put_run(session, RUN, NAMES)
    report = down(source_path=f"{RUN}/{NAMES[0]}", destination_path=remote.path("one.h5"))
    assert report["transferred"] == 1
    report = down(source_path=f"{RUN}/", destination_path=remote.path("tree/"), sftp_connections=2)
    assert report["transferred"] == 2
    assert sha(remote.files()["one.h5"]) == sha(blobs[NAMES[0]])
    assert {k: sha(v) for k, v in remote.files("tree").items()} == {k: sha(v) for k, v in blobs.items()}
    assert aliases(session) == []


def test_irods_to_local_downloads_plus_paths(irods, session, tmp_path) -> None:
    blobs = put_run(session, RUN, NAMES)
    IrodsToLocalOperator(
        task_id="get", source_path=f"{RUN}/{NAMES[0]}", destination_path=str(tmp_path / "one.h5")
    ).execute({})
    IrodsToLocalOperator(task_id="tree", source_path=f"{RUN}/", destination_path=f"{tmp_path}/tree/").execute(
        {}
    )
    assert sha((tmp_path / "one.h5").read_bytes()) == sha(blobs[NAMES[0]])
    got = {p.name: sha(p.read_bytes()) for p in (tmp_path / "tree").iterdir()}
    assert got == {k: sha(v) for k, v in blobs.items()}
    assert aliases(session) == []


def test_hook_read_bytes_of_a_plus_path(irods, session) -> None:
    blobs = put_run(session, RUN, NAMES)
    with IrodsHook() as hook:
        assert hook.read_bytes(f"{RUN}/{NAMES[1]}") == blobs[NAMES[1]]
        assert hook.read_text(f"{RUN}/{NAMES[1]}", encoding="latin-1") == blobs[NAMES[1]].decode("latin-1")
    assert aliases(session) == []


def corrupt_copies(monkeypatch, session) -> None:
    """Every server-side copy gets other bytes of the same size right after it is made (a bad copy)."""
    api_type = type(session.data_objects)
    original = api_type.copy

    def copy(self, src: str, dst: str, **kwargs: Any) -> None:
        original(self, src, dst, **kwargs)
        self.write(dst, b"\0" * session.collections.lookup(dst).size)

    monkeypatch.setattr(api_type, "copy", copy)


def test_a_corrupted_alias_fails_the_sftp_download(remote, session, monkeypatch) -> None:
    put_run(session, RUN, NAMES)
    corrupt_copies(monkeypatch, session)
    with pytest.raises(IrodsChecksumMismatchError):
        down(source_path=f"{RUN}/{NAMES[0]}", destination_path=remote.path("one.h5"), resume=False)
    assert "one.h5" not in remote.files()
    assert aliases(session) == []


def test_a_corrupted_alias_fails_read_bytes(irods, session, monkeypatch) -> None:
    put_run(session, RUN, NAMES)
    corrupt_copies(monkeypatch, session)
    with IrodsHook() as hook, pytest.raises(IrodsChecksumMismatchError):
        hook.read_bytes(f"{RUN}/{NAMES[1]}")
    assert aliases(session) == []
