"""Staging asks each destination once per file for the skip/overwrite decision: an SFTP destination one
``lstat`` (SFTP requests counted by path), an iRODS destination one data-object ``stat`` (client calls
counted by path), whatever the skip policy; the publish-time race checks come on top, where they were."""

from __future__ import annotations

import collections
import os
import sys
import threading
from pathlib import Path

import pytest

from irods_provider.client._sync._fs import DataObjects
from irods_provider.exceptions import IrodsAlreadyExistsError
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from sftp_wire import SftpWire

HOME = "/tempZone/home/rods"
KIB = 1024
CHUNK = 64 * KIB
FILES = {"small.bin": os.urandom(4 * KIB), "large.bin": os.urandom(3 * CHUNK + 5)}
SKIPS = ("exists", "size", "checksum")


def up(**kwargs):
    return SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", chunk_size=CHUNK, **kwargs).execute({})


def down(**kwargs):
    return IrodsToSFTPOperator(task_id="down", sftp_conn_id="cluster", chunk_size=CHUNK, **kwargs).execute({})


def _counting(monkeypatch: pytest.MonkeyPatch, owner: type, names: tuple[str, ...]) -> collections.Counter:
    """Count calls of ``owner``'s methods ``names`` by the basename of the path they name."""
    seen: collections.Counter[str] = collections.Counter()
    for name in names:
        real = getattr(owner, name)

        def counted(self, path, *args, _real=real, **kwargs):  # type: ignore[no-untyped-def]
            seen[str(path).rsplit("/", 1)[-1]] += 1
            return _real(self, path, *args, **kwargs)

        monkeypatch.setattr(owner, name, counted)
    return seen


class _SftpAsked:
    """``lstat`` and ``stat`` requests by the basename of the path they name, as sent on the wire (alone or
    together with others in one round trip)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.wire = SftpWire().install(monkeypatch)

    def __getitem__(self, name: str) -> int:
        sent = [what for events in self.wire.events.values() for kind, what in events if kind == "send"]
        kinds = ("lstat", "stat")
        return sum(1 for what in sent if what.split(" ", 1)[0] in kinds and what.endswith(f"/{name}"))

    def clear(self) -> None:
        self.wire.events.clear()


def test_an_sftp_destination_is_lstat_once_per_file(remote, session, monkeypatch) -> None:
    session.collections.create(f"{HOME}/out")
    for name, blob in FILES.items():
        session.data_objects.write(f"{HOME}/out/{name}", blob)
    asked = _SftpAsked(monkeypatch)
    assert down(source_path=f"{HOME}/out", destination_path=remote.path("d"))["transferred"] == 2
    # The decision's lstat; the publish's lstat of the final name (also the REFUSE race check after the copy).
    assert {name: asked[name] for name in FILES} == dict.fromkeys(FILES, 2)
    for skip in SKIPS:
        asked.clear()
        report = down(source_path=f"{HOME}/out", destination_path=remote.path("d"), skip=skip)
        assert (report["skipped"], report["transferred"]) == (2, 0), skip
        assert {name: asked[name] for name in FILES} == dict.fromkeys(FILES, 1), skip
    asked.clear()
    with pytest.raises(IrodsAlreadyExistsError, match="already exists") as refused:
        down(source_path=f"{HOME}/out/large.bin", destination_path=remote.path("d/"))
    assert refused.value.path.endswith("/d/large.bin")
    assert asked["large.bin"] == 1  # refused on the decision's answer, nothing copied
    assert remote.files("d") == FILES


def test_an_irods_destination_is_stat_once_per_file_when_staging_in(remote, session, monkeypatch) -> None:
    for name, blob in FILES.items():
        remote.put(f"src/{name}", blob)
    asked = _counting(monkeypatch, DataObjects, ("stat", "exists"))
    assert up(source_path=remote.path("src"), destination_path=f"{HOME}/in")["transferred"] == 2
    # No skip policy: a small file is not asked (its publishing rename refuses an existing object).
    assert {name: asked[name] for name in FILES} == {"small.bin": 0, "large.bin": 1}
    for skip in SKIPS:
        asked.clear()
        report = up(source_path=remote.path("src"), destination_path=f"{HOME}/in", skip=skip)
        assert (report["skipped"], report["transferred"]) == (2, 0), skip
        assert {f["reason"] for f in report["files"]} == {
            "exists": {"destination exists"},
            "size": {"same size"},
            "checksum": {"same checksum"},
        }[skip]
        assert {name: asked[name] for name in FILES} == dict.fromkeys(FILES, 1), skip
    remote.put("src/large.bin", os.urandom(len(FILES["large.bin"])))  # same size, other bytes
    asked.clear()
    with pytest.raises(IrodsAlreadyExistsError, match="already exists") as refused:
        up(source_path=remote.path("src/large.bin"), destination_path=f"{HOME}/in/", skip="checksum")
    assert refused.value.path == f"{HOME}/in/large.bin"
    assert asked["large.bin"] == 1  # decided once; upload_object is told, not asking again
    assert session.data_objects.read(f"{HOME}/in/large.bin") == FILES["large.bin"]


def test_a_downloaded_data_object_is_stat_once_to_plan(remote, session, monkeypatch) -> None:
    # The plan asked "is it a data object?" (a stat) and then stat-ed it again for its size, one round trip
    # on the critical path before the further SSH connections could open. The file's own stat before it is
    # read (the version it copies) came on top: now the copy takes the plan's (its reads start with it).
    from irods_provider.client._sync._session import IrodsSession

    session.data_objects.write(f"{HOME}/one.bin", FILES["large.bin"])
    asked: collections.Counter[str] = collections.Counter()
    real = IrodsSession.execute

    def counted(self, op, *args, **kwargs):  # type: ignore[no-untyped-def]
        asked[op.name] += 1
        return real(self, op, *args, **kwargs)

    monkeypatch.setattr(IrodsSession, "execute", counted)
    assert down(source_path=f"{HOME}/one.bin", destination_path=remote.path("one/"))["transferred"] == 1
    assert asked["data_objects.stat"] == 1
    assert asked["collections.stat"] == 0
    assert remote.files("one") == {"one.bin": FILES["large.bin"]}


@pytest.mark.parametrize("exists", [True, False])
def test_the_destination_collection_costs_one_round_trip(remote, session, monkeypatch, exists) -> None:
    # A create answers created=false for anything in place (a data object too), so an existing collection
    # cost the create and then a stat, one after the other: the stat now goes out alongside the create.
    # (One file named alone asks its parent alongside its target instead: test_upload_first_bytes.py.)
    from irods_provider.client._sync._session import IrodsSession

    remote.put("src/one.bin", FILES["small.bin"])
    if exists:
        session.collections.create(f"{HOME}/into")
    asked: collections.Counter[str] = collections.Counter()
    stat_sent = threading.Event()
    overlapped: list[bool] = []
    real = IrodsSession.execute

    def counted(self, op, *args, **kwargs):  # type: ignore[no-untyped-def]
        if op.path == f"{HOME}/into":
            asked[op.name] += 1
            if op.name == "collections.stat":
                stat_sent.set()
            elif op.name == "collections.create":  # held until the stat is on its way, if it ever is
                overlapped.append(stat_sent.wait(5))
        return real(self, op, *args, **kwargs)

    monkeypatch.setattr(IrodsSession, "execute", counted)
    report = up(
        source_path=remote.path("src"), destination_path=f"{HOME}/into"
    )  # a tree: no single-file shortcut
    assert report["transferred"] == 1
    assert dict(asked) == {"collections.stat": 1, "collections.create": 1}
    assert overlapped == [True]
    assert session.data_objects.read(f"{HOME}/into/one.bin") == FILES["small.bin"]


def test_a_data_object_in_place_of_the_destination_collection_is_refused(remote, session) -> None:
    remote.put("src/one.bin", FILES["small.bin"])
    session.data_objects.write(f"{HOME}/blocker", b"x")
    with pytest.raises(IrodsAlreadyExistsError) as refused:
        up(source_path=remote.path("src/one.bin"), destination_path=f"{HOME}/blocker/one.bin")
    assert refused.value.path == f"{HOME}/blocker"
    assert session.data_objects.read(f"{HOME}/blocker") == b"x"
