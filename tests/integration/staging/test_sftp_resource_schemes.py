"""An SFTP source uploaded to a resource whose server answers another checksum scheme than the zone's hint.

An SFTP file is read once (hashing it again would read it over the network a second time), so when the zone's
SHA-256 hint meets an MD5 answer (``archiveResc`` on a server configured for MD5: irods/irods 4.3.4
rsFileChksum.cpp:46-57) the upload cannot be verified: it fails typed (IrodsIntegrityError) and nothing is
published; the resource's MD5 is then kept, so the retry, even in a fresh process, hashes MD5 too and
succeeds (resuming the hidden temporary the first attempt completed), and no temporary is left.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from irods_provider.client._paths import is_temporary_name
from irods_provider.client.transfer import upload_object
from irods_provider.exceptions import IrodsIntegrityError, IrodsNotADataObjectError
from irods_provider.sftp._file import SftpFile

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from checksum_schemes import CFG, HOME, fresh_session, md5_hashed, rehash_events
from server_checksums import irods_checksum

DATA = os.urandom(300_000)


def test_an_sftp_source_fails_typed_then_succeeds_on_retry(
    md5_archive, remote, sftp_channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone, (_sftp, client) = md5_archive, sftp_channel
    made = md5_hashed(monkeypatch)  # whether each upload's hasher computes MD5
    remote.put("big.bin", DATA)
    path, archive = f"{HOME}/from-sftp.bin", replace(CFG, resource="archiveResc")
    with rehash_events() as rehashed:
        with fresh_session(zone) as s:
            first = upload_object(s, io.BytesIO(b"x" * 10), f"{HOME}/first.bin", size=10, config=CFG)
            assert first.checksum.startswith("sha2:")  # the zone's entry: SHA-256
            with pytest.raises(IrodsIntegrityError, match="only SHA-256 was computed"):
                upload_object(s, SftpFile(client, remote.path("big.bin")), path, config=archive)
            with pytest.raises(IrodsNotADataObjectError):
                s.data_objects.stat(path)
            # Its complete temporary stays hidden for the retry to resume (at its end: nothing resent).
            assert [e.path for e in s.collections.iterate(HOME)] == [f"{HOME}/first.bin"]
        with fresh_session(zone) as s:  # a fresh process's retry: the resource's MD5 was kept
            result = upload_object(s, SftpFile(client, remote.path("big.bin")), path, config=archive)
            assert result.checksum == irods_checksum("md5", DATA)
            assert s.data_objects.read(path) == DATA
            # The zone's own entry is still SHA-256: an upload to its default resource hashes that.
            other = upload_object(s, SftpFile(client, remote.path("big.bin")), f"{HOME}/d.bin", config=CFG)
            assert other.checksum == irods_checksum("sha256", DATA)
            left = [e.path for e in s.collections.iterate(HOME, include_temporaries=True)]
            assert [p for p in left if is_temporary_name(p.rsplit("/", 1)[-1])] == []
    assert rehashed == []  # an SFTP file is never read a second time
    # Nothing known; the zone's SHA-256 hint; archiveResc's MD5 kept by the failed attempt; the zone's own.
    assert made == [True, False, True, False]
