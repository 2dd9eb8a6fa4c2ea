"""Data objects whose path holds ``'``: stat and read as a real HTTP API built with each iRODS release.

Both handlers take the size from ``fs::client::data_object_size`` (data_objects/src/main.cpp:762 read,
:2025 stat at 0.7.0), whose GenQuery1 string pastes the parent collection and the name verbatim on iRODS
4.3 (lib/filesystem/src/filesystem.cpp:745-750 at 4.3.4): an odd number of quotes in either merges the
conditions (rcMisc.cpp ``getCondFromString``/``goodStrExpr``), nothing matches, and it throws
SYS_NO_GOOD_REPLICA (:761-763): stat answers it at HTTP 200 (:2031-2035), read answers HTTP 500 with an
empty body (:1013-1016). iRODS 5.0 writes each quote as ``\\x27`` (``single_quotes_to_hex``, filesystem.cpp
:751-752 at 5.0.2): every such path is found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx2
import pytest
from emulator_http import Api, code

from irods_provider._error_codes import error_code
from irods_provider.testing import EmulatorServer

HOME = "/tempZone/home/rods"
DATA = b"quoted bytes\n"
# (path, found by 4.3's data_object_size): the quotes in the parent and in the name, counted apart.
PATHS = [
    (f"{HOME}/Bob's data.csv", False),  # name: 1
    (f"{HOME}/it's/plain.txt", False),  # parent: 1
    (f"{HOME}/it's/Bob's.csv", False),  # parent: 1, name: 1 (the cut lands after the name)
    (f"{HOME}/a'b'c", True),  # name: 2 — the text between the first and last quote is the name
    (f"{HOME}/it''s/x'y'.txt", True),  # parent: 2, name: 2
    (f"{HOME}/plain.txt", True),
]


@pytest.fixture
def api_of(irods_emulator_variants: Callable[..., EmulatorServer]) -> Iterator[Callable[[str], Api]]:
    """``api_of("rods4.3.4")``: a raw client of a fresh emulator of that iRODS release holding every path."""
    with httpx2.Client(timeout=10) as http:

        def make(version: str) -> Api:
            api = Api(irods_emulator_variants(irods_server_version=version), http)
            for path, _ in PATHS:
                parent = path.rsplit("/", 1)[0]
                if parent != HOME:
                    api.post("collections", op="create", lpath=parent, **{"create-intermediates": "1"})
                assert code(api.post_multipart("data-objects", op="write", lpath=path, bytes=DATA)) == 0
            return api

        yield make


@pytest.mark.parametrize("release", ["rods4.3.2", "rods4.3.4"])
@pytest.mark.parametrize(("path", "found"), PATHS)
def test_4_3_stat_and_read_miss_paths_with_odd_quotes(
    api_of: Callable[[str], Api], release: str, path: str, found: bool
) -> None:
    api = api_of(release)
    stat = api.get("data-objects", op="stat", lpath=path)
    read = api.read(path)
    assert stat.status_code == 200
    if found:
        assert code(stat) == 0
        assert stat.json()["size"] == len(DATA)
        assert (read.status_code, read.content) == (200, DATA)
    else:
        assert code(stat) == error_code("SYS_NO_GOOD_REPLICA")
        assert (read.status_code, read.content) == (500, b"")
        # the object is fine: the catalog, asked with an escaped condition, lists its good replica
        escaped = path.rsplit("/", 1)[1].replace("'", "''")
        rows = api.get(
            "query",
            op="execute_genquery",
            parser="genquery2",
            query=f"select DATA_REPL_STATUS where DATA_NAME = '{escaped}'",
        ).json()["rows"]
        assert rows == [["1"]]


def test_5_0_reads_a_backslash_x_sequence_in_the_path_as_a_byte(api_of: Callable[[str], Api]) -> None:
    """5.0's grammar reads ``\\x41`` as ``A`` (lib/genquery1/dsl/lexer.l:44 at 5.0.2) and the library escapes
    quotes only: such a path is missed there, found on 4.3 (which binds the text verbatim)."""
    path = f"{HOME}/back\\x41slash.txt"
    for release, expected in (("rods5.0.1", error_code("SYS_NO_GOOD_REPLICA")), ("rods4.3.4", 0)):
        api = api_of(release)
        assert code(api.post_multipart("data-objects", op="write", lpath=path, bytes=DATA)) == 0
        assert code(api.get("data-objects", op="stat", lpath=path)) == expected


@pytest.mark.parametrize(("path", "found"), PATHS)
def test_5_0_escapes_every_quote(api_of: Callable[[str], Api], path: str, found: bool) -> None:
    api = api_of("rods5.0.1")
    stat = api.get("data-objects", op="stat", lpath=path)
    assert (code(stat), stat.json()["size"]) == (0, len(DATA))
    read = api.read(path, offset=1)
    assert (read.status_code, read.content) == (200, DATA[1:])
