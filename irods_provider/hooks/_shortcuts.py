"""One-line helpers on :class:`~irods_provider.hooks.irods.IrodsHook`, as DAG authors know them from other
providers (``S3Hook.read_key``, ``load_string``): each uses the hook's session, and writes go through the
transfer engine (temporary name, server checksum verified, atomic rename)."""

from __future__ import annotations

import io
import os
import posixpath
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from irods_provider.client._paths import normalize_path

if TYPE_CHECKING:
    from irods_provider.client import IrodsSession
    from irods_provider.client.transfer import FileResult


def publish_object(
    session: IrodsSession,
    source: bytes | str | os.PathLike[str],
    path: str,
    *,
    overwrite: bool = False,
    metadata: Sequence[Any] = (),
    skip_identical: bool = False,
    resource: str | None = None,
) -> FileResult:
    """Write ``source`` (bytes, or a local file) to ``path`` through the engine: ``+`` refused first, parents
    created, then temporary name, server checksum verified, AVUs applied and an atomic rename.

    ``skip_identical``: an object already at ``path`` with the same size and checksum is left as it is (the
    result is ``skipped``) instead of refused or overwritten. ``resource``: the root resource written to
    (None: the server's default).
    """
    from irods_provider._values import refuse_unaddressable
    from irods_provider.client.transfer import OverwritePolicy, SkipPolicy, TransferConfig, upload_object

    refuse_unaddressable("path", path)
    session.collections.create(posixpath.dirname(path) or "/", intermediates=True, exist_ok=True)
    policy = OverwritePolicy.OVERWRITE if overwrite else OverwritePolicy.REFUSE
    skip = SkipPolicy.CHECKSUM if skip_identical else SkipPolicy.NEVER
    config = None if resource is None else TransferConfig(resource=resource)
    options: dict[str, Any] = {"config": config, "overwrite": policy, "skip": skip, "metadata": metadata}
    if isinstance(source, bytes):
        return upload_object(session, io.BytesIO(source), path, size=len(source), resume=False, **options)
    return upload_object(session, os.fspath(source), path, **options)


class IrodsShortcutsMixin:
    """``exists``, ``list``, ``read_bytes``/``read_text``, ``write_bytes``/``write_text``, ``upload_file`` and
    ``download_file`` over the hook's session."""

    def get_conn(self) -> IrodsSession:
        raise NotImplementedError

    def write_resource(self) -> str | None:
        """The root resource the write shortcuts write to (None: the server's default)."""
        return None

    def exists(self, path: str) -> bool:
        """Whether a collection or data object (visible to the connection's user) is at ``path``."""
        session = self.get_conn()
        path = normalize_path(path)
        return session.data_objects.exists(path) or session.collections.exists(path)

    def list(self, path: str, *, recursive: bool = False, pattern: str | None = None) -> list[str]:
        """The paths under collection ``path`` (``pattern``: a glob on the names)."""
        session = self.get_conn()
        entries = session.collections.iterate(normalize_path(path), recursive=recursive, pattern=pattern)
        return [e.path for e in entries]

    def read_bytes(self, path: str) -> bytes:
        """The whole content of a data object (held in memory: use ``download_file`` for big objects).

        A path holding ``+`` (no GET can address it) is read through a server-side copy in the user's home
        collection, checked against the original's checksum and removed afterwards."""
        from irods_provider.client.transfer._alias import read_object

        return read_object(self.get_conn(), normalize_path(path))

    def read_text(self, path: str, encoding: str = "utf-8") -> str:
        """The content of a data object decoded with ``encoding``."""
        return self.read_bytes(path).decode(encoding)

    def write_bytes(self, path: str, data: bytes, *, overwrite: bool = False) -> dict[str, Any]:
        """Create ``path`` (parents too) from ``data``, published atomically; returns the file result."""
        target = normalize_path(path)
        return publish_object(
            self.get_conn(), data, target, overwrite=overwrite, resource=self.write_resource()
        ).to_dict()

    def write_text(
        self, path: str, text: str, *, encoding: str = "utf-8", overwrite: bool = False
    ) -> dict[str, Any]:
        """:meth:`write_bytes` of ``text`` encoded with ``encoding``."""
        return self.write_bytes(path, text.encode(encoding), overwrite=overwrite)

    def upload_file(
        self, local_path: str | os.PathLike[str], path: str, *, overwrite: bool = False
    ) -> dict[str, Any]:
        """Upload one local file to ``path`` (parallel streams, verified, atomic, resumable)."""
        target = normalize_path(path)
        return publish_object(
            self.get_conn(), local_path, target, overwrite=overwrite, resource=self.write_resource()
        ).to_dict()

    def download_file(
        self, path: str, local_path: str | os.PathLike[str], *, overwrite: bool = False
    ) -> dict[str, Any]:
        """Download data object ``path`` to ``local_path`` (verified, via a temporary sibling file)."""
        from irods_provider.client.transfer import OverwritePolicy, download_object

        policy = OverwritePolicy.OVERWRITE if overwrite else OverwritePolicy.REFUSE
        source = normalize_path(path)
        return download_object(self.get_conn(), source, local_path, overwrite=policy).to_dict()
