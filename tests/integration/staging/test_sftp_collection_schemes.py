"""SFTP uploads naming no resource, alternating between collections a site maps to resources of two schemes.

An SFTP file is read once, so an upload whose hint is SHA-256 where the server answers MD5 (the collection's
resource is held by a server configured for MD5: irods/irods 4.3.4 rsFileChksum.cpp:46-57) fails typed
(IrodsIntegrityError), a whole transfer wasted. With only the zone's entry kept, the hint flipped at every
upload and every other one failed. Kept per collection, each collection fails at most once (its first upload
after the zone learned the other scheme); every later upload, each in a fresh process, succeeds first time.
"""

from __future__ import annotations

import os
import posixpath
import sys
from pathlib import Path

import pytest

from irods_provider.client.transfer import upload_object
from irods_provider.exceptions import IrodsIntegrityError, IrodsNotADataObjectError
from irods_provider.sftp._file import SftpFile
from irods_provider.testing import EmulatorServer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from checksum_schemes import CFG, HOME, fresh_session
from server_checksums import irods_checksum

ARCHIVE, PLAIN = f"{HOME}/archive", f"{HOME}/plain"
DATA = os.urandom(200_000)
EXPECTED = {ARCHIVE: irods_checksum("md5", DATA), PLAIN: irods_checksum("sha256", DATA)}


def _upload(zone: EmulatorServer, source: SftpFile, path: str) -> bool:
    """One upload in a fresh session (a fresh task process): False when it failed typed for want of MD5."""
    with fresh_session(zone) as s:
        try:
            result = upload_object(s, source, path, config=CFG)
        except IrodsIntegrityError as exc:
            if "only SHA-256 was computed" not in str(exc):
                raise
            with pytest.raises(IrodsNotADataObjectError):
                s.data_objects.stat(path)  # nothing published
            return False
        assert result.checksum == EXPECTED[posixpath.dirname(path)]
        assert s.data_objects.read(path) == DATA
        return True


def test_sftp_uploads_alternating_between_collections_fail_at_most_once_each(
    md5_archive, remote, sftp_channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone, (_sftp, client) = md5_archive, sftp_channel
    monkeypatch.setattr(zone.config, "default_resources", ((ARCHIVE, "archiveResc"),))
    remote.put("data.bin", DATA)
    failed: dict[str, int] = {PLAIN: 0, ARCHIVE: 0}
    with fresh_session(zone) as s:
        for collection in (ARCHIVE, PLAIN):
            s.collections.create(collection)
    for n in range(4):
        for collection in (PLAIN, ARCHIVE):
            path = f"{collection}/f{n}.bin"
            if not _upload(zone, SftpFile(client, remote.path("data.bin")), path):
                failed[collection] += 1
                assert _upload(zone, SftpFile(client, remote.path("data.bin")), path)  # the task's retry
    # The plain collection's SHA-256 is the zone's first entry: the archive's first upload fails once.
    assert failed == {PLAIN: 0, ARCHIVE: 1}
