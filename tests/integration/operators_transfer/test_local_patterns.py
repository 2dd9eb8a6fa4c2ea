"""The local side of the one pattern rule (issue 17): ``LocalToIrodsOperator`` and the client's planners.

A local ``data[1].csv`` beside ``data1.csv`` uploads only itself; a literal ``run[7].h5`` uploads;
``glob=True`` with ``**`` and ``[[]`` selects the same files at any depth, never through a symlinked
directory (a loop included) unless ``follow_symlinks``. Before the rule, any source holding ``[`` was a
glob: ``data[1].csv`` uploaded ``data1.csv`` and ``run[7].h5`` failed with an untyped ``FileNotFoundError``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from irods_provider.client.transfer._local import plan_local_sources
from irods_provider.exceptions import IrodsInvalidPathError, IrodsNotFoundError
from irods_provider.transfers.local_to_irods import LocalToIrodsOperator

HOME = "/tempZone/home/rods"


def up(**kwargs):
    return LocalToIrodsOperator(task_id="up", **kwargs).execute({})


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    root = tmp_path / "outbox"
    (root / "deep" / "er").mkdir(parents=True)
    (root / "data[1].csv").write_bytes(b"bracketed")
    (root / "data1.csv").write_bytes(b"plain")
    (root / "deep" / "er" / "data[1].csv").write_bytes(b"deep bracketed")
    (root / "deep" / "data1.csv").write_bytes(b"deep plain")
    (root / "run[7].h5").write_bytes(b"\x89HDF")
    return root


def _collection(session, path: str) -> dict[str, bytes]:
    entries = session.collections.iterate(path, recursive=True, with_stat=True)
    return {e.path[len(path) + 1 :]: session.data_objects.read(e.path) for e in entries if e.size is not None}


def test_a_literal_bracket_source_uploads_only_itself(session, outbox) -> None:
    report = up(source_path=str(outbox / "data[1].csv"), destination_path=f"{HOME}/in/")
    assert [f["source"] for f in report["files"]] == [str(outbox / "data[1].csv")]
    assert _collection(session, f"{HOME}/in") == {"data[1].csv": b"bracketed"}


def test_a_literal_run7_uploads_and_a_missing_one_says_pass_glob(session, outbox) -> None:
    report = up(source_path=str(outbox / "run[7].h5"), destination_path=f"{HOME}/run[7].h5")
    assert report["transferred"] == 1
    assert session.data_objects.read(f"{HOME}/run[7].h5") == b"\x89HDF"
    (outbox / "run8.h5").write_bytes(b"would match the class")
    with pytest.raises(IrodsInvalidPathError, match="pass glob=True to use it as a pattern"):
        up(source_path=str(outbox / "run[8].h5"), destination_path=f"{HOME}/x/")
    assert not session.collections.exists(f"{HOME}/x")


def test_glob_with_double_star_and_an_escaped_bracket(session, outbox) -> None:
    report = up(source_path=str(outbox / "**" / "data[[]1].csv"), glob=True, destination_path=f"{HOME}/g")
    assert report["transferred"] == 2
    assert _collection(session, f"{HOME}/g") == {
        "data[1].csv": b"bracketed",
        "deep/er/data[1].csv": b"deep bracketed",
    }


def test_a_glob_matching_nothing_is_a_typed_not_found(session, outbox) -> None:
    with pytest.raises(IrodsNotFoundError, match="no file matches"):
        up(source_path=str(outbox / "**" / "*.nothing"), glob=True, destination_path=f"{HOME}/g")


def test_pattern_walks_never_follow_symlinks_unless_asked_and_survive_loops(tmp_path, outbox) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data[1].csv").write_bytes(b"outside")
    os.symlink(elsewhere, outbox / "link")
    os.symlink(outbox, outbox / "deep" / "loop")  # a loop back to the root
    pattern = str(outbox / "**" / "data[[]1].csv")
    plain = plan_local_sources(pattern, f"{HOME}/p", glob=True)
    assert sorted(p.destination for p in plain) == [f"{HOME}/p/data[1].csv", f"{HOME}/p/deep/er/data[1].csv"]
    followed = plan_local_sources(pattern, f"{HOME}/p", glob=True, follow_symlinks=True)
    # The linked directory once; the loop back to the root is detected, not walked again.
    assert sorted(p.destination for p in followed) == [
        f"{HOME}/p/data[1].csv",
        f"{HOME}/p/deep/er/data[1].csv",
        f"{HOME}/p/link/data[1].csv",
    ]
    # Without glob the same text is one literal path, which does not exist.
    with pytest.raises(IrodsInvalidPathError, match="pass glob=True"):
        plan_local_sources(pattern, f"{HOME}/p")
