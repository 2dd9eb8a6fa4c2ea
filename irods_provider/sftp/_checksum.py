"""Checksums of SFTP files: hashed through SFTP, or by ``sha256sum``/``md5sum`` on the server when allowed."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from irods_provider.client.transfer import ChecksumScheme, StreamHasher, scheme_of, sha2_checksum
from irods_provider.sftp._integrity import close_unanswered
from irods_provider.sftp._io import SftpRangeReader, open_sftp_reader
from irods_provider.sftp._status import SftpEndOfFile

if TYPE_CHECKING:
    import paramiko

    from irods_provider.sftp._endpoint import SftpEndpoint

__all__ = ["hash_sftp_file", "read_back_sha256", "sftp_checksum", "sftp_file_has_checksum"]

_HASH_CHUNK = 1024 * 1024


def hash_sftp_file(
    client: paramiko.SFTPClient, path: str, *, hasher: StreamHasher | None = None, length: int | None = None
) -> StreamHasher:
    """Feed a remote file (its first ``length`` bytes) to ``hasher``, a new one by default."""
    if hasher is None:
        hasher = StreamHasher()
    with open_sftp_reader(client, path, length=length) as reader:
        while data := reader.read(_HASH_CHUNK):
            hasher.update(data)
    return hasher


def read_back_sha256(client: paramiko.SFTPClient, path: str, size: int) -> str:
    """The hex SHA-256 of ``path``'s first ``size`` bytes read back through ``client``: its open, then every
    read pipelined, the close sent without waiting: two round trips. A file shorter than ``size`` (the live
    server answers end-of-file) gives the digest of what it holds, which then differs; a longer one is
    refused where it is published, by its size."""
    handle = client.open(path, "rb")
    digest = hashlib.sha256()
    reader = SftpRangeReader(handle, offset=0, length=size)
    with contextlib.suppress(SftpEndOfFile):
        while data := reader.read_chunk():
            digest.update(data)
    close_unanswered(handle)
    return digest.hexdigest()


def sftp_checksum(
    sftp: SftpEndpoint, path: str, scheme: ChecksumScheme, hash_here: Callable[[StreamHasher], StreamHasher]
) -> str:
    """The SFTP file ``path``'s checksum written as a zone of ``scheme`` stores it (``sha2:`` or MD5 hex).

    ``sha256sum``/``md5sum`` run on the SFTP server when it allows commands; otherwise ``hash_here(hasher)``
    reads the file through SFTP into ``hasher``.
    """
    if scheme is ChecksumScheme.MD5:
        return sftp.md5sum(path) or (hash_here(StreamHasher(md5=True)).result().md5 or b"").hex()
    digest = sftp.sha256sum(path) or hash_here(StreamHasher()).result().sha256.hex()
    return sha2_checksum(bytes.fromhex(digest))


def sftp_file_has_checksum(
    sftp: SftpEndpoint, path: str, checksum: str, hash_here: Callable[[StreamHasher], StreamHasher]
) -> bool:
    """Whether the SFTP file ``path`` has the zone's ``checksum``, in that checksum's scheme (see
    :func:`sftp_checksum`); an unrecognised scheme never matches."""
    scheme = scheme_of(checksum)
    if scheme is None:
        return False
    ours = sftp_checksum(sftp, path, scheme, hash_here)
    return ours == (checksum if scheme is ChecksumScheme.SHA256 else checksum.lower())
