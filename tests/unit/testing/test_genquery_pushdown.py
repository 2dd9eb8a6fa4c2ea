"""The emulator's COLL_NAME pushdown: the same answer as evaluating every row, without building them all.

Planning a 100,000-object collection spent seconds per query building a row for every object of the zone
(the catalog answers from its index on the collection name); the pushdown must never change an answer.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from irods_provider.testing import EmulatorConfig
from irods_provider.testing._genquery import GenQueryError, coll_name_filter, execute_genquery1
from irods_provider.testing._model import EmulatorModel

HOME = "/tempZone/home/rods"

QUERIES = [
    f"select COLL_NAME, DATA_NAME, DATA_SIZE where COLL_NAME = '{HOME}/a'",
    f"select COLL_NAME, DATA_NAME where COLL_NAME like '{HOME}/a/%'",
    f"select COLL_NAME, DATA_NAME where COLL_NAME like '{HOME}/a%'",
    f"select COLL_NAME, DATA_NAME where COLL_NAME in ('{HOME}/a', '{HOME}/b/x')",
    f"select COLL_NAME, DATA_NAME where COLL_NAME != '{HOME}/a' and DATA_NAME like 'o%'",
    f"select COLL_NAME, DATA_NAME where COLL_NAME = '{HOME}/A'",
    f"select COLL_NAME where COLL_NAME like '{HOME}/b%'",
    f"select COLL_NAME, count(DATA_NAME) where COLL_NAME like '{HOME}/%'",
    f"select COLL_NAME, DATA_NAME where COLL_NAME parent_of '{HOME}/a/deep'",
    f"select COLL_NAME, DATA_NAME where COLL_NAME begin_of '{HOME}/a/deep/x'",
]


@pytest.fixture
def model(tmp_path: Path) -> EmulatorModel:
    zone = EmulatorModel(EmulatorConfig(spool_dir=tmp_path / "spool"))
    with zone.lock:
        for coll in ("a", "a/deep", "b", "b/x", "ab"):
            zone.create_collection("rods", f"{HOME}/{coll}", intermediates=True)
        for i, coll in enumerate(["a", "a", "a/deep", "b", "b/x", "ab", "ab"] * 3):
            zone.create_data_object("rods", f"{HOME}/{coll}/o{i:02d}")
    return zone


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("case_sensitive", [True, False])
@pytest.mark.parametrize("release", [(4, 3, 2), (5, 0, 1)])
def test_pushdown_answers_as_the_full_scan(
    model: EmulatorModel, query: str, case_sensitive: bool, release: tuple[int, int, int]
) -> None:
    if release < (5, 0, 0) and not case_sensitive and "_of" in query:
        # 4.3's catalog looks for a lower-case begin_of/parent_of in the upper-cased query: refused.
        with pytest.raises(GenQueryError, match="CAT_INVALID_ARGUMENT"):
            coll_name_filter(query, case_sensitive=case_sensitive, release=release)
        return
    pushed = coll_name_filter(query, case_sensitive=case_sensitive, release=release)
    assert pushed is not None
    run = partial(execute_genquery1, query, case_sensitive=case_sensitive, release=release, count=10_000)
    full = run(partial(model.fetch_rows, "rods"))
    assert run(partial(model.fetch_rows, "rods", collections=pushed)) == full
    if query == QUERIES[0] and case_sensitive:
        assert [row[1] for row in full] == ["o00", "o01", "o07", "o08", "o14", "o15"]


def test_pushdown_refuses_other_collections_and_is_absent_without_coll_name() -> None:
    pushed = coll_name_filter(f"select DATA_NAME where COLL_NAME like '{HOME}/a/%'")
    assert pushed is not None
    assert pushed(f"{HOME}/a/deep")
    assert not pushed(f"{HOME}/a")
    assert not pushed(f"{HOME}/ab")
    insensitive = coll_name_filter(f"select DATA_NAME where COLL_NAME = '{HOME}/a'", case_sensitive=False)
    assert insensitive is not None
    assert insensitive(f"{HOME.upper()}/A")
    assert not insensitive(f"{HOME}/b")
    assert coll_name_filter("select DATA_NAME where DATA_NAME = 'o01'") is None


def test_rows_of_refused_collections_are_never_built(model: EmulatorModel) -> None:
    asked: list[str] = []

    def only_b(path: str) -> bool:
        asked.append(path)
        return path == f"{HOME}/b"

    rows = model.fetch_rows("rods", frozenset({"DATA", "COLL"}), collections=only_b)
    assert sorted(row["DATA_NAME"] for row in rows) == ["o03", "o10", "o17"]
    assert len(asked) == len(set(asked)), "the filter is asked once per collection, not once per object"
