"""The permission bits of an SFTP temporary: private (``0600``) while written, then the mode a user expects.

One rule for every SFTP write (the staging sink, :class:`~._file.SftpFile`, :func:`~._io.publish_atomically`):
the temporary is created with ``0600`` (the OPEN's permission attribute; the server's umask still applies)
and its handle sets the published mode right before its CLOSE: the replaced file's, else what a plain
create gives on the server. OpenSSH's ``sftp-server`` creates a file with the OPEN's attribute, else 0666,
through ``open(2)``, and a ``mkdir`` without one with 0777, so the umask it runs under shows in a probe
directory's mode (sftp-server.c ``process_open``, ``process_mkdir``).

A caller may choose the published mode instead (``file_mode``, ``directory_mode``: :func:`parse_mode`, like
``install -m``): a new file and an overwrite alike then get exactly it, set the same way (the umask does not
apply to ``FSETSTAT``). OpenSSH applies one umask per ``sftp-server`` process, never per directory: the mode
probed in the target directory holds in its subdirectories too (only POSIX default ACLs, which OpenSSH does
not read, make a directory's creations differ; a setgid directory changes their group, and hands a
subdirectory its setgid bit, not a file's mode).
"""

from __future__ import annotations

import logging
import posixpath
import secrets
import stat
import weakref
from collections.abc import Sequence
from typing import Any

import paramiko
from paramiko.sftp import (
    CMD_EXTENDED,
    CMD_HANDLE,
    CMD_OPEN,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_EXCL,
    SFTP_FLAG_READ,
    SFTP_FLAG_TRUNC,
    SFTP_FLAG_WRITE,
)

from irods_provider.exceptions import (
    IrodsConfigurationError,
    IrodsSftpFileError,
    IrodsSymlinkError,
    IrodsUsageError,
)

from . import _pipelined as pipelined
from ._status import sftp_errors

__all__ = [
    "LSETSTAT",
    "PRIVATE_MODE",
    "mode_probe",
    "note_mode_refused",
    "open_with_perm",
    "parse_mode",
    "private_modes",
    "probed_facts",
    "probed_file_mode",
    "set_mode_not_following",
    "settle_directory_mode",
    "temporary_modes",
]

log = logging.getLogger(__name__)
#: A temporary's permission bits while it is written: the owner's only (the server's umask still applies).
PRIVATE_MODE = 0o600
#: The bits a chosen mode may have: a file's permissions only (never setuid, setgid or sticky: a data file
#: delivered from a zone is no program to run as its owner); a directory's also setgid (a group's shared
#: directory hands its group down) and sticky (only owners remove their files). Not setuid (no meaning).
FILE_MODE_BITS = 0o777
DIRECTORY_MODE_BITS = 0o3777
#: The extension that sets a mode without following a link (OpenSSH's PROTOCOL 4.7, sftp-server 8.0+).
LSETSTAT = "lsetstat@openssh.com"
_PROBE = ".irods-mode-probe-"  # the hidden directory a probe creates and removes to learn the umask
#: Per SFTP session: the mode a plain create gives (learned once), and whether the server refused a mode.
_DEFAULT_MODES: weakref.WeakKeyDictionary[paramiko.SFTPClient, int] = weakref.WeakKeyDictionary()
_REFUSED: weakref.WeakSet[paramiko.SFTPClient] = weakref.WeakSet()


def parse_mode(value: int | str | None, *, name: str, directory: bool = False) -> int | None:
    """The permission bits ``value`` names: an int (``0o640``) or octal digits (``"0640"``, ``"640"``,
    ``"0o640"``); None stays None (the server's default). Bits beyond :data:`FILE_MODE_BITS` (a directory:
    :data:`DIRECTORY_MODE_BITS`), a negative or non-octal value raise IrodsUsageError naming ``name``."""
    if value is None:
        return None
    allowed = DIRECTORY_MODE_BITS if directory else FILE_MODE_BITS
    text = value.strip().lower().removeprefix("0o") if isinstance(value, str) else None
    if isinstance(value, bool) or not isinstance(value, int | str):
        mode = -1
    elif text is not None:
        mode = int(text, 8) if text and set(text) <= set("01234567") else -1
    else:
        mode = int(value)
    if mode < 0 or mode & ~allowed:
        kind = "a directory (setgid, sticky allowed)" if directory else "a file (no setuid, setgid, sticky)"
        shown = f"{value:#o}" if isinstance(value, int) and not isinstance(value, bool) else repr(value)
        raise IrodsUsageError(f"{name}={shown} is not a mode of {kind}: octal bits within {allowed:#o}")
    return mode


def private_modes(
    replaced: int | None, default: int | None, *, refused: bool = False, chosen: int | None = None
) -> tuple[int | None, int | None]:
    """The permission bits a temporary is created with, and those its handle sets in its close's round
    trip (None: none asked). Private (:data:`PRIVATE_MODE`) while written, published with ``chosen`` (the
    caller's ``file_mode``), else ``replaced`` (the mode of the file it replaces), else ``default`` (what a
    plain create gives on the server). Without ``chosen``, as before (the server's default at the create,
    nothing at the close) when that is unknown for a new file, or after the server ``refused`` a mode."""
    if chosen is not None:  # asked for: set even where the server refused another file's mode
        created = None if default is None else default & PRIVATE_MODE
        return PRIVATE_MODE, None if chosen == created else chosen
    wanted = replaced if replaced is not None else default
    if wanted is None or refused:
        return None, None
    created = None if default is None else default & PRIVATE_MODE  # what the umask leaves of 0600
    return PRIVATE_MODE, None if wanted == created else wanted


def mode_probe(client: paramiko.SFTPClient, directory: str) -> list[pipelined.Request]:
    """``mkdir``, ``lstat`` and ``rmdir`` of a hidden random directory in ``directory``, to send with other
    requests (no round trip of their own); :func:`probed_file_mode` reads their answers."""
    probe = posixpath.join(directory, f"{_PROBE}{secrets.token_hex(8)}")
    return [pipelined.mkdir(client, probe), pipelined.lstat(client, probe), pipelined.rmdir(client, probe)]


def probed_file_mode(probed: Sequence[pipelined.Outcome]) -> int | None:
    """The mode a plain create gives a file (0666 less the umask the probe directory's 0777 lost), from
    :func:`mode_probe`'s answers; None when its ``mkdir`` or ``lstat`` failed."""
    return probed_facts(probed)[0]


def probed_facts(probed: Sequence[pipelined.Outcome]) -> tuple[int | None, int | None]:
    """:func:`probed_file_mode` and the login user's uid (the owner of the directory the probe made), read
    from one parse of its answers (an answer's message is read once); (None, None) when it failed."""
    if len(probed) != 3 or not pipelined.succeeded(probed[0]):
        return None, None
    try:
        attributes = pipelined.attributes(probed[1])
    except (OSError, paramiko.SFTPError):
        return None, None
    if not stat.S_ISDIR(attributes.st_mode or 0):
        return None, None
    return stat.S_IMODE(attributes.st_mode or 0) & 0o666, attributes.st_uid


def temporary_modes(
    client: paramiko.SFTPClient, final: str, *, chosen: int | None = None
) -> tuple[int | None, int | None]:
    """:func:`private_modes` of a temporary for ``final`` written through ``client``: the replaced file's
    mode from an ``lstat`` of ``final``, the server's plain-create mode probed beside it the first time
    (one round trip for both); with a ``chosen`` mode neither is asked (no round trip)."""
    if chosen is not None:
        return private_modes(None, _DEFAULT_MODES.get(client), chosen=chosen)
    requests = [pipelined.lstat(client, final)]
    known = _DEFAULT_MODES.get(client)
    if known is None:
        requests += mode_probe(client, posixpath.dirname(final) or ".")
    there, *probed = pipelined.exchange(client, requests)
    if known is None and (learned := probed_file_mode(probed)) is not None:
        _DEFAULT_MODES[client] = known = learned
    replaced = None
    if not isinstance(there, OSError | EOFError):
        mode = pipelined.attributes(there).st_mode or 0
        replaced = stat.S_IMODE(mode) & 0o777 if stat.S_ISREG(mode) else None
    return private_modes(replaced, known, refused=client in _REFUSED)


def settle_directory_mode(
    client: paramiko.SFTPClient, directory: str, mode: int, made: pipelined.Outcome | None = None
) -> None:
    """Give the ``directory`` just created with ``mode`` exactly that (one ``lsetstat``: a round trip) when
    the umask masked it, as its ``lstat`` answer ``made`` (asked now when None) shows. A setgid bit it
    inherited from its parent stays unless ``mode`` has it (as GNU ``mkdir -m 750`` keeps it)."""
    with sftp_errors(directory, f"could not set the mode of SFTP directory {directory!r}"):
        try:
            found = client.lstat(directory) if made is None else pipelined.attributes(made)
            now = stat.S_IMODE(found.st_mode or 0)
        except (OSError, paramiko.SFTPError):
            now = 0o7777 + 1  # unknown: set it
        wanted = mode | (now & stat.S_ISGID)
        if now != wanted:
            set_mode_not_following(client, directory, wanted)


def set_mode_not_following(client: paramiko.SFTPClient, path: str, mode: int) -> None:
    """Set ``path``'s permission bits without following a link: ``lsetstat@openssh.com``. A ``SETSTAT``
    follows one (sftp-server.c ``process_setstat``: ``chmod``), so a directory swapped for a link after
    its ``mkdir`` would have the link's target chmod-ed. A server that does not offer the extension
    (OpenSSH before 8.0) gets no set: IrodsConfigurationError; a link found there IrodsSymlinkError."""
    if getattr(client, "extensions", {}).get(LSETSTAT) != b"1":  # OpenSSH's revision "1"
        raise IrodsConfigurationError(
            f"the SFTP server does not offer {LSETSTAT} (OpenSSH 8.0+), needed to set directory_mode "
            f"{mode:#o} where its umask masked it without following a link; the directory keeps the mode "
            "the umask left (set the server's umask, e.g. internal-sftp -u, or leave directory_mode out)",
            path=path,
        )
    attrs = paramiko.SFTPAttributes()
    attrs.st_mode = mode
    sftp: Any = client  # paramiko's request plumbing is not in its stubs
    try:
        sftp._request(CMD_EXTENDED, LSETSTAT, sftp._adjust_cwd(path), attrs)
    except (OSError, paramiko.SFTPError) as exc:
        try:
            swapped = stat.S_ISLNK(client.lstat(path).st_mode or 0)
        except (OSError, paramiko.SFTPError):
            swapped = False
        if swapped:
            raise IrodsSymlinkError(
                f"SFTP directory {path!r} was replaced by a symbolic link before its mode was set: "
                "nothing was changed through it",
                path=path,
            ) from exc
        raise


def note_mode_refused(
    client: paramiko.SFTPClient, final: str, error: OSError | None, *, chosen: int | None = None
) -> None:
    """After a close whose mode the server refused (``error``): warn once per session; its later
    temporaries are created as before (:func:`temporary_modes`). A ``chosen`` mode refused raises
    IrodsSftpFileError naming ``final`` (the caller asked for it: the temporary is not published)."""
    if error is not None and chosen is not None:
        raise IrodsSftpFileError(
            f"the SFTP server refused to set file_mode {chosen:#o}", server_message=str(error), path=final
        )
    if error is None or client in _REFUSED:
        return
    _REFUSED.add(client)
    log.warning("The SFTP server refused to set the mode of %s (%s): it stays private (0600)", final, error)


def open_with_perm(client: paramiko.SFTPClient, path: str, mode: str, perm: int) -> paramiko.SFTPFile:
    """``client.open(path, mode)`` with ``EXCL``, its OPEN carrying the permission attribute ``perm``
    (paramiko sends none): sftp-server.c ``process_open`` passes it to ``open(2)`` (else 0666)."""
    flags = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC | SFTP_FLAG_EXCL
    if "+" in mode:
        flags |= SFTP_FLAG_READ
    attrs = paramiko.SFTPAttributes()
    attrs.st_mode = perm
    sftp: Any = client  # paramiko's request plumbing is not in its stubs
    t, msg = sftp._request(CMD_OPEN, sftp._adjust_cwd(path), flags, attrs)
    if t != CMD_HANDLE:
        raise paramiko.SFTPError("Expected handle")
    return paramiko.SFTPFile(client, msg.get_binary(), mode, bufsize=0)
