"""Skip policies on a destination whose name holds ``+`` (no ``stat`` can address it over GET).

The catalog knows its size and checksum (``collections.lookup``, a GenQuery): SIZE and CHECKSUM skips must
work there as everywhere, not fall through to an upload that the REFUSE policy then refuses.
"""

from __future__ import annotations

import os

import pytest

from irods_provider.client.transfer import (
    FileStatus,
    OverwritePolicy,
    SkipPolicy,
    TransferConfig,
    upload_object,
)

HOME = "/tempZone/home/rods"
CFG = TransferConfig(chunk_size=1 << 20, small_file_threshold=1 << 20)


@pytest.mark.parametrize("skip", [SkipPolicy.SIZE, SkipPolicy.CHECKSUM])
@pytest.mark.parametrize("size", [1000, 3 * (1 << 20) + 5], ids=["small", "parallel"])
def test_same_file_at_a_plus_path_is_skipped(session, tmp_path, skip, size) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(size))
    path = f"{HOME}/a+b #[x]'é-{size}.bin"
    upload_object(session, str(src), path, config=CFG)
    result = upload_object(session, str(src), path, config=CFG, skip=skip)
    assert result.status is FileStatus.SKIPPED


def test_changed_file_at_a_plus_path_is_not_skipped_by_checksum(session, tmp_path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 1000)
    path = f"{HOME}/c+d.bin"
    upload_object(session, str(src), path, config=CFG)
    src.write_bytes(b"y" * 1000)
    result = upload_object(
        session, str(src), path, config=CFG, skip=SkipPolicy.CHECKSUM, overwrite=OverwritePolicy.OVERWRITE
    )
    assert result.status is FileStatus.TRANSFERRED
    assert session.collections.lookup(path).checksum == result.checksum
