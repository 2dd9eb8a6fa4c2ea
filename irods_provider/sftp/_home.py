"""SFTP paths that start with ``~``, read as OpenSSH's own client reads them in SFTP mode.

openssh-portable scp.c ``prepare_remote_path``: ``~`` and ``~/x`` are the login directory and ``x`` in it
(an SFTP session starts in the login directory: sftp-server.c changes there, and its ``expand-path``
answers ``~`` and ``~/`` with the current directory, ``process_extended_expand``), so they become relative
paths with no round trip; ``~user/x`` is asked of the server's ``expand-path@openssh.com`` and refused
without it. Sent as they are, an SFTP server takes ``~`` for an ordinary name.
"""

from __future__ import annotations

from typing import Any

import paramiko
from paramiko.sftp import CMD_EXTENDED, CMD_NAME

from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.sftp._session import server_offers
from irods_provider.sftp._status import sftp_errors

__all__ = ["EXPAND_PATH", "expand_home", "needs_expand_path"]

EXPAND_PATH = "expand-path@openssh.com"


def needs_expand_path(path: str) -> bool:
    """Whether ``path`` names another user's home (``~user``): only the server can say where that is."""
    return path.startswith("~") and path.partition("/")[0] != "~"


def expand_home(path: str, client: paramiko.SFTPClient | None = None) -> str:
    """``path`` without its leading ``~``: ``~`` is ``.``, ``~/x`` is ``x`` (a trailing ``/`` kept: "into
    this directory"), ``~user/x`` the absolute path the server's ``expand-path`` gives (``client`` needed,
    see :func:`needs_expand_path`). Other paths are returned unchanged."""
    if not path.startswith("~"):
        return path
    head, slash, rest = path.partition("/")
    if head == "~":
        rest = rest.lstrip("/")
        return rest or ("./" if slash else ".")
    home = _expand_user(client, head, path)
    return f"{home.rstrip('/')}/{rest}" if slash else home


def _expand_user(client: paramiko.SFTPClient | None, user: str, path: str) -> str:
    """The absolute home directory ``~user`` names on the server, asked with ``expand-path``."""
    refusal = IrodsInvalidPathError(
        f"SFTP path {path!r}: the server does not offer {EXPAND_PATH}, which a ~user path needs "
        "(as OpenSSH's scp says); give the absolute path",
        path=path,
    )
    if client is None or server_offers(client, EXPAND_PATH) is False:
        raise refusal
    sftp: Any = client  # paramiko's request plumbing is private (untyped)
    with sftp_errors(path, f"cannot expand {user!r}", operation="sftp_expand_path"):
        try:
            kind, message = sftp._request(CMD_EXTENDED, EXPAND_PATH, user)
        except OSError as exc:
            if "unsupported" in str(exc).lower():  # OpenSSH's answer to an unknown extension
                raise refusal from exc
            raise
    if kind != CMD_NAME or message.get_int() < 1:
        raise IrodsInvalidPathError(f"SFTP path {path!r}: the server's expand-path gave no name", path=path)
    home: str = message.get_text()
    return home
