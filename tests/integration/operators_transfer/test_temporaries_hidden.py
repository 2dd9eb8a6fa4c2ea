"""The engine's in-flight temporaries (``.<name>.irods-part-<key>``) are never selected as data."""

from __future__ import annotations

from irods_provider.client._paths import is_temporary_name
from irods_provider.client.transfer import plan_local_sources
from irods_provider.operators.irods import IrodsListCollectionOperator
from irods_provider.operators.transfer import IrodsToLocalOperator

HOME = "/tempZone/home/rods"
TEMP = ".a.csv.irods-part-3f2a9c0d11e4b5a6"


def test_the_name_rule() -> None:
    assert is_temporary_name(TEMP)
    assert is_temporary_name(".a.csv.irods-old-0123456789ab")
    assert is_temporary_name(".a.csv.irods-part-3f2a9c0d11e4b5a6-1a2b3c4d")
    assert not is_temporary_name("a.csv.irods-part-3f2a")  # not hidden: a user's name
    assert not is_temporary_name(".a.csv")
    assert not is_temporary_name(".a.csv.irods-part-")


def test_listings_sensors_and_downloads_skip_temporaries(session, tmp_path) -> None:
    from irods_provider.hooks._checks import path_matches, run_sync

    session.collections.create(f"{HOME}/in", intermediates=True)
    session.data_objects.write(f"{HOME}/in/a.csv", b"done")
    session.data_objects.write(f"{HOME}/in/{TEMP}", b"half")
    names = sorted(e.name for e in session.collections.iterate(f"{HOME}/in"))
    assert names == ["a.csv"]
    every = sorted(e.name for e in session.collections.iterate(f"{HOME}/in", include_temporaries=True))
    assert every == sorted(["a.csv", TEMP])
    listed = IrodsListCollectionOperator(task_id="l", path=f"{HOME}/in").execute(context={})
    assert [e["path"] for e in listed["entries"]] == [f"{HOME}/in/a.csv"]
    matches = run_sync(path_matches(f"{HOME}/in/.*"), session)
    assert matches == []  # a glob sensor never fires on a half-written object
    report = IrodsToLocalOperator(
        task_id="d", source_path=f"{HOME}/in", destination_path=str(tmp_path / "out")
    ).execute(context={})
    assert sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file()) == ["a.csv"]
    assert report["transferred"] == 1


def test_a_partial_local_download_is_not_uploaded(tmp_path) -> None:
    (tmp_path / "a.csv").write_bytes(b"done")
    (tmp_path / ".b.csv.irods-part-0123456789ab").write_bytes(b"partial")
    plan = plan_local_sources([str(tmp_path)], f"{HOME}/up")
    assert [p.destination for p in plan] == [f"{HOME}/up/a.csv"]
