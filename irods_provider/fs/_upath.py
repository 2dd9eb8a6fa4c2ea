"""universal-pathlib class for ``irods``: UPath and ObjectStoragePath use it without a fallback warning."""

from __future__ import annotations

from upath import UPath

from irods_provider.client._paths import normalize_path

__all__ = ["IrodsPath"]


class IrodsPath(UPath):
    """``UPath`` for ``irods://`` URLs; paths are absolute logical paths without a trailing slash."""

    __slots__ = ()

    @property
    def path(self) -> str:
        """The logical path (``/tempZone/home/...``), never ending in ``/`` except at the root."""
        return normalize_path(super().path)
