"""SFTP for the staging operators, over paramiko and Airflow's ``SFTPHook``: kept out of the iRODS client.

:class:`SftpEndpoint` opens the SSH connection through the hook and lends SFTP channels to workers;
:mod:`._io` has the pipelined, memory-bounded readers, writers, parallel range readers and atomic publish
(:class:`SftpRangedSource` makes a listed file an upload source for the engine);
:mod:`._integrity` the checks that a hostile directory cannot redirect a copy and that sources did not
change; :mod:`._checksum` compares SFTP files with iRODS checksums. Importing :mod:`irods_provider.client`
never imports this package (nor paramiko).
"""

from __future__ import annotations

from ._checksum import hash_sftp_file, sftp_file_has_checksum
from ._endpoint import SftpEndpoint
from ._integrity import SftpState
from ._io import (
    ParallelSftpRangeReader,
    SftpRangeReader,
    SftpWriter,
    open_sftp_channels,
    open_sftp_reader,
    open_sftp_writer,
    publish_atomically,
    temporary_sibling,
    tune_transport,
)
from ._ranged import SftpRangedSource, SftpReadOptions

__all__ = [
    "ParallelSftpRangeReader",
    "SftpEndpoint",
    "SftpRangeReader",
    "SftpRangedSource",
    "SftpReadOptions",
    "SftpState",
    "SftpWriter",
    "hash_sftp_file",
    "open_sftp_channels",
    "open_sftp_reader",
    "open_sftp_writer",
    "publish_atomically",
    "sftp_file_has_checksum",
    "temporary_sibling",
    "tune_transport",
]
