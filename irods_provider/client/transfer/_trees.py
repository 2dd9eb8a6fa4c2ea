"""The planner's :class:`~._plan.Tree` over a local disk and an iRODS zone (SFTP: in ``irods_provider.sftp``).

Local: ``lstat``/``scandir``, a directory identified by ``(st_dev, st_ino)``; a directory that vanished and
dangling or looping links are skipped with a warning; one that cannot be listed (permission denied) raises
IrodsPermissionError naming it (the planner keeps it as a failure with ``continue_on_error``). iRODS: no
symbolic links, so a whole collection is listed at once by paged GenQuery (:meth:`IrodsTree.walk_files`,
concurrent pages).
"""

from __future__ import annotations

import logging
import os
import posixpath
import stat
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass

from irods_provider.client import EntryKind, Kinds
from irods_provider.exceptions import IrodsInvalidPathError, IrodsNotADataObjectError, IrodsNotFoundError

from ._alias import source_stat
from ._api import DataObjectStatLike, SessionLike
from ._integrity import local_error
from ._leftout import unreadable_reason
from ._plan import Node, NodeKind

log = logging.getLogger(__name__)


def _kind(mode: int) -> NodeKind:
    if stat.S_ISDIR(mode):
        return NodeKind.DIRECTORY
    return NodeKind.FILE if stat.S_ISREG(mode) else NodeKind.OTHER


def _local_node(name: str, st: os.stat_result, *, link: bool = False) -> Node:
    return Node(name, _kind(st.st_mode), st.st_size, st.st_mtime_ns, link, (st.st_dev, st.st_ino))


class LocalTree:
    """The local file system as a planner tree (paths as the caller wrote them, joined with ``os.path``)."""

    label = "local source"
    hidden_convention = True

    def resolve(self, path: str) -> str:
        return os.fspath(path)

    def join(self, directory: str, name: str) -> str:
        return os.path.join(directory, name)

    def stat(self, path: str) -> Node | None:
        name = os.path.basename(path)
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISLNK(st.st_mode):
            return _local_node(name, st)
        try:
            return _local_node(name, os.stat(path), link=True)
        except OSError:  # dangling, ELOOP (a -> a), permission
            return Node(name, NodeKind.OTHER, link=True)

    def list_dir(self, path: str) -> list[Node]:
        try:
            with os.scandir(path) as scan:
                entries = list(scan)
        except (FileNotFoundError, NotADirectoryError) as exc:  # gone since it was listed
            log.warning("skipping vanished directory %s: %s", path, exc)
            return []
        except OSError as exc:
            doing = "cannot list the local directory"
            raise local_error(exc, path=path, doing=doing, operation="plan") from exc
        nodes = []
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                log.warning("skipping %s: %s", entry.path, exc)
                continue
            link = stat.S_ISLNK(st.st_mode)
            nodes.append(Node(entry.name, NodeKind.OTHER, link=True) if link else _local_node(entry.name, st))
        return nodes

    def real_path(self, path: str) -> Hashable:
        st = os.stat(path)
        return (st.st_dev, st.st_ino)


@dataclass(frozen=True, slots=True)
class Listed:
    """A data object's size and checksum as a listing gave them (its newest good replica's)."""

    size: int
    checksum: str | None


class IrodsTree:
    """An iRODS zone as a planner tree: data objects are files, collections directories, nothing is a link.

    ``resolve`` defaults to dropping a trailing ``/``; callers that validate paths pass their own.
    ``read_ahead``: GenQuery pages in flight while listing (whole listings are wanted, so no waste).
    :attr:`stats` keeps the stat of each data object :meth:`stat` asked about, and the size and checksum a
    listing (:meth:`walk_files`) gave (a copy may reuse them instead of asking the zone again).
    """

    label = "iRODS source"
    hidden_convention = False

    def __init__(
        self, session: SessionLike, *, resolve: Callable[[str], str] | None = None, read_ahead: int = 8
    ) -> None:
        self._session = session
        self._read_ahead = read_ahead
        self._resolve = resolve or (lambda path: path.rstrip("/") or "/")
        self.stats: dict[str, DataObjectStatLike] = {}

    def resolve(self, path: str) -> str:
        return self._resolve(path)

    def join(self, directory: str, name: str) -> str:
        return f"{directory.rstrip('/')}/{name}"

    def stat(self, path: str) -> Node | None:
        name = posixpath.basename(path)
        if "+" in path:  # a stat (a GET) cannot carry a '+': the catalog says which kind it is first
            if self._session.data_objects.exists(path):
                return self._file(path, name)
        else:  # one request: the stat of a collection or of nothing raises as ``exists`` would answer False
            try:
                return self._file(path, name)
            except (IrodsNotADataObjectError, IrodsNotFoundError):
                pass
        if self._session.collections.exists(path):
            return Node(name, NodeKind.DIRECTORY)
        return None

    def _file(self, path: str, name: str) -> Node:
        st = self.stats[path] = source_stat(self._session, path)
        return Node(name, NodeKind.FILE, st.size)

    def list_dir(self, path: str) -> list[Node]:
        entries = self._session.collections.iterate(path, recursive=False, with_stat=True)
        return [
            Node(e.name, NodeKind.FILE if e.kind is EntryKind.DATA_OBJECT else NodeKind.DIRECTORY, e.size)
            for e in entries
        ]

    def real_path(self, path: str) -> Hashable:
        return path

    def walk_files(
        self, root: str, *, max_depth: int | None, directories: bool = False
    ) -> Iterator[tuple[str, str, Node]]:
        """Every data object below ``root`` (one paged GenQuery listing), at most ``max_depth`` deep; one
        without a good replica (being written, or its write failed) is marked ``unreadable``. With
        ``directories`` the collections below ``root`` first (one more listing, whatever the tree's size)."""
        prefix = root.rstrip("/") + "/"
        entries = self._session.collections.iterate(
            root,
            recursive=max_depth != 1,
            kinds=Kinds.BOTH if directories else Kinds.DATA_OBJECTS,
            with_stat=True,
            read_ahead=self._read_ahead,
        )
        for entry in entries:
            if not entry.path.startswith(prefix):
                raise IrodsInvalidPathError("listing returned a path outside the collection", path=entry.path)
            rel = entry.path[len(prefix) :]
            if max_depth is not None and rel.count("/") >= max_depth:
                continue
            if entry.kind is EntryKind.COLLECTION:
                yield entry.path, rel, Node(entry.name, NodeKind.DIRECTORY)
                continue
            unreadable = unreadable_reason(entry.replicas)
            if entry.size is not None and unreadable is None:
                self.stats[entry.path] = Listed(entry.size, entry.checksum)
            yield entry.path, rel, Node(entry.name, NodeKind.FILE, entry.size, unreadable=unreadable)
