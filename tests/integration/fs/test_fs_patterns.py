"""fsspec's ``glob()`` (always a pattern: fsspec's API) selects what the provider's one pattern rule selects.

``IrodsFileSystem`` does no matching of its own: fsspec matches over our GenQuery-backed ``find``. This pins
that the two dialects agree on the patterns the provider documents, escapes (``[[]``) and ``**`` included.
"""

from __future__ import annotations

import pytest

from irods_provider.client._patterns import compile_pattern
from irods_provider.exceptions import IrodsUsageError

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


def test_fsspec_multi_path_methods_glob_and_the_escape_keeps_a_name_literal(irods_fs) -> None:
    """``cat``, ``rm`` and fsspec's other multi-path methods expand a path holding ``[`` as a glob (fsspec's
    API, as in s3fs); the documented escape names the one object, and the one-object methods never glob."""
    import glob

    irods_fs.pipe({f"{BASE}/data[1].csv": b"literal", f"{BASE}/data1.csv": b"one"})
    assert irods_fs.cat(f"{BASE}/data[1].csv") == {f"{BASE}/data1.csv": b"one"}
    assert irods_fs.cat_file(f"{BASE}/data[1].csv") == b"literal"
    assert irods_fs.cat(glob.escape(f"{BASE}/data[1].csv")) == {f"{BASE}/data[1].csv": b"literal"}
    with pytest.raises(IrodsUsageError, match=r"names an existing entry and is also a glob pattern"):
        irods_fs.rm(f"{BASE}/data[1].csv")  # would have removed data1.csv, the other object
    with pytest.raises(IrodsUsageError):
        irods_fs.rm([f"{BASE}/data1.csv", f"{BASE}/data[1].csv"])  # refused before anything goes
    assert sorted(irods_fs.ls(BASE, detail=False)) == [f"{BASE}/data1.csv", f"{BASE}/data[1].csv"]
    irods_fs.rm(glob.escape(f"{BASE}/data[1].csv"))
    assert sorted(irods_fs.ls(BASE, detail=False)) == [f"{BASE}/data1.csv"]
    irods_fs.pipe({f"{BASE}/run[7].h5": b"x", f"{BASE}/run7.h5": b"y"})
    irods_fs.rm(f"{BASE}/run[0-9].h5")  # a pattern that names no entry itself: a glob, as fsspec has it
    assert sorted(irods_fs.ls(BASE, detail=False)) == [f"{BASE}/data1.csv", f"{BASE}/run[7].h5"]
    irods_fs.pipe_file(f"{BASE}/data[1].csv", b"literal")
    irods_fs.rm_file(f"{BASE}/data[1].csv")
    assert sorted(irods_fs.ls(BASE, detail=False)) == [f"{BASE}/data1.csv", f"{BASE}/run[7].h5"]
