"""Directories on the SFTP server for downloads: the target directory (:func:`target_root`, which learns
the server's default file mode on the way), a tree's directories and a file's own, each created and
resolved in one round trip. Split out of ``_sink``."""

from __future__ import annotations

import posixpath
import stat
from collections.abc import Sequence
from typing import TYPE_CHECKING

import paramiko

from irods_provider.exceptions import IrodsSymlinkError

from . import _pipelined as pipelined
from ._modes import mode_probe, probed_facts, settle_directory_mode

if TYPE_CHECKING:
    from ._endpoint import SftpEndpoint


def target_root(sftp: SftpEndpoint, path: str, *, directory_mode: int | None = None) -> str:
    """Create the target directory ``path`` (and its parents); how the server resolves it (``normalize``),
    the ``root`` every :class:`~._sink.SftpStagingSink` of the task must stay inside. One round trip when
    ``path`` or its parent exists (:func:`ensure_directory`), the login directory
    (:attr:`~._endpoint.SftpEndpoint.home`) asked in it when ``path`` is relative and it is not known yet,
    and the server's default file mode learned in it too (:func:`_mode_probe`). Directories it creates get
    ``directory_mode`` (None: the server's default)."""
    with sftp.channel() as client:
        if "\x00" in path or path.startswith("/") or sftp.home_known:
            directory = sftp.resolve(path)
            probe = _mode_probe(sftp, client, directory)
            real, probed = ensure_directory(sftp, client, directory, also=probe, mode=directory_mode)
            _learn_mode(sftp, probed)
            return real
        # Relative to the login directory: sent as it is, the login directory asked in the same round trip.
        relative = posixpath.normpath(path)
        also = [pipelined.realpath(client, "."), *_mode_probe(sftp, client, relative)]
        real, (home, *probed) = ensure_directory(sftp, client, relative, also=also, mode=directory_mode)
        _learn_mode(sftp, probed)
        sftp.home = pipelined.name(home)
        if sftp.knows_directory(relative):
            sftp.note_directory(sftp.resolve(relative))
        return real


def _mode_probe(sftp: SftpEndpoint, client: paramiko.SFTPClient, directory: str) -> list[pipelined.Request]:
    """:func:`~._modes.mode_probe` in ``directory``, sent with :func:`target_root`'s own requests (no round
    trip of their own); none once the endpoint knows the mode."""
    return [] if sftp.new_file_mode is not None else mode_probe(client, directory)


def _learn_mode(sftp: SftpEndpoint, probed: Sequence[pipelined.Outcome]) -> None:
    """Note what :func:`_mode_probe`'s answers tell: the plain-create mode and the login user's uid (nothing
    when its ``mkdir`` or ``lstat`` failed)."""
    mode, uid = probed_facts(probed)
    if mode is not None:
        sftp.new_file_mode = mode
        sftp.login_uid = uid


def create_sftp_directories(
    sftp: SftpEndpoint, target: str, directories: Sequence[str], *, mode: int | None = None
) -> None:
    """Create a tree's ``directories`` below the SFTP directory ``target``, an existing one fine: parents
    first, one round trip each (:func:`ensure_directory`, how the server resolves ``target`` asked with it).
    Each must resolve inside ``target`` before anything is created in it, as a file's directory must
    (:meth:`~._sink.SftpStagingSink.destination_state`): a link leading out is IrodsSymlinkError, a file in
    the way IrodsNotADirectoryError, both naming the path. The directories it creates get ``mode`` (None: the
    server's default); existing ones are left as they are."""
    if not directories:
        return
    with sftp.channel() as client:
        for leaf in sorted(set(directories) - {target}):
            also = [pipelined.realpath(client, target)]
            real, (root,) = ensure_directory(sftp, client, leaf, also=also, mode=mode)
            if not real.startswith(pipelined.name(root).rstrip("/") + "/"):
                raise IrodsSymlinkError(f"{leaf!r} resolves outside the target directory", path=leaf)


def ensure_directory(
    sftp: SftpEndpoint,
    client: paramiko.SFTPClient,
    directory: str,
    *,
    also: Sequence[pipelined.Request] = (),
    mode: int | None = None,
) -> tuple[str, list[pipelined.Outcome]]:
    """:meth:`~._endpoint.SftpEndpoint.makedirs` ``directory``, then how the server resolves it (``realpath``)
    and the answers to ``also``, in one round trip: ``stat``, ``mkdir``, ``realpath`` and ``also`` sent
    together (``stat`` and ``mkdir`` only for a directory the endpoint has not settled yet). Unless the
    directory was there or that ``mkdir`` created it (its parent exists), ``makedirs`` goes step by step,
    then ``realpath`` and ``also`` are asked again (a second round trip): a ``mkdir`` that finds something
    in place changes nothing. ``mode``: the ``mkdir``'s permission bits, an ``lstat`` right after it in
    the same round trip, and an ``lsetstat`` (a round trip) only when the umask masked them."""
    settled = sftp.knows_directory(directory)
    made_mode = 0o777 if mode is None else mode
    mkdir = pipelined.mkdir(client, directory, made_mode)
    head = [] if settled else [pipelined.stat(client, directory), mkdir]
    if head and mode is not None:
        head.append(pipelined.lstat(client, directory))
    tail = [pipelined.realpath(client, directory), *also]
    outcomes = pipelined.exchange(client, [*head, *tail])
    if not settled:
        (found, made, *after), outcomes = outcomes[: len(head)], outcomes[len(head) :]
        if _is_directory(found):
            sftp.note_directory(directory)
        elif isinstance(found, FileNotFoundError) and pipelined.succeeded(made):
            sftp.note_directory(directory)
            if mode is not None:
                settle_directory_mode(client, directory, mode, after[0])
        else:
            sftp.makedirs(client, directory, mode=mode)  # parents, a race with another worker, a file there
            outcomes = pipelined.exchange(client, tail)
    return pipelined.name(outcomes[0]), outcomes[1:]


def _is_directory(outcome: pipelined.Outcome) -> bool:
    return not isinstance(outcome, OSError) and stat.S_ISDIR(pipelined.attributes(outcome).st_mode or 0)
