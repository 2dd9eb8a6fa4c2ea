"""An SFTP destination's state for the engine's one policy decision (:func:`~irods_provider.client.transfer.
_policy.decide`): one ``lstat`` per file, the checksum computed only when the CHECKSUM policy needs it."""

from __future__ import annotations

import posixpath
import stat
from typing import TYPE_CHECKING

from irods_provider.client.transfer._policy import (
    Checksum,
    DestinationKind,
    DestinationState,
    hashed_checksum,
)
from irods_provider.exceptions import IrodsPermissionError

from ._checksum import hash_sftp_file, sftp_checksum
from ._status import sftp_errors

if TYPE_CHECKING:
    import paramiko

    from irods_provider.client.transfer import ChecksumScheme

    from ._endpoint import SftpEndpoint

__all__ = [
    "destination_of",
    "replace_refused",
    "sftp_destination",
    "sftp_file_checksum",
    "sftp_is_directory",
]


def sftp_file_checksum(sftp: SftpEndpoint, client: paramiko.SFTPClient, path: str) -> Checksum:
    """The :data:`~irods_provider.client.transfer._policy.Checksum` of an SFTP file: the scheme's coreutils
    tool (``sha256sum``, ``md5sum``...) on the server when it runs commands, else hashed through ``client``,
    only when asked. A file the server refuses to read (another user's private file) is a typed error
    naming ``path``."""

    def hashed(scheme: ChecksumScheme) -> str:
        with sftp_errors(path, "cannot read the destination to compare checksums", operation="irods_to_sftp"):
            return sftp_checksum(sftp, path, scheme, lambda h: hash_sftp_file(client, path, hasher=h))

    return hashed_checksum(hashed)


def sftp_destination(sftp: SftpEndpoint, client: paramiko.SFTPClient, path: str) -> DestinationState:
    """What is at ``path`` on the SFTP server, from one ``lstat`` (a link is never followed)."""
    try:
        attrs = client.lstat(path)
    except FileNotFoundError:
        attrs = None
    return destination_of(sftp, client, path, attrs)


def destination_of(
    sftp: SftpEndpoint, client: paramiko.SFTPClient, path: str, attrs: paramiko.SFTPAttributes | None
) -> DestinationState:
    """What is at ``path`` from its ``lstat`` attributes (None: nothing is there)."""
    if attrs is None:
        return DestinationState.absent(path)
    mode = attrs.st_mode or 0
    if stat.S_ISLNK(mode):
        return DestinationState(path, DestinationKind.SYMLINK)
    if stat.S_ISDIR(mode):
        return DestinationState(path, DestinationKind.DIRECTORY)
    return DestinationState.file(path, attrs.st_size, sftp_file_checksum(sftp, client, path))


def replace_refused(
    login_uid: int | None, client: paramiko.SFTPClient, final: paramiko.SFTPAttributes, *, path: str
) -> IrodsPermissionError | None:
    """The refusal a rename onto ``path`` (``final``: the file there) will meet, known before a byte is
    copied: in a sticky directory (a shared scratch, mode 1777) only the file's owner, the directory's
    owner or a privileged user may replace a file (rename(2): EPERM; Linux fs/namei.c ``check_sticky``),
    which sftp-server answers SSH2_FX_PERMISSION_DENIED: the copy would be wasted and its temporary left
    behind. The directory is asked (a round trip) only for another user's file; None when the rename may
    pass, or when the login user is unknown or root."""
    if login_uid is None or login_uid in (0, final.st_uid):
        return None
    try:
        parent = client.stat(posixpath.dirname(path))
    except OSError:
        return None
    if not (parent.st_mode or 0) & stat.S_ISVTX or parent.st_uid == login_uid:
        return None
    return IrodsPermissionError(
        f"the destination is user {final.st_uid}'s file in a sticky directory of user {parent.st_uid}: the "
        "SFTP server would refuse to replace it (SSH_FX_PERMISSION_DENIED); nothing was copied",
        operation="irods_to_sftp",
        path=path,
    )


def sftp_is_directory(sftp: SftpEndpoint, path: str) -> bool:
    """Whether ``path`` is a directory on the SFTP server (following links: a planner's question about
    where a plan writes, on a channel of its own)."""
    with sftp.channel() as client:
        existing = sftp.stat(client, path)
    return existing is not None and stat.S_ISDIR(existing.st_mode or 0)
