"""The transfer engine: parallel, bounded-memory, verified and resumable copies to and from iRODS.

One copy loop (:func:`copy`) serves every source and sink; :func:`open_writer` / :func:`open_reader` give
file-like objects over parallel writes and ranged read-ahead; :func:`upload_object` publishes atomically;
:func:`upload_files` / :func:`download_files` plan trees, lists and globs for the Airflow operators through
the one planner (:func:`plan_copies` over a :class:`Tree`: local disk, iRODS zone, SFTP server).
:class:`Source` / :class:`Sink` name what a copy needs of either end; :func:`copy_file` copies any pair.
SFTP streams live in :mod:`irods_provider.sftp` (paramiko is never imported by the client).
"""

from __future__ import annotations

from irods_provider.client._temporaries import RESUME_ATTRIBUTE
from irods_provider.exceptions import IrodsTransferCancelledError

from ._atomic import AtomicWriter
from ._config import (
    ChecksumScheme,
    EarlierCopy,
    OverwritePolicy,
    ReplicaVerification,
    SkipPolicy,
    TransferConfig,
)
from ._coordinator import TransferCoordinator, TransferStatus, TransferSubscriber
from ._copy import (
    CopyResult,
    StreamHasher,
    copy,
    hasher_for,
    pin_checksum_scheme,
    sha2_checksum,
    verify_checksum,
)
from ._download import download_object, parallel_download
from ._endpoints import (
    BytesFile,
    DownloadSink,
    IrodsObject,
    LocalFile,
    PrefixCheck,
    Sink,
    Source,
    copy_file,
)
from ._hashes import format_checksum, same_stored_checksum, scheme_of
from ._local import (
    download_files,
    plan_irods_sources,
    plan_local_sources,
    safe_local_path,
    upload_files,
)
from ._plan import Destination, Plan, PlannedFile, Tree, plan_copies
from ._progress import LoggingProgressSubscriber
from ._reader import ParallelReader, open_reader
from ._report import DirectoryResult, DirectoryStatus, FileResult, FileStatus, KeptDirectory, TransferReport
from ._resume import ResumeState
from ._upload import parallel_upload, upload_object
from ._verify_copies import verify_by_copies, verify_object
from ._writer import ParallelWriter, open_writer

__all__ = [
    "RESUME_ATTRIBUTE",
    "AtomicWriter",
    "BytesFile",
    "ChecksumScheme",
    "CopyResult",
    "Destination",
    "DirectoryResult",
    "DirectoryStatus",
    "DownloadSink",
    "EarlierCopy",
    "FileResult",
    "FileStatus",
    "IrodsObject",
    "IrodsTransferCancelledError",
    "KeptDirectory",
    "LocalFile",
    "LoggingProgressSubscriber",
    "OverwritePolicy",
    "ParallelReader",
    "ParallelWriter",
    "Plan",
    "PlannedFile",
    "PrefixCheck",
    "ReplicaVerification",
    "ResumeState",
    "Sink",
    "SkipPolicy",
    "Source",
    "StreamHasher",
    "TransferConfig",
    "TransferCoordinator",
    "TransferReport",
    "TransferStatus",
    "TransferSubscriber",
    "Tree",
    "copy",
    "copy_file",
    "download_files",
    "download_object",
    "format_checksum",
    "hasher_for",
    "open_reader",
    "open_writer",
    "parallel_download",
    "parallel_upload",
    "pin_checksum_scheme",
    "plan_copies",
    "plan_irods_sources",
    "plan_local_sources",
    "safe_local_path",
    "same_stored_checksum",
    "scheme_of",
    "sha2_checksum",
    "upload_files",
    "upload_object",
    "verify_by_copies",
    "verify_checksum",
    "verify_object",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith(__name__ + "."):
        _obj.__module__ = __name__
del _name, _obj

#: SFTP names this package exported before they moved to :mod:`irods_provider.sftp` (which needs paramiko);
#: still importable from here, loaded only when asked for, so importing the client never loads paramiko.
_MOVED_TO_SFTP = frozenset(
    {
        "ParallelSftpRangeReader",
        "SftpWriter",
        "open_sftp_channels",
        "open_sftp_reader",
        "open_sftp_writer",
        "publish_atomically",
        "tune_transport",
    }
)


def __getattr__(name: str) -> object:
    """The SFTP names that moved to :mod:`irods_provider.sftp`, imported on first use."""
    if name in _MOVED_TO_SFTP:
        import irods_provider.sftp

        return getattr(irods_provider.sftp, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
