"""A live SFTP server's status answers told apart from a lost channel.

paramiko raises a server's failure status (``SSH_FX_FAILURE``, ``SSH_FX_BAD_MESSAGE``, ...) as a bare
``OSError(text)`` and its end-of-file status as ``EOFError(text)``: the same types it raises for a channel
that is gone (``OSError("Socket is closed")``, ``EOFError()``). Every SFTP client the endpoint opens answers
through :func:`answer_typed` instead, so a server's answer is never retried as a lost connection.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Iterator

import paramiko
from paramiko.sftp import (
    SFTP_BAD_MESSAGE,
    SFTP_CONNECTION_LOST,
    SFTP_EOF,
    SFTP_FAILURE,
    SFTP_NO_CONNECTION,
    SFTP_NO_SUCH_FILE,
    SFTP_OK,
    SFTP_OP_UNSUPPORTED,
    SFTP_PERMISSION_DENIED,
)

from irods_provider.exceptions import (
    IrodsError,
    IrodsNotFoundError,
    IrodsPermissionError,
    IrodsSftpFileError,
)

__all__ = [
    "SftpEndOfFile",
    "answer_typed",
    "is_raw_connection_error",
    "sftp_error",
    "sftp_errors",
    "status_error",
]

_NAMES = {
    SFTP_FAILURE: "SSH_FX_FAILURE",
    SFTP_BAD_MESSAGE: "SSH_FX_BAD_MESSAGE",
    SFTP_OP_UNSUPPORTED: "SSH_FX_OP_UNSUPPORTED",
}


class SftpEndOfFile(EOFError):
    """The server answered a read with end-of-file (or with no bytes): the file is shorter than asked."""


def status_error(code: int, text: str) -> BaseException | None:
    """What a status answer ``code`` with ``text`` raises: None for OK; paramiko's ``FileNotFoundError`` and
    ``PermissionError``; :class:`SftpEndOfFile`; a typed :class:`IrodsSftpFileError` for a failure; a
    ``ConnectionError`` for the two statuses that mean the connection itself (``NO_CONNECTION``,
    ``CONNECTION_LOST``)."""
    if code == SFTP_OK:
        return None
    if code == SFTP_EOF:
        return SftpEndOfFile(text)
    if code == SFTP_NO_SUCH_FILE:
        return OSError(errno.ENOENT, text)  # FileNotFoundError, as paramiko raises it
    if code == SFTP_PERMISSION_DENIED:
        return OSError(errno.EACCES, text)  # PermissionError
    if code in (SFTP_NO_CONNECTION, SFTP_CONNECTION_LOST):
        return ConnectionError(text)
    name = _NAMES.get(code, f"SFTP status {code}")
    return IrodsSftpFileError(f"the SFTP server answered {name}", server_message=text)


def answer_typed(client: paramiko.SFTPClient) -> paramiko.SFTPClient:
    """Make ``client`` raise :func:`status_error` for its status answers (its handles and our pipelines ask
    it through ``client._convert_status``); returns ``client``."""

    def convert_status(msg: paramiko.Message) -> None:
        code = msg.get_int()
        error = status_error(code, msg.get_text())
        if error is not None:
            raise error

    setattr(client, "_convert_status", convert_status)  # noqa: B010  # an instance attribute, per client
    return client


def is_raw_connection_error(exc: BaseException) -> bool:
    """An error paramiko or a socket raises when an SSH connection or channel fails (or stalls).

    A live server's status answers are not: a failure status is an :class:`IrodsSftpFileError` and an
    end-of-file answer an :class:`SftpEndOfFile` on every client the endpoint opens (:func:`answer_typed`).
    """
    if isinstance(exc, IrodsError | SftpEndOfFile):
        return False
    # SFTPError: paramiko's protocol-level failures ("Garbage packet received" on a channel cut mid-packet);
    # a server's answers to requests arrive typed, or as OSError subclasses with an errno.
    raw = (paramiko.SSHException, paramiko.SFTPError, EOFError, ConnectionError, socket.timeout)
    return isinstance(exc, raw) or (
        type(exc) is OSError
        # paramiko's "Socket is closed" (no errno), or the socket itself gone (never an SFTP status: those
        # map to ENOENT, EACCES and the like)
        and exc.errno in (None, errno.ENOTCONN, errno.EBADF, errno.ESHUTDOWN)
    )


def sftp_error(exc: BaseException, *, path: str, doing: str, operation: str | None = None) -> BaseException:
    """The typed error for the SFTP server's answer ``exc`` to a request on ``path``; ``doing`` says what
    failed (``"could not create SFTP directory '/x'"``), the message names the status. Permission denied is an
    :class:`IrodsPermissionError`, no such file an :class:`IrodsNotFoundError`, a failure status an
    :class:`IrodsSftpFileError` naming the path; a lost connection (the caller retries it) and anything
    else are returned as they are."""
    if not isinstance(exc, OSError) or is_raw_connection_error(exc):
        return exc
    if isinstance(exc, IrodsSftpFileError) and exc.path is None:  # as the client raised it: no path yet
        message = f"{doing}: {exc.message}"
        return IrodsSftpFileError(message, server_message=exc.server_message, operation=operation, path=path)
    if isinstance(exc, IrodsError):
        return exc
    kind: type[IrodsError]
    if isinstance(exc, PermissionError):
        kind, status = IrodsPermissionError, "SSH_FX_PERMISSION_DENIED"
    elif isinstance(exc, FileNotFoundError):
        kind, status = IrodsNotFoundError, "SSH_FX_NO_SUCH_FILE"
    else:
        return exc
    return kind(f"{doing}: {status} ({exc.strerror or exc})", operation=operation, path=path)


@contextlib.contextmanager
def sftp_errors(path: str, doing: str, *, operation: str | None = None) -> Iterator[None]:
    """Raise the SFTP server's answers inside the block typed (:func:`sftp_error`), chained to the raw one."""
    try:
        yield
    except OSError as exc:
        typed = sftp_error(exc, path=path, doing=doing, operation=operation)
        if typed is exc:
            raise
        raise typed from exc
