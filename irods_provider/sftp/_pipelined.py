"""Independent SFTP requests sent together and answered in one round trip (paramiko's ``_async_request``).

A WAN path costs a round trip per blocking request; requests whose answers do not depend on each other can
all be on the wire at once. Servers (OpenSSH's sftp-server, asyncssh) serve one session's requests in the
order sent, and every answer is judged on its own by the caller: an unexpected one (a server that reordered
them included) only sends the caller down its slower, request-by-request path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import paramiko
from paramiko.sftp import (
    CMD_ATTRS,
    CMD_DATA,
    CMD_FSETSTAT,
    CMD_HANDLE,
    CMD_LSTAT,
    CMD_MKDIR,
    CMD_NAME,
    CMD_OPEN,
    CMD_REALPATH,
    CMD_RMDIR,
    CMD_STAT,
    CMD_STATUS,
    SFTP_FLAG_READ,
)

__all__ = [
    "Answer",
    "Outcome",
    "Request",
    "attributes",
    "collect",
    "data",
    "exchange",
    "fchmod",
    "lstat",
    "mkdir",
    "name",
    "opened",
    "read_open",
    "realpath",
    "rmdir",
    "send",
    "stat",
    "succeeded",
]

#: One request: its SFTP message type and arguments (as paramiko's ``_async_request`` packs them).
Request = tuple[Any, ...]
#: One answer: (message type, message), or the error its status maps to (as paramiko raises it: an OSError,
#: or EOFError for a read at the end of the file).
Outcome = tuple[int, paramiko.Message] | OSError | EOFError


def stat(client: paramiko.SFTPClient, path: str) -> Request:
    return (CMD_STAT, _path(client, path))


def lstat(client: paramiko.SFTPClient, path: str) -> Request:
    return (CMD_LSTAT, _path(client, path))


def realpath(client: paramiko.SFTPClient, path: str) -> Request:
    return (CMD_REALPATH, _path(client, path))


def read_open(client: paramiko.SFTPClient, path: str) -> Request:
    """Open ``path`` for reading (what ``client.open(path, "rb")`` sends)."""
    return (CMD_OPEN, _path(client, path), SFTP_FLAG_READ, paramiko.SFTPAttributes())


def mkdir(client: paramiko.SFTPClient, path: str, mode: int = 0o777) -> Request:
    attrs = paramiko.SFTPAttributes()
    attrs.st_mode = mode
    return (CMD_MKDIR, _path(client, path), attrs)


def rmdir(client: paramiko.SFTPClient, path: str) -> Request:
    return (CMD_RMDIR, _path(client, path))


def fchmod(handle: paramiko.SFTPFile, mode: int) -> Request:
    """Set an open file's permission bits by its handle (``FSETSTAT``: no path, so no link followed)."""
    attrs = paramiko.SFTPAttributes()
    attrs.st_mode = mode
    return (CMD_FSETSTAT, handle.handle, attrs)


def _path(client: paramiko.SFTPClient, path: str) -> Any:
    sftp: Any = client  # paramiko's request plumbing is not in its stubs
    return sftp._adjust_cwd(path)


class Answer:
    """Where paramiko hands an answer read while waiting for another request's."""

    def __init__(self) -> None:
        self.reply: tuple[int, paramiko.Message] | None = None

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        self.reply = (t, msg)


def exchange(client: paramiko.SFTPClient, requests: Sequence[Request]) -> list[Outcome]:
    """Send every request before reading any answer, then read them all: one round trip for all.

    Each outcome is the answer or the error of its status (every answer is read, so none is left in the
    way of the channel's next request); a lost connection raises at once (reading, never a status).
    """
    return collect(client, send(client, requests))


def send(client: paramiko.SFTPClient, requests: Sequence[Request]) -> list[Answer]:
    """Send ``requests`` without waiting; :func:`collect` reads their answers (in any order they come)."""
    sftp: Any = client  # paramiko's request plumbing is not in its stubs
    answers = [Answer() for _ in requests]
    for answer, request in zip(answers, requests, strict=True):
        sftp._async_request(answer, *request)
    return answers


def collect(client: paramiko.SFTPClient, answers: Sequence[Answer]) -> list[Outcome]:
    """The outcomes of requests :func:`send` sent (see :func:`exchange`)."""
    sftp: Any = client
    outcomes: list[Outcome] = []
    for answer in answers:
        while answer.reply is None:
            sftp._read_response()  # one packet, handed to the request it answers
        t, msg = answer.reply
        try:
            if t == CMD_STATUS:
                sftp._convert_status(msg)  # raises the error status as paramiko types it
        except (OSError, EOFError) as exc:
            outcomes.append(exc)
            continue
        outcomes.append((t, msg))
    return outcomes


def attributes(outcome: Outcome) -> paramiko.SFTPAttributes:
    """A ``stat``/``lstat`` answer's attributes (raising its error as ``client.stat`` would)."""
    t, msg = _answer(outcome)
    if t != CMD_ATTRS:
        raise paramiko.SFTPError("Expected attributes")
    factory: Any = paramiko.SFTPAttributes
    return cast("paramiko.SFTPAttributes", factory._from_msg(msg))


def name(outcome: Outcome) -> str:
    """A ``realpath`` answer's one name (raising its error as ``client.normalize`` would)."""
    t, msg = _answer(outcome)
    if t != CMD_NAME:
        raise paramiko.SFTPError("Expected name response")
    count = msg.get_int()
    if count != 1:
        raise paramiko.SFTPError(f"Realpath returned {count} results")
    return str(msg.get_text())


def opened(client: paramiko.SFTPClient, outcome: Outcome) -> paramiko.SFTPFile:
    """A :func:`read_open` answer as the file ``client.open(path, "rb")`` returns (raising its error)."""
    t, msg = _answer(outcome)
    if t != CMD_HANDLE:
        raise paramiko.SFTPError("Expected handle")
    return paramiko.SFTPFile(client, msg.get_binary(), "rb")


def succeeded(outcome: Outcome) -> bool:
    """Whether a request answered by a status (``mkdir``) succeeded."""
    return not isinstance(outcome, OSError | EOFError)


def data(outcome: Outcome) -> bytes:
    """A read's bytes (raising its error; ``EOFError`` at the end of the file)."""
    t, msg = _answer(outcome)
    if t != CMD_DATA:
        raise paramiko.SFTPError("Expected data")
    return bytes(msg.get_string())


def _answer(outcome: Outcome) -> tuple[int, paramiko.Message]:
    if isinstance(outcome, OSError | EOFError):
        raise outcome
    return outcome
