"""The request sizes a ``limits@openssh.com`` answer gives (OpenSSH's PROTOCOL 4.8: four uint64, 0 for no
limit) and the answers that give none: a status ("unsupported"), a short reply, a reply from a server whose
``VERSION`` did not offer the extension. No server sends the malformed ones: built as paramiko hands them."""

from __future__ import annotations

import struct

import paramiko
import pytest
from paramiko.sftp import CMD_EXTENDED_REPLY, CMD_STATUS

from irods_provider.sftp._session import (
    DEFAULT_REQUEST_SIZE,
    MAX_REQUEST_SIZE,
    SftpLimits,
    _extensions,
    _LimitsAnswer,
)


def _reply(*fields: int, cut: int = 0) -> paramiko.Message:
    body = struct.pack(">I", 7) + struct.pack(f">{len(fields)}Q", *fields)
    message = paramiko.Message(body[: len(body) - cut] if cut else body)
    message.get_int()  # the request id, read by paramiko before it hands the answer on
    return message


def _answer(t: int, message: paramiko.Message, *, offered: bool = True) -> SftpLimits | None:
    answer = _LimitsAnswer()
    answer.offered = offered
    answer._async_response(t, message, 7)
    return answer.limits


def test_openssh_answer_gives_its_length() -> None:
    limits = _answer(CMD_EXTENDED_REPLY, _reply(256 * 1024, 261120, 261120, 1019))
    assert limits == SftpLimits(256 * 1024, 261120, 261120, 1019)
    assert limits.request_size(write=True) == limits.request_size(write=False) == 261120 == MAX_REQUEST_SIZE


@pytest.mark.parametrize(
    ("fields", "read", "write"),
    [
        ((4 * 1024 * 1024 + 1024, 4 * 1024 * 1024, 4 * 1024 * 1024, 0), MAX_REQUEST_SIZE, MAX_REQUEST_SIZE),
        ((0, 0, 0, 0), MAX_REQUEST_SIZE, MAX_REQUEST_SIZE),  # no limits of its own
        ((0, 32768, 16384, 0), 32768, 16384),
        ((34000, 0, 0, 0), 34000 - 1024, 34000 - 1024),
    ],
)
def test_request_sizes_never_exceed_the_server_limits(fields: tuple[int, ...], read: int, write: int) -> None:
    limits = _answer(CMD_EXTENDED_REPLY, _reply(*fields))
    assert limits is not None
    assert (limits.request_size(write=False), limits.request_size(write=True)) == (read, write)


def test_answers_that_tell_no_limits_keep_the_default() -> None:
    status = paramiko.Message(struct.pack(">III", 7, 8, 0) + struct.pack(">I", 0))  # OP_UNSUPPORTED
    status.get_int()
    assert _answer(CMD_STATUS, status) is None
    assert _answer(CMD_EXTENDED_REPLY, _reply(1, 2, 3, 4, cut=1)) is None  # short: not zeros
    assert _answer(CMD_EXTENDED_REPLY, _reply(1, 2, 3, 4), offered=False) is None
    assert DEFAULT_REQUEST_SIZE == 128 * 1024


def test_version_extension_pairs() -> None:
    def pair(name: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(name)) + name + struct.pack(">I", len(data)) + data

    data = pair(b"posix-rename@openssh.com", b"1") + pair(b"limits@openssh.com", b"1")
    assert _extensions(data) == {"posix-rename@openssh.com": b"1", "limits@openssh.com": b"1"}
    assert _extensions(data + b"\x00\x00\x00\x09limi") == _extensions(data)  # a broken tail ends the list
