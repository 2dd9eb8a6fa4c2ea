"""An upload skipped under ``SkipPolicy.CHECKSUM`` reports the checksum it compared, as copies and downloads
do: the destination's (equal to the source's, in the zone's form), not None. The expected value is computed
here from the bytes (``sha2:`` + base64 of SHA-256, the form iRODS stores for the sha256 scheme), and is
the one the server keeps for the object afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

from irods_provider.client.transfer import (
    FileStatus,
    SkipPolicy,
    TransferConfig,
    upload_files,
    upload_object,
)

HOME = "/tempZone/home/rods"
CFG = TransferConfig(chunk_size=1 << 20, small_file_threshold=1 << 20)


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.mark.parametrize("stored", [True, False], ids=["stored-checksum", "none-stored"])
@pytest.mark.parametrize("size", [1000, 3 * (1 << 20) + 5], ids=["small", "parallel"])
@pytest.mark.parametrize("name", ["plain.bin", "a+b.bin"])  # '+': the catalog answers instead of stat
def test_a_skipped_upload_reports_the_checksum_it_compared(session, tmp_path, stored, size, name) -> None:
    data = os.urandom(size)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    path = f"{HOME}/{size}-{name}"
    if stored:
        upload_object(session, str(src), path, config=CFG)  # verified upload: the checksum is stored
    else:
        session.data_objects.write(path, data)  # no checksum until one is asked for
    result = upload_object(session, str(src), path, config=CFG, skip=SkipPolicy.CHECKSUM)
    assert (result.status, result.reason) == (FileStatus.SKIPPED, "same checksum")
    assert result.checksum == sha2(data)
    assert result.to_dict()["checksum"] == sha2(data)


def test_a_tree_upload_reports_each_skipped_files_checksum(session, tmp_path) -> None:
    blobs = {"a.bin": os.urandom(500), "sub/b.bin": os.urandom(2 * (1 << 20) + 1)}
    for rel, blob in blobs.items():
        (tmp_path / "tree" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tree" / rel).write_bytes(blob)
        session.collections.create(f"{HOME}/tree/{rel}".rsplit("/", 1)[0], intermediates=True, exist_ok=True)
        session.data_objects.write(f"{HOME}/tree/{rel}", blob)
    report = upload_files(
        session, str(tmp_path / "tree"), f"{HOME}/tree", config=CFG, skip=SkipPolicy.CHECKSUM
    )
    assert report.skipped == 2
    assert {r.destination: r.checksum for r in report.files} == {
        f"{HOME}/tree/{rel}": sha2(blob) for rel, blob in blobs.items()
    }
