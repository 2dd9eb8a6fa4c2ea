"""Old home of the paramiko SFTP streams, now in :mod:`irods_provider.sftp` (this loads paramiko)."""

from __future__ import annotations

from irods_provider.sftp._io import (
    CHANNEL_MAX_PACKET_SIZE,
    CHANNEL_WINDOW_SIZE,
    DEFAULT_CHUNK_SIZE,
    FAST_REQUEST_SIZE,
    PIPELINE_BYTES,
    ParallelSftpRangeReader,
    SftpRangeReader,
    SftpWriter,
    _ReadPipeline,
    open_sftp_channels,
    open_sftp_reader,
    open_sftp_writer,
    publish_atomically,
    temporary_sibling,
    tune_transport,
)

__all__ = [
    "CHANNEL_MAX_PACKET_SIZE",
    "CHANNEL_WINDOW_SIZE",
    "DEFAULT_CHUNK_SIZE",
    "FAST_REQUEST_SIZE",
    "PIPELINE_BYTES",
    "ParallelSftpRangeReader",
    "SftpRangeReader",
    "SftpWriter",
    "_ReadPipeline",
    "open_sftp_channels",
    "open_sftp_reader",
    "open_sftp_writer",
    "publish_atomically",
    "temporary_sibling",
    "tune_transport",
]
