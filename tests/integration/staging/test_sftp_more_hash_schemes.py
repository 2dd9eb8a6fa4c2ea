"""SFTP files staged into zones whose ``default_hash_scheme`` is sha512, sha1 or adler32.

An SFTP file is read once: uploaded into such a zone by a process that knows nothing yet, only SHA-256 and MD5
were computed, so the first attempt fails typed (IrodsIntegrityError) with nothing published; the zone's
scheme is then kept and the retry, in a fresh process, hashes it and succeeds. Checksums of SFTP files are
computed by ``sha512sum``/``sha1sum`` on the server when it runs commands (coreutils has no ADLER-32 tool:
that one is always hashed through SFTP). Expected values come from hashlib/zlib here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client.transfer import ChecksumScheme, upload_object
from irods_provider.exceptions import IrodsIntegrityError, IrodsNotADataObjectError
from irods_provider.sftp._checksum import hash_sftp_file, sftp_checksum, sftp_file_has_checksum
from irods_provider.sftp._file import SftpFile
from irods_provider.testing import EmulatorServer
from irods_provider.testing.pytest_plugin import irods_emulator_variants  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from checksum_schemes import CFG, HOME, fresh_session, scheme_cache_on
from server_checksums import irods_checksum

DATA = os.urandom(300_000)


@pytest.mark.parametrize("scheme", ["sha512", "sha1", "adler32"])
def test_an_sftp_source_fails_typed_then_the_retry_verifies_in_the_zones_scheme(
    irods_emulator_variants,  # noqa: F811
    remote,
    sftp_channel,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    scheme: str,
) -> None:
    scheme_cache_on(monkeypatch, tmp_path)
    zone: EmulatorServer = irods_emulator_variants(hash_scheme=scheme)
    remote.put("big.bin", DATA)
    path, (_sftp, client) = f"{HOME}/from-sftp.bin", sftp_channel
    with fresh_session(zone) as s:
        with pytest.raises(IrodsIntegrityError, match="only SHA-256 and MD5 was computed"):
            upload_object(s, SftpFile(client, remote.path("big.bin")), path, config=CFG)
        with pytest.raises(IrodsNotADataObjectError):
            s.data_objects.stat(path)
    with fresh_session(zone) as s:  # a fresh process's retry: the zone's scheme was kept
        result = upload_object(s, SftpFile(client, remote.path("big.bin")), path, config=CFG)
        assert result.checksum == irods_checksum(scheme, DATA)
        assert s.data_objects.read(path) == DATA


def test_sftp_checksums_in_every_scheme(remote, sftp_channel, monkeypatch: pytest.MonkeyPatch) -> None:
    remote.put("f.bin", DATA)
    sftp, client = sftp_channel
    ran: list[str] = []
    real = sftp.run

    def spy(command: str, **kwargs: Any) -> Any:
        ran.append(command.split(" ", 1)[0])
        return real(command, **kwargs)

    monkeypatch.setattr(sftp, "run", spy)
    name = remote.path("f.bin")

    def hash_here(hasher: Any) -> Any:
        return hash_sftp_file(client, name, hasher=hasher)

    for scheme in ChecksumScheme:
        assert sftp_checksum(sftp, name, scheme, hash_here) == irods_checksum(scheme.value, DATA)
    # Run on the server where a coreutils tool exists; ADLER-32 read through SFTP.
    assert ran == ["sha256sum", "md5sum", "sha512sum", "sha1sum"]
    cut = irods_checksum("sha512", DATA)[:63]  # as a 4.3.4 catalog may keep it (NAME_LEN)
    assert sftp_file_has_checksum(sftp, name, cut, hash_here)
    assert not sftp_file_has_checksum(sftp, name, cut[:-1] + ("A" if cut[-1] != "A" else "B"), hash_here)
    assert sftp_file_has_checksum(
        sftp, name, irods_checksum("adler32", DATA).upper().replace("ADLER", "adler"), hash_here
    )
