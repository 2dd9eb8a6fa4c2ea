"""Airflow's filesystem module for ``irods://`` (provider info ``filesystems``) and the fsspec entry point.

``get_fs(conn_id, storage_options)`` is what Airflow's ``ObjectStoragePath`` calls for the ``irods`` scheme;
``IrodsFileSystem`` is what fsspec and universal-pathlib load for the protocol (entry point ``fsspec.specs``).
"""

from __future__ import annotations

from typing import Any

from irods_provider.fs._filesystem import IrodsFileSystem

__all__ = ["IrodsFileSystem", "get_fs", "schemes"]

schemes = ["irods"]

_DEFAULT_CONN_ID = "irods_default"


def get_fs(conn_id: str | None, storage_options: dict[str, Any] | None = None) -> IrodsFileSystem:
    """An :class:`IrodsFileSystem` on the Airflow connection ``conn_id`` (``irods_default`` if None).

    ``storage_options`` are passed to the filesystem (``streams``, ``chunk_size``, ``use_trash``,
    ``auto_mkdir``, ...). fsspec's instance cache is skipped: Airflow caches one store per connection itself,
    and a fresh instance reads the connection (and its secrets) anew.
    """
    options = dict(storage_options or {})
    options.setdefault("skip_instance_cache", True)
    return IrodsFileSystem(conn_id=conn_id or _DEFAULT_CONN_ID, **options)
