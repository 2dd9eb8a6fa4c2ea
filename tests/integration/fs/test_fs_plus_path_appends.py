"""fsspec appends (``ab``) to data objects whose path holds ``+``: the append offset comes from the catalog,
because no GET (the data-object ``stat`` the append used to size the object with) can address such a path:
the HTTP API turns every ``+`` of a GET query string into a space (core/src/common.cpp ``to_argument_list``).
The writes themselves are POSTs, which keep the ``+``."""

from __future__ import annotations

import hashlib
import os

import pytest

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024  # the irods_fs fixture's chunk size
PATHS = [f"{HOME}/log+1.txt", f"{HOME}/plus+dir/run+2.log"]
TAILS = {"small": 100, "parallel": 4 * CHUNK + 3}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("path", PATHS, ids=["home", "plus-collection"])
@pytest.mark.parametrize("tail_size", TAILS.values(), ids=TAILS.keys())
def test_append_to_a_plus_path_keeps_the_existing_bytes(irods_fs, path: str, tail_size: int) -> None:
    head, tail = os.urandom(1000), os.urandom(tail_size)
    irods_fs.pipe(path, head)
    decoy = path.replace("+", " ")  # what a GET would address: appending at its size would lose bytes
    irods_fs.pipe(decoy, b"decoy")
    with irods_fs.open(path, "ab") as f:
        f.write(tail)
    assert sha(irods_fs.cat(path)) == sha(head + tail)
    assert irods_fs.cat(decoy) == b"decoy"
    assert irods_fs.checksum(path) == int(sha(head + tail), 16)


def test_append_creates_a_missing_plus_path(irods_fs) -> None:
    path = f"{HOME}/new+object.txt"
    with irods_fs.open(path, "ab") as f:
        f.write(b"first line\n")
    assert irods_fs.cat(path) == b"first line\n"
