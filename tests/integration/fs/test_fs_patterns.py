"""fsspec's ``glob()`` (always a pattern: fsspec's API) selects what the provider's one pattern rule selects.

``IrodsFileSystem`` does no matching of its own: fsspec matches over our GenQuery-backed ``find``. This pins
that the two dialects agree on the patterns the provider documents, escapes (``[[]``) and ``**`` included.
"""

from __future__ import annotations

import pytest

from irods_provider.client._patterns import compile_pattern

HOME = "/tempZone/home/rods"
BASE = f"{HOME}/fspat"
FILES = ["data[1].csv", "data1.csv", "a/data[1].csv", "a/b/data[1].csv", "a/b/run[7].h5", "a/x.txt"]


@pytest.mark.parametrize(
    "pattern",
    [
        "**/data[[]1].csv",
        "*/data[[]1].csv",
        "data[1].csv",
        "data[[]1].csv",
        "**/*.csv",
        "a/**",
        "*/*/run[[]7].h5",
    ],
)
def test_fsspec_glob_agrees_with_the_provider_rule(irods_fs, pattern: str) -> None:
    irods_fs.pipe({f"{BASE}/{name}": name.encode() for name in FILES})
    ours = compile_pattern(f"{BASE}/{pattern}")
    expected = sorted(p for p in irods_fs.find(BASE) if ours.matches_path(p) or p == ours.base)
    assert sorted(p for p in irods_fs.glob(f"{BASE}/{pattern}") if irods_fs.isfile(p)) == expected
