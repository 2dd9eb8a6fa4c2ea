"""Paths the server's data-object stat/read may miss: the provider asks the catalog and reads an alias."""

from __future__ import annotations

import pytest

from irods_provider.client._paths import needs_catalog
from irods_provider.client.transfer._alias import needs_alias


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/z/home/u/plain.csv", False),
        ("/z/home/u/a b#[1] é.csv", False),
        ("/z/home/u/back\\slash", False),  # a lone backslash reads as meant on 4.3 and 5.0
        ("/z/home/u/Bob's data.csv", True),  # 4.3: odd quotes in the name
        ("/z/home/u/it's/plain.txt", True),  # 4.3: odd quotes in the parent
        ("/z/home/u/a'b'c", True),  # even: found on 4.3, but not told apart from /z/it's/b's
        ("/z/home/u/run+01:00.h5", True),  # GETs turn '+' into a space
        ("/z/home/u/a\\x41", True),  # 5.0 reads \x41 as 'A'
        ("/z/home/u/a\\xg1", False),
    ],
)
def test_needs_catalog(path: str, expected: bool) -> None:
    assert needs_catalog(path) is expected
    assert needs_alias(path) is expected
