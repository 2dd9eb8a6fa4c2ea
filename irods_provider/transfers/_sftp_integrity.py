"""Old home of the SFTP source/destination checks; they live in :mod:`irods_provider.sftp` now."""

from __future__ import annotations

from irods_provider.sftp._integrity import (
    SftpState,
    check_publishable,
    create_exclusive,
    hash_prefix,
    open_resumed,
    open_source,
    publish,
    sftp_probe,
    source_change,
)

__all__ = [
    "SftpState",
    "check_publishable",
    "create_exclusive",
    "hash_prefix",
    "open_resumed",
    "open_source",
    "publish",
    "sftp_probe",
    "source_change",
]
