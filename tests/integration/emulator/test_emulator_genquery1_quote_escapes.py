"""GenQuery1 literals holding a single quote, on iRODS 4.3 and 5.0, over HTTP.

4.3.x: fillGenQueryInpFromStrCond hands each condition text to the catalog as written (rcMisc.cpp:3214-3301
at 4.3.4), and the catalog binds the text between the condition's first and last quote verbatim
(general_query.cpp:1498-1535, insertWhere): ``''`` is two quotes, ``'it's'`` binds ``it's``; ``in`` and
``between`` take each pair of quotes as one value (addInClauseToWhereForIn :1389-1420,
addBetweenClauseToWhere :1403-1453). 5.0.x: the lexer reads ``''`` as one quote and ``\\xHH`` as a byte
(lib/genquery1/dsl/lexer.l:41-59 at 5.0.1), then the parser writes the condition text back with each
value between bare quotes (parser.y:153-173) for the same catalog code (general_query.cpp is unchanged
in these functions between 4.3.4 and 5.0.1): ``= 'it''s'`` matches ``it's``, but ``in ('it''s', 'b')``
reaches the catalog as ``in ('it's', 'b')``: the quote pairs ``it`` and ``, `` (the last quote has no pair),
and ``between 'a''b''c' 'z'`` has three pairs where it needs two: CAT_INVALID_ARGUMENT.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx2
import pytest
from emulator_http import Api, code

from irods_provider._error_codes import error_code
from irods_provider.testing import EmulatorServer

HOME = "/tempZone/home/rods"
NAMES = ("it's", "it''s", "it", "s", "b", ", ")


@pytest.fixture
def api_of(irods_emulator_variants: Callable[..., EmulatorServer]) -> Iterator[Callable[[str], Api]]:
    """``api_of("rods5.0.1")``: a raw client of a fresh emulator of that release holding ``NAMES``."""
    with httpx2.Client(timeout=10) as http:

        def make(version: str) -> Api:
            api = Api(irods_emulator_variants(irods_server_version=version), http)
            for name in NAMES:
                assert (
                    code(api.post_multipart("data-objects", op="write", lpath=f"{HOME}/{name}", bytes=b"x"))
                    == 0
                )
            return api

        yield make


def names(api: Api, condition: str) -> list[str] | int:
    """The DATA_NAMEs matching ``condition`` in HOME, or the iRODS error code of the answer."""
    query = f"select DATA_NAME where COLL_NAME = '{HOME}' and DATA_NAME {condition}"
    r = api.get("query", op="execute_genquery", query=query)
    assert r.status_code == 200
    if code(r) != 0:
        return code(r)
    return sorted(row[0] for row in r.json()["rows"])


@pytest.mark.parametrize("release", ["rods4.3.2", "rods4.3.4"])
def test_4_3_binds_the_text_between_the_outer_quotes_verbatim(
    api_of: Callable[[str], Api], release: str
) -> None:
    api = api_of(release)
    assert names(api, "= 'it''s'") == ["it''s"]
    assert names(api, "= 'it's'") == ["it's"]
    assert names(api, "like 'it''%'") == ["it''s"]
    assert names(api, "in ('it''s', 'b')") == ["b", "it", "s"]
    assert names(api, "= 'it\\x27s'") == []
    assert names(api, "= 'it") == error_code("CAT_INVALID_ARGUMENT")


def test_5_0_reads_doubled_quotes_and_hex_escapes(api_of: Callable[[str], Api]) -> None:
    api = api_of("rods5.0.1")
    assert names(api, "= 'it''s'") == ["it's"]
    assert names(api, "= 'it\\x27s'") == ["it's"]
    assert names(api, "= 'it''''s'") == ["it''s"]
    assert names(api, "like 'it''%'") == ["it''s", "it's"]
    assert names(api, "= 'it's'") == error_code("INPUT_ARG_NOT_WELL_FORMED_ERR")
    assert names(api, "= 'it") == error_code("INPUT_ARG_NOT_WELL_FORMED_ERR")


def test_5_0_in_and_between_values_holding_a_quote_split_in_the_catalog(
    api_of: Callable[[str], Api],
) -> None:
    api = api_of("rods5.0.1")
    # in ('it's', 'b'): quote pairs 'it' and ', ' — the fifth quote has no pair, so b is no value.
    assert names(api, "in ('it''s', 'b')") == [", ", "it"]
    assert names(api, "in ('it', 'b')") == ["b", "it"]
    # between 'i' 'it's': the pairs 'i' and 'it' (the quote after s has no pair).
    assert names(api, "between 'i' 'it''s'") == ["it"]
    # between 'a'b'c' 'z': three pairs, and a between needs exactly two.
    assert names(api, "between 'a''b''c' 'z'") == error_code("CAT_INVALID_ARGUMENT")
    assert names(api, "between 'i' 'iz'") == ["it", "it''s", "it's"]
