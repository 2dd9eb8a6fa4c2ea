"""The SFTP side of the one pattern rule (issue 17), both directions, on the embedded and OpenSSH servers.

A source is literal unless ``glob=True``: ``data[1].csv`` beside ``data1.csv`` stages only itself, a literal
``run[7].h5`` stages, a missing literal is a typed ``IrodsNotFoundError`` saying "pass glob=True"; with
``glob=True`` a ``**`` pattern with an escaped ``[`` (``[[]``) selects the same files at any depth. Before the
rule every source holding ``[`` was a glob (``data[1].csv`` staged ``data1.csv``; ``run[7].h5`` raised an
untyped ``FileNotFoundError``).
"""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsNotFoundError
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

HOME = "/tempZone/home/rods"


def up(**kwargs):
    return SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", **kwargs).execute({})


def down(**kwargs):
    return IrodsToSFTPOperator(task_id="down", sftp_conn_id="cluster", **kwargs).execute({})


def _collection(session, path: str) -> dict[str, bytes]:
    entries = session.collections.iterate(path, recursive=True, with_stat=True)
    return {e.path[len(path) + 1 :]: session.data_objects.read(e.path) for e in entries if e.size is not None}


@pytest.fixture
def cluster_files(remote) -> None:
    remote.put("src/data[1].csv", b"bracketed")
    remote.put("src/data1.csv", b"plain")
    remote.put("src/deep/er/data[1].csv", b"deep bracketed")
    remote.put("src/deep/data1.csv", b"deep plain")
    remote.put("src/run[7].h5", b"\x89HDF")


def test_sftp_to_irods_literal_and_glob(remote, session, cluster_files) -> None:
    report = up(source_path=remote.path("src/data[1].csv"), destination_path=f"{HOME}/lit/")
    assert report["transferred"] == 1
    assert _collection(session, f"{HOME}/lit") == {"data[1].csv": b"bracketed"}
    up(source_path=remote.path("src/run[7].h5"), destination_path=f"{HOME}/lit/")
    assert session.data_objects.read(f"{HOME}/lit/run[7].h5") == b"\x89HDF"

    report = up(source_path=remote.path("src/**/data[[]1].csv"), glob=True, destination_path=f"{HOME}/g")
    assert _collection(session, f"{HOME}/g") == {
        "data[1].csv": b"bracketed",
        "deep/er/data[1].csv": b"deep bracketed",
    }
    remote.put("src/run8.h5", b"what the class would match")
    with pytest.raises(IrodsNotFoundError, match="pass glob=True to use it as a pattern"):
        up(source_path=remote.path("src/run[8].h5"), destination_path=f"{HOME}/none/")
    assert not session.collections.exists(f"{HOME}/none")


def test_irods_to_sftp_literal_and_glob(remote, session) -> None:
    session.collections.create(f"{HOME}/out/deep/er", intermediates=True)
    for path, data in {
        "data[1].csv": b"bracketed",
        "data1.csv": b"plain",
        "deep/er/data[1].csv": b"deep bracketed",
        "deep/data1.csv": b"deep plain",
    }.items():
        session.data_objects.write(f"{HOME}/out/{path}", data)
    report = down(source_path=f"{HOME}/out/data[1].csv", destination_path=remote.path("lit") + "/")
    assert [f["source"] for f in report["files"]] == [f"{HOME}/out/data[1].csv"]
    assert remote.files("lit") == {"data[1].csv": b"bracketed"}

    down(source_path=f"{HOME}/out/**/data[[]1].csv", glob=True, destination_path=remote.path("g"))
    assert remote.files("g") == {"data[1].csv": b"bracketed", "deep/er/data[1].csv": b"deep bracketed"}
    with pytest.raises(IrodsNotFoundError, match="pass glob=True to use it as a pattern") as caught:
        down(source_path=f"{HOME}/out/data[2].csv", destination_path=remote.path("none") + "/")
    assert caught.value.path == f"{HOME}/out/data[2].csv"
