"""One SSH connection from an Airflow SFTP connection, shared by the staging workers.

Built on Airflow's :class:`~airflow.providers.sftp.hooks.sftp.SFTPHook`, so users reuse their SFTP connections
(host key checks, keys, proxies). Each worker borrows its own SFTP channel on the one tuned transport
(TCP_NODELAY); commands (``sha256sum``) run over ``exec`` channels of that transport when allowed.
"""

from __future__ import annotations

import contextlib
import posixpath
import queue
import shlex
import stat
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Self

import paramiko

from irods_provider.client._paths import is_temporary_name
from irods_provider.exceptions import IrodsInvalidPathError, IrodsProtocolError
from irods_provider.sftp._io import open_sftp_channels, tune_transport

if TYPE_CHECKING:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

__all__ = ["SftpEndpoint"]

_EXEC_TIMEOUT = 600.0
# A remote command's stdout/stderr beyond this is refused, not buffered (sha256sum prints ~100 bytes).
MAX_COMMAND_OUTPUT = 64 * 1024


class SftpEndpoint:
    """SFTP channels and commands over one SSH transport opened from ``hook``; use as a context manager."""

    def __init__(self, hook: SFTPHook, *, compress: bool | None = False) -> None:
        self.hook = hook
        self.compress = compress
        self._main: paramiko.SFTPClient | None = None
        self._transport: paramiko.Transport | None = None
        self._pool: queue.SimpleQueue[paramiko.SFTPClient] = queue.SimpleQueue()
        self._all: list[paramiko.SFTPClient] = []
        self._lock = threading.Lock()
        self.home = "/"
        self.commands_allowed: bool | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def open(self) -> Self:
        """Connect (through the hook) and tune the transport."""
        if self.compress is not None:
            # SSHHook compresses by default: zlib on bulk, incompressible data caps paramiko at ~30 MB/s.
            self.hook.compress = self.compress
        main = self.hook.get_conn()
        channel = main.get_channel()
        if channel is None:
            raise OSError("the SFTP client has no channel")
        self._main = main
        self._transport = channel.get_transport()
        tune_transport(self._transport)
        self.home = main.normalize(".")
        self._all.append(main)
        self._pool.put(main)
        return self

    def close(self) -> None:
        """Close every channel and the transport."""
        for client in self._all:
            with contextlib.suppress(Exception):
                client.close()
        self._all.clear()
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        with contextlib.suppress(Exception):
            self.hook.close_conn()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def transport(self) -> paramiko.Transport:
        if self._transport is None:
            raise RuntimeError("SftpEndpoint is not open")
        return self._transport

    @property
    def main(self) -> paramiko.SFTPClient:
        if self._main is None:
            raise RuntimeError("SftpEndpoint is not open")
        return self._main

    # -- channels --------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def channel(self) -> Iterator[paramiko.SFTPClient]:
        """Borrow an SFTP channel for one worker (opened on demand, returned to the pool after use)."""
        try:
            client = self._pool.get_nowait()
        except queue.Empty:
            client = self.open_channels(1)[0]
        try:
            yield client
        finally:
            self._pool.put(client)

    def open_channels(self, count: int) -> list[paramiko.SFTPClient]:
        """Open ``count`` more SFTP channels; they are closed with the endpoint."""
        clients = open_sftp_channels(self.transport, count)
        with self._lock:
            self._all.extend(clients)
        return clients

    def release(self, clients: list[paramiko.SFTPClient]) -> None:
        """Close channels from :meth:`open_channels` early."""
        for client in clients:
            with contextlib.suppress(Exception):
                client.close()
        with self._lock:
            self._all = [c for c in self._all if c not in clients]

    # -- paths -----------------------------------------------------------------------------------------

    def resolve(self, path: str) -> str:
        """An absolute SFTP path (relative paths start at the login directory)."""
        if "\x00" in path:
            raise IrodsInvalidPathError(f"SFTP path {path!r} holds a NUL byte")
        return posixpath.normpath(posixpath.join(self.home, path))

    def shell_path(self, path: str) -> str:
        """The same file as a shell on the server names it: relative to the login directory when inside it.

        Relative paths mean the same file for SFTP and commands even on chrooted servers.
        """
        home = self.home.rstrip("/") + "/"
        if path.startswith(home):
            return path[len(home) :]
        return path

    def stat(self, client: paramiko.SFTPClient, path: str) -> paramiko.SFTPAttributes | None:
        """``stat`` (following links), or None when nothing is there."""
        try:
            return client.stat(path)
        except FileNotFoundError:
            return None

    def makedirs(self, client: paramiko.SFTPClient, path: str) -> None:
        """Create ``path`` and its missing parents (an existing directory is fine)."""
        missing: list[str] = []
        current = path
        while current not in ("/", "") and self.stat(client, current) is None:
            missing.append(current)
            current = posixpath.dirname(current)
        for directory in reversed(missing):
            with contextlib.suppress(OSError):
                client.mkdir(directory)
            attrs = self.stat(client, directory)
            if attrs is None or not stat.S_ISDIR(attrs.st_mode or 0):
                raise NotADirectoryError(f"could not create SFTP directory {directory!r}")

    def walk(
        self,
        client: paramiko.SFTPClient,
        base: str,
        *,
        max_depth: int | None,
        follow_symlinks: bool = False,
    ) -> Iterator[tuple[str, paramiko.SFTPAttributes]]:
        """Regular files under ``base`` (depth-first, sorted), as ``(relative path, attributes)``.

        Symbolic links are skipped (no loops, no leaving the tree) unless ``follow_symlinks``: then links to
        files are listed with their target's attributes and linked directories are visited once each (loops
        detected by the server's real path, SFTP having no inode).
        """
        seen = {client.normalize(base)} if follow_symlinks else set()
        stack: list[tuple[str, int]] = [("", 0)]
        while stack:
            relative, depth = stack.pop()
            directory = posixpath.join(base, relative) if relative else base
            entries = sorted(client.listdir_attr(directory), key=lambda a: a.filename, reverse=True)
            for listed in entries:
                child = f"{relative}/{listed.filename}" if relative else listed.filename
                attrs: paramiko.SFTPAttributes | None = listed
                if stat.S_ISLNK(listed.st_mode or 0):
                    target = posixpath.join(base, child)
                    attrs = self._follow(client, target, seen) if follow_symlinks else None
                elif follow_symlinks and stat.S_ISDIR(listed.st_mode or 0):
                    seen.add(client.normalize(posixpath.join(base, child)))
                if attrs is None:
                    continue
                mode = attrs.st_mode or 0
                if stat.S_ISDIR(mode):
                    if max_depth is None or depth + 1 < max_depth:
                        stack.append((child, depth + 1))
                elif stat.S_ISREG(mode) and not is_temporary_name(listed.filename):
                    yield child, attrs  # a copy still in flight (or abandoned) is never a source

    @staticmethod
    def _follow(client: paramiko.SFTPClient, path: str, seen: set[str]) -> paramiko.SFTPAttributes | None:
        """A symlink's target attributes; None for dangling links and directories already visited."""
        try:
            attrs = client.stat(path)
            if stat.S_ISDIR(attrs.st_mode or 0):
                real = client.normalize(path)
                if real in seen:
                    return None
                seen.add(real)
        except OSError:
            return None
        return attrs

    # -- commands --------------------------------------------------------------------------------------

    def run(
        self, command: str, *, timeout: float = _EXEC_TIMEOUT, max_output: int = MAX_COMMAND_OUTPUT
    ) -> tuple[int, bytes, bytes] | None:
        """Run ``command`` over an exec channel; None when the server refuses command execution.

        Output beyond ``max_output`` bytes (stdout or stderr) is an IrodsProtocolError naming the command.
        """
        if self.commands_allowed is False:
            return None
        try:
            channel = self.transport.open_session(timeout=30)
        except paramiko.SSHException:
            self.commands_allowed = False
            return None
        with channel:
            channel.settimeout(timeout)
            try:
                # stdin from /dev/null instead of shutdown_write(): a separate EOF can be sent after the
                # CLOSE paramiko's transport thread sends when the command already finished, which
                # asyncssh answers by dropping the whole connection ("Channel not open for sending").
                channel.exec_command(f"{command} </dev/null")
            except paramiko.SSHException:
                self.commands_allowed = False
                return None
            stdout = _read_bounded(channel.makefile("rb"), max_output, command)
            stderr = _read_bounded(channel.makefile_stderr("rb"), max_output, command)
            status = channel.recv_exit_status()
        self.commands_allowed = True
        return status, stdout, stderr

    def sha256sum(self, path: str) -> str | None:
        """The hex SHA-256 of ``path`` computed on the server (``sha256sum``), or None when unavailable."""
        return self._digest("sha256sum", path, 64)

    def md5sum(self, path: str) -> str | None:
        """The hex MD5 of ``path`` computed on the server (``md5sum``, for MD5 zones), or None."""
        return self._digest("md5sum", path, 32)

    def _digest(self, tool: str, path: str, width: int) -> str | None:
        result = self.run(f"{tool} -- {shlex.quote(self.shell_path(path))}")
        if result is None:
            return None
        status, out, _ = result
        digest = out.split(b" ", 1)[0].decode("ascii", "replace").strip().lstrip("\\")
        if status != 0 or len(digest) != width:
            return None
        return digest


def _read_bounded(stream: paramiko.ChannelFile, limit: int, command: str) -> bytes:
    """Read a command's output stream to its end, refusing more than ``limit`` bytes."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        name = command.split(" ", 1)[0]
        raise IrodsProtocolError(f"output of the remote command {name!r} exceeds {limit} bytes; refused")
    return bytes(data)
