"""IrodsDeleteOperator: a literal path stays literal (``data[1].csv``); globs when asked, ``**``, no_trash."""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsCollectionNotEmptyError, IrodsNotFoundError, IrodsUsageError
from irods_provider.operators.irods import IrodsDeleteOperator

HOME = "/tempZone/home/rods"
BASE = f"{HOME}/del"


def run(op):
    return op.execute(context={})


def _objects(irods, prefix: str = BASE + "/") -> list[str]:
    with irods.model.lock:
        return sorted(p for p in irods.model.data_objects if p.startswith(prefix))


@pytest.fixture
def files(irods, session) -> dict[str, bytes]:
    session.collections.create(f"{BASE}/a/b", intermediates=True)
    contents = {
        f"{BASE}/data[1].csv": b"bracketed",
        f"{BASE}/data1.csv": b"plain",
        f"{BASE}/keep.txt": b"text",
        f"{BASE}/a/x.csv": b"x",
        f"{BASE}/a/b/y.csv": b"y",
        f"{BASE}/a/b/z.txt": b"z",
        f"{BASE}/.x.csv.irods-part-0123456789abcdef": b"in flight",
    }
    for path, data in contents.items():
        session.data_objects.write(path, data)
    return contents


def test_literal_path_with_brackets_deletes_only_that_object(irods, session, files) -> None:
    result = run(IrodsDeleteOperator(task_id="d", paths=f"{BASE}/data[1].csv", no_trash=True))
    assert result["deleted"] == [f"{BASE}/data[1].csv"]
    assert session.data_objects.read(f"{BASE}/data1.csv") == b"plain"
    assert _objects(irods) == sorted(p for p in files if p != f"{BASE}/data[1].csv")
    with irods.model.lock:  # no_trash: nothing went to the trash
        assert not [p for p in irods.model.data_objects if "/trash/" in p]


def test_the_same_text_as_a_glob_matches_the_class(irods, session, files) -> None:
    result = run(IrodsDeleteOperator(task_id="d", paths=f"{BASE}/data[1].csv", glob=True))
    assert result["deleted"] == [f"{BASE}/data1.csv"]  # [1] is a character class
    assert session.data_objects.read(f"{BASE}/data[1].csv") == b"bracketed"
    with irods.model.lock:  # without no_trash the object went to the trash
        assert [p for p in irods.model.data_objects if "/trash/" in p] == [
            "/tempZone/trash/home/rods/del/data1.csv"
        ]


def test_double_star_spans_depths_and_skips_temporaries(irods, session, files) -> None:
    result = run(IrodsDeleteOperator(task_id="d", paths=f"{BASE}/**/*.csv", glob=True, no_trash=True))
    expected = sorted([f"{BASE}/data[1].csv", f"{BASE}/data1.csv", f"{BASE}/a/x.csv", f"{BASE}/a/b/y.csv"])
    assert result["deleted"] == expected
    assert (result["deleted_count"], result["truncated"], result["missing"]) == (4, False, [])
    assert _objects(irods) == sorted(
        [f"{BASE}/keep.txt", f"{BASE}/a/b/z.txt", f"{BASE}/.x.csv.irods-part-0123456789abcdef"]
    )
    # One segment only: "*" does not cross "/".
    with pytest.raises(IrodsNotFoundError, match="no data object matches this pattern"):
        run(IrodsDeleteOperator(task_id="d", paths=f"{BASE}/*/*.txt", glob=True, no_trash=True))
    assert session.data_objects.exists(f"{BASE}/a/b/z.txt")


def test_bounded_report(irods, session) -> None:
    session.collections.create(BASE, intermediates=True)
    for i in range(60):
        session.data_objects.write(f"{BASE}/f{i:02d}.log", b"")
    result = run(
        IrodsDeleteOperator(
            task_id="d", paths=f"{BASE}/*.log", glob=True, no_trash=True, max_report_bytes=512
        )
    )
    assert result["deleted_count"] == 60
    assert result["truncated"] is True
    assert 0 < len(result["deleted"]) < 60
    assert result["deleted"] == [f"{BASE}/f{i:02d}.log" for i in range(len(result["deleted"]))]
    assert _objects(irods) == []


def test_bad_inputs_change_nothing(irods, session, files) -> None:
    before = _objects(irods)
    with pytest.raises(IrodsNotFoundError, match="no data object matches this pattern") as err:
        run(IrodsDeleteOperator(task_id="d", paths=[f"{BASE}/*.txt", f"{BASE}/*.parquet"], glob=True))
    assert err.value.path == f"{BASE}/*.parquet"
    with pytest.raises(IrodsNotFoundError, match="no data object matches"):
        run(IrodsDeleteOperator(task_id="d", paths=f"{HOME}/nowhere/**/*.csv", glob=True))
    with pytest.raises(IrodsNotFoundError, match="nothing to delete at this path"):
        run(IrodsDeleteOperator(task_id="d", paths=[f"{BASE}/keep.txt", f"{BASE}/data*.csv"]))
    with pytest.raises(IrodsUsageError, match="glob must be True or False"):
        run(IrodsDeleteOperator(task_id="d", paths=f"{BASE}/*.csv", glob="yes"))
    assert _objects(irods) == before
    skipped = run(IrodsDeleteOperator(task_id="d", paths=f"{BASE}/*.parquet", glob=True, ignore_missing=True))
    assert skipped == {
        "deleted": [],
        "missing": [f"{BASE}/*.parquet"],
        "deleted_count": 0,
        "truncated": False,
    }
    assert _objects(irods) == before


def test_a_class_whose_range_spans_slash_deletes_within_one_segment(irods, session) -> None:
    """``run[ -~]1`` (any printable character) names ``runX1``, never ``run/1`` in a sub-collection."""
    session.collections.create(f"{BASE}/run", intermediates=True)
    session.data_objects.write(f"{BASE}/run/1", b"inside a sub-collection")
    session.data_objects.write(f"{BASE}/runX1", b"top level")
    result = run(IrodsDeleteOperator(task_id="d", paths=f"{BASE}/**/run[ -~]1", glob=True, no_trash=True))
    assert result["deleted"] == [f"{BASE}/runX1"]
    assert session.data_objects.read(f"{BASE}/run/1") == b"inside a sub-collection"


@pytest.mark.parametrize("inner", ["a/b/y.csv", "a/b/*.csv", "a/b"])
@pytest.mark.parametrize("ignore_missing", [False, True])
def test_a_target_inside_a_recursively_deleted_collection_is_not_deleted_twice(
    irods, session, files, inner: str, ignore_missing: bool
) -> None:
    """``[a/b/y.csv, a]`` with recurse: ``a`` takes ``a/b/y.csv`` along; no IrodsNotFoundError after it."""
    result = run(
        IrodsDeleteOperator(
            task_id="d",
            paths=[f"{BASE}/{inner}", f"{BASE}/a"],
            glob="*" in inner,
            recurse=True,
            ignore_missing=ignore_missing,
        )
    )
    assert result == {"deleted": [f"{BASE}/a"], "missing": [], "deleted_count": 1, "truncated": False}
    assert not session.collections.exists(f"{BASE}/a")
    assert [p for p in _objects(irods) if p.startswith(f"{BASE}/a/")] == []
    assert session.data_objects.read(f"{BASE}/keep.txt") == b"text"


def test_without_recurse_contents_named_with_their_collection_go_first(irods, session) -> None:
    """``[c, c/x]`` without recurse: ``c/x`` is deleted before ``c``, which is then empty."""
    session.collections.create(f"{BASE}/c", intermediates=True)
    session.data_objects.write(f"{BASE}/c/x", b"x")
    result = run(IrodsDeleteOperator(task_id="d", paths=[f"{BASE}/c", f"{BASE}/c/x"], no_trash=True))
    assert sorted(result["deleted"]) == [f"{BASE}/c", f"{BASE}/c/x"]
    assert not session.collections.exists(f"{BASE}/c")
    session.collections.create(f"{BASE}/c")
    session.data_objects.write(f"{BASE}/c/x", b"x")
    session.data_objects.write(f"{BASE}/c/y", b"not named")
    with pytest.raises(IrodsCollectionNotEmptyError) as not_empty:
        run(IrodsDeleteOperator(task_id="d", paths=[f"{BASE}/c", f"{BASE}/c/x"], no_trash=True))
    assert not_empty.value.path == f"{BASE}/c"
    assert session.data_objects.read(f"{BASE}/c/y") == b"not named"
