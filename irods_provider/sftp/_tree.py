"""An SFTP server as the planner's :class:`~irods_provider.client.transfer._plan.Tree`.

SFTP has no inode: a directory reached through links is identified by the server's real path
(``normalize``), asked only while following links. Paths are absolute (:meth:`SftpEndpoint.resolve`: relative
paths start at the login directory). A plain relative path resolved before the login directory is known has
its ``lstat`` sent with the ``realpath .`` that asks it: one round trip for both (the server resolves a
relative path against the login directory too), and the planner's ``stat`` of it takes that answer.
"""

from __future__ import annotations

import posixpath
import stat
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

from paramiko.sftp import CMD_LSTAT

from irods_provider.client.transfer._plan import Node, NodeKind
from irods_provider.sftp._io import attributes_ahead
from irods_provider.sftp._status import sftp_errors

if TYPE_CHECKING:
    import paramiko

    from irods_provider.sftp._endpoint import SftpEndpoint

__all__ = ["SftpTree"]


def _node(name: str, attrs: paramiko.SFTPAttributes, *, link: bool = False) -> Node:
    mode = attrs.st_mode or 0
    kind = (
        NodeKind.DIRECTORY if stat.S_ISDIR(mode) else NodeKind.FILE if stat.S_ISREG(mode) else NodeKind.OTHER
    )
    return Node(name, kind, attrs.st_size, attrs.st_mtime, link)


class SftpTree:
    """The files of an SFTP server through one open channel, as the planner sees them."""

    label = "SFTP source"
    hidden_convention = False

    def __init__(self, endpoint: SftpEndpoint, client: paramiko.SFTPClient) -> None:
        self._endpoint = endpoint
        self._client = client
        self._ahead: dict[str, Callable[[], paramiko.SFTPAttributes]] = {}  # resolved path -> its lstat

    def resolve(self, path: str) -> str:
        if self._endpoint.home_known or not _plain_relative(path):
            return self._endpoint.resolve(path)
        lstat = attributes_ahead(self._client, CMD_LSTAT, path)  # answered with the realpath, in order
        self._endpoint.home = str(self._client.normalize("."))
        resolved = self._endpoint.resolve(path)
        self._ahead[resolved] = lstat
        return resolved

    def join(self, directory: str, name: str) -> str:
        return posixpath.join(directory, name)

    def stat(self, path: str) -> Node | None:
        name = posixpath.basename(path)
        ahead = self._ahead.pop(path, None)
        try:
            attrs = ahead() if ahead is not None else self._client.lstat(path)
        except FileNotFoundError:
            return None
        if not stat.S_ISLNK(attrs.st_mode or 0):
            return _node(name, attrs)
        try:
            return _node(name, self._client.stat(path), link=True)
        except OSError:  # dangling or looping
            return Node(name, NodeKind.OTHER, link=True)

    def list_dir(self, path: str) -> list[Node]:
        nodes = []
        with sftp_errors(path, "cannot list the SFTP directory"):
            listed = self._client.listdir_attr(path)
        for attrs in listed:
            if stat.S_ISLNK(attrs.st_mode or 0):
                nodes.append(Node(attrs.filename, NodeKind.OTHER, link=True))
            else:
                nodes.append(_node(attrs.filename, attrs))
        return nodes

    def real_path(self, path: str) -> Hashable:
        return self._client.normalize(path)


def _plain_relative(path: str) -> bool:
    """A relative path naming the same file relative to the login directory as joined to it (no ``..``,
    nothing ``normpath`` would rewrite), so its ``lstat`` may go out before that directory is known."""
    return (
        bool(path)
        and not path.startswith("/")
        and "\x00" not in path
        and posixpath.normpath(path) == path
        and ".." not in path.split("/")
    )
