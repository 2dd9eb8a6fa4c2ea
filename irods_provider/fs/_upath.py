"""universal-pathlib class for ``irods``: UPath and ObjectStoragePath use it without a fallback warning."""

from __future__ import annotations

import fsspec
from upath import UPath

from irods_provider.client._paths import normalize_path
from irods_provider.fs._filesystem import IrodsFileSystem
from irods_provider.fs._paths import PROTOCOL

__all__ = ["IrodsPath"]


def _register_filesystem() -> None:
    """Put IrodsFileSystem in fsspec's class registry unless a class holds the protocol already.

    universal-pathlib reads a protocol's path rules from the class registered there; with none imported yet
    it warns and parses generic URLs, reading ``irods://<conn_id>@<host>/<zone>/...``'s netloc into the path.
    """
    if PROTOCOL not in fsspec.registry:
        fsspec.register_implementation(PROTOCOL, IrodsFileSystem)


_register_filesystem()


class IrodsPath(UPath):
    """``UPath`` for ``irods://`` URLs; paths are absolute logical paths without a trailing slash."""

    __slots__ = ()

    @property
    def path(self) -> str:
        """The logical path (``/tempZone/home/...``), never ending in ``/`` except at the root."""
        return normalize_path(super().path)
