"""``directory_mode`` never chmods through a link: a masked ``mkdir``'s mode is set by ``lsetstat``.

A ``SETSTAT`` follows symlinks (OpenSSH's sftp-server.c V_9_6_P1 ``process_setstat``: ``chmod(name, ...)``),
so whoever can write in the parent could swap the new directory for a link between the ``mkdir`` and the
set and have the link's target chmod-ed. ``lsetstat@openssh.com`` (OpenSSH 8.0+, advertised "1" in the
``VERSION``; ``process_extended_lsetstat``: ``fchmodat(..., AT_SYMLINK_NOFOLLOW)``; asyncssh's server:
``os.chmod(..., follow_symlinks=False)``) does not follow one. Without it the mode is refused, typed, and
the directory keeps the umask's narrower mode. Both servers run with umask 027: 0775 needs the set.
"""

from __future__ import annotations

import collections
import os
import stat
from pathlib import Path
from typing import Any

import paramiko
import pytest
from paramiko.sftp import CMD_EXTENDED, CMD_NAMES

from irods_provider.exceptions import IrodsConfigurationError, IrodsSymlinkError
from irods_provider.testing.sftp import SshTestServer

pytestmark = pytest.mark.timeout(60)

UMASK = SFTP_UMASK = 0o027  # both servers run under it (the conftest's sftp_server)
LSETSTAT = "lsetstat@openssh.com"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


class Wire:
    """Counts every SFTP request by kind (an extended one by its name) and runs ``before_set`` right before
    a mode-setting request (``SETSTAT`` or ``lsetstat``) leaves: the moment a swap would have to win."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.kinds: collections.Counter[str] = collections.Counter()
        self.before_set: Any = None
        self.counting = False
        self.offered: dict[str, bytes] = {}
        self.monkeypatch = monkeypatch
        send = paramiko.SFTPClient._async_request

        def sending(client: Any, fileobj: Any, t: int, *args: Any) -> int:
            kind = str(args[0]) if t == CMD_EXTENDED else CMD_NAMES.get(t, str(t))
            if self.counting:
                self.kinds[kind] += 1
            if self.before_set is not None and kind in ("setstat", LSETSTAT):
                self.before_set()
            return int(send(client, fileobj, t, *args))

        monkeypatch.setattr(paramiko.SFTPClient, "_async_request", sending)


def _make(wire: Wire, remote: Any, relative: str, mode: int, how: str, *, no_lsetstat: bool = False) -> None:
    """Create ``relative`` (missing) with ``mode`` through the sink's first round trip (``target_root``) or
    the endpoint's step-by-step ``makedirs``; requests counted once the session is open."""
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from irods_provider.sftp import SftpEndpoint, _session
    from irods_provider.sftp._sink import target_root

    if no_lsetstat:  # as a server without it: its VERSION does not offer it
        parse = _session._extensions
        wire.monkeypatch.setattr(
            _session, "_extensions", lambda data: {k: v for k, v in parse(data).items() if k != LSETSTAT}
        )
    with SftpEndpoint(SFTPHook(ssh_conn_id="cluster"), connections=1) as sftp, sftp.channel() as client:
        wire.counting = True
        if how == "target_root":
            target_root(sftp, remote.path(relative), directory_mode=mode)
        else:
            sftp.makedirs(client, remote.path(relative), mode=mode)
        wire.counting = False
        client.normalize(".")  # its VERSION read (target_root may borrow another channel)
        wire.offered = dict(client.extensions)  # type: ignore[attr-defined]


@pytest.mark.parametrize("how", ["target_root", "makedirs"])
def test_a_masked_directory_mode_is_set_by_lsetstat_in_the_round_trip_the_setstat_took(
    remote: Any, sftp_server: SshTestServer, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """0775 under umask 027: the directory gets exactly 0775 through one ``lsetstat`` per created directory,
    no ``SETSTAT``; the other requests as before (no round trip added). 0750 is not masked: nothing set."""
    wire = Wire(monkeypatch)
    _make(wire, remote, "a/b", 0o775, how)
    assert wire.offered.get(LSETSTAT) == b"1"  # both servers advertise it
    assert mode_of(remote.dir / "a") == mode_of(remote.dir / "a" / "b") == 0o775
    assert wire.kinds[LSETSTAT] == 2
    assert wire.kinds["setstat"] == 0
    before = {  # what the old code sent, with a SETSTAT where an lsetstat goes now
        "target_root": {"limits@openssh.com": 1, "stat": 5, "mkdir": 6, "lstat": 5, "realpath": 4}
        | {"rmdir": 2},
        "makedirs": {"stat": 4, "mkdir": 3, "lstat": 2},
    }[how]
    assert dict(wire.kinds) == {**before, LSETSTAT: 2}
    quiet = Wire(monkeypatch)
    _make(quiet, remote, "c/d", 0o750, how)
    assert mode_of(remote.dir / "c" / "d") == 0o750
    assert quiet.kinds[LSETSTAT] == quiet.kinds["setstat"] == 0


@pytest.mark.parametrize("how", ["target_root", "makedirs"])
def test_a_directory_swapped_for_a_link_before_the_set_leaves_the_link_target_alone(
    remote: Any, sftp_server: SshTestServer, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Someone who can write in the parent replaces the new directory with a link to a directory of ours
    (0700) right before the set: its mode stays 0700 and the run fails with IrodsSymlinkError naming the
    path (a ``SETSTAT`` would have made it 0775)."""
    victim = remote.dir / "victim"
    remote._mkdir(victim)
    victim.chmod(0o700)
    new = remote.dir / "new"

    def swap() -> None:
        os.rmdir(new)
        os.symlink(victim, new)

    wire = Wire(monkeypatch)
    wire.before_set = swap
    with pytest.raises(IrodsSymlinkError) as caught:
        _make(wire, remote, "new", 0o775, how)
    assert mode_of(victim) == 0o700
    assert stat.S_ISLNK(os.lstat(new).st_mode)
    assert str(caught.value.path).endswith("/new")


@pytest.mark.parametrize("how", ["target_root", "makedirs"])
def test_without_lsetstat_a_masked_directory_mode_is_refused_and_nothing_follows_a_link(
    remote: Any, sftp_server: SshTestServer, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A server whose ``VERSION`` does not offer ``lsetstat@openssh.com`` (OpenSSH before 8.0): a mode the
    umask masked is refused with IrodsConfigurationError naming the extension and the path, no ``SETSTAT``
    sent, the directory left with the umask's narrower 0750; an unmasked mode needs no set and passes."""
    wire = Wire(monkeypatch)
    with pytest.raises(IrodsConfigurationError, match=LSETSTAT) as caught:
        _make(wire, remote, "m", 0o775, how, no_lsetstat=True)
    assert str(caught.value.path).endswith("/m")
    assert mode_of(remote.dir / "m") == 0o750
    assert wire.kinds["setstat"] == wire.kinds[LSETSTAT] == 0
    _make(wire, remote, "n", 0o750, how, no_lsetstat=True)
    assert mode_of(remote.dir / "n") == 0o750
