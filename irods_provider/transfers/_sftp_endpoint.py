"""Old home of :class:`SftpEndpoint`; it lives in :mod:`irods_provider.sftp` now."""

from __future__ import annotations

from irods_provider.sftp._endpoint import MAX_COMMAND_OUTPUT, SftpEndpoint, _read_bounded

__all__ = ["MAX_COMMAND_OUTPUT", "SftpEndpoint", "_read_bounded"]
