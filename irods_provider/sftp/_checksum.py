"""Checksums of SFTP files: hashed through SFTP, or by ``sha256sum``/``md5sum``/``sha512sum``/``sha1sum`` on
the server when allowed (ADLER-32 has no coreutils tool: always hashed through SFTP)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from irods_provider.client.transfer import (
    ChecksumScheme,
    StreamHasher,
    format_checksum,
    same_stored_checksum,
    scheme_of,
)
from irods_provider.sftp._integrity import close_unanswered
from irods_provider.sftp._io import SftpRangeReader, open_sftp_reader
from irods_provider.sftp._status import SftpEndOfFile

if TYPE_CHECKING:
    import paramiko

    from irods_provider.sftp._endpoint import SftpEndpoint

__all__ = ["hash_sftp_file", "read_back_sha256", "sftp_checksum", "sftp_file_has_checksum"]

_HASH_CHUNK = 1024 * 1024
#: The coreutils tool computing each scheme's digest on the SFTP server, and its width in hex digits.
_TOOLS = {
    ChecksumScheme.SHA256: ("sha256sum", 64),
    ChecksumScheme.MD5: ("md5sum", 32),
    ChecksumScheme.SHA512: ("sha512sum", 128),
    ChecksumScheme.SHA1: ("sha1sum", 40),
}


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
    """The SFTP file ``path``'s checksum written as a zone of ``scheme`` stores it (``sha2:...``, MD5 hex...).

    The scheme's coreutils tool (:data:`_TOOLS`) runs on the SFTP server when it allows commands; otherwise
    (and always for ADLER-32) ``hash_here(hasher)`` reads the file through SFTP into ``hasher``.
    """
    tool = _TOOLS.get(scheme)
    digest = sftp.hexdigest(*tool[:1], path, tool[1]) if tool is not None else None
    if digest is not None:
        return format_checksum(scheme, bytes.fromhex(digest))
    return hash_here(StreamHasher(schemes=(scheme,))).result().checksum_in(scheme) or ""


def sftp_file_has_checksum(
    sftp: SftpEndpoint, path: str, checksum: str, hash_here: Callable[[StreamHasher], StreamHasher]
) -> bool:
    """Whether the SFTP file ``path`` has the zone's ``checksum``, in that checksum's scheme (see
    :func:`sftp_checksum`); an unrecognised scheme never matches."""
    scheme = scheme_of(checksum)
    if scheme is None:
        return False
    return same_stored_checksum(checksum, sftp_checksum(sftp, path, scheme, hash_here))
