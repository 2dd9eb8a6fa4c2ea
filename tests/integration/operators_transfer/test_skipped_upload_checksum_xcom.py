"""The XCom report of an upload skipped under ``skip="checksum"`` names the checksum it compared (the
destination's, computed here from the bytes), as the copy and download reports do."""

from __future__ import annotations

import base64
import hashlib
import os

from irods_provider.transfers.local_to_irods import LocalToIrodsOperator

HOME = "/tempZone/home/rods"


def test_skipped_uploads_report_their_checksums_in_xcom(session, tmp_path) -> None:
    blobs = {"a.bin": os.urandom(700), "b.bin": os.urandom(3 * (1 << 20) + 9)}
    session.collections.create(f"{HOME}/x")
    for name, blob in blobs.items():
        (tmp_path / name).write_bytes(blob)
        session.data_objects.write(f"{HOME}/x/{name}", blob)
    report = LocalToIrodsOperator(
        task_id="up",
        source_path=[str(tmp_path / n) for n in blobs],
        destination_path=f"{HOME}/x/",
        skip="checksum",
    ).execute({})
    assert report["skipped"] == 2
    assert {f["destination"]: (f["status"], f["checksum"]) for f in report["files"]} == {
        f"{HOME}/x/{name}": ("skipped", "sha2:" + base64.b64encode(hashlib.sha256(blob).digest()).decode())
        for name, blob in blobs.items()
    }
