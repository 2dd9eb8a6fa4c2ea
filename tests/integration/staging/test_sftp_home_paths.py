"""SFTP paths that start with ``~``, as OpenSSH's own client reads them in SFTP mode.

openssh-portable scp.c ``prepare_remote_path`` (master): ``~`` and ``~/x`` are the login directory and
``x`` in it (an SFTP session starts there: sftp-server.c ``chdir(homedir)``, and its ``expand-path`` answers
``~`` and ``~/`` with that directory, sftp-server.c ``process_extended_expand``); ``~user/x`` is asked of the
server's ``expand-path@openssh.com`` and refused without it ("server expand-path extension is required for
~user paths in SFTP mode"). Sent as they are, ``~/x`` names a directory literally called ``~``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from irods_provider.exceptions import IrodsInvalidPathError, IrodsNotFoundError
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

HOME = "/tempZone/home/rods"


def up(**kwargs: Any) -> dict[str, Any]:
    return SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", **kwargs).execute({})


def down(**kwargs: Any) -> dict[str, Any]:
    return IrodsToSFTPOperator(task_id="down", sftp_conn_id="cluster", **kwargs).execute({})


def _tilde_dirs(remote: Any) -> list[str]:
    return sorted(p.name for p in remote.server.root.rglob("~*"))


def test_a_download_into_home_relative_paths(remote: Any, session: Any) -> None:
    session.collections.create(f"{HOME}/res/sub", intermediates=True)
    session.data_objects.write(f"{HOME}/res/a.txt", b"alpha")
    session.data_objects.write(f"{HOME}/res/sub/b.txt", b"beta")
    report = down(source_path=f"{HOME}/res", destination_path=f"~/{remote.path('tree')}")
    assert report["transferred"] == 2
    assert remote.files("tree") == {"a.txt": b"alpha", "sub/b.txt": b"beta"}
    down(source_path=f"{HOME}/res/a.txt", destination_path=f"~//{remote.path('into')}/")
    assert remote.files("into") == {"a.txt": b"alpha"}
    down(source_path=f"{HOME}/res/sub/b.txt", destination_path=f"~/{remote.path('one.txt')}")
    assert (remote.dir / "one.txt").read_bytes() == b"beta"
    assert _tilde_dirs(remote) == []


def test_an_upload_from_home_relative_paths(remote: Any, session: Any) -> None:
    remote.put("src/x.csv", b"x")
    remote.put("src/deep/y.csv", b"y")
    report = up(source_path=f"~/{remote.path('src')}", destination_path=f"{HOME}/t1")
    assert report["transferred"] == 2
    assert session.data_objects.read(f"{HOME}/t1/deep/y.csv") == b"y"
    up(source_path=f"~/{remote.path('src')}/*.csv", glob=True, destination_path=f"{HOME}/t2/")
    assert session.data_objects.read(f"{HOME}/t2/x.csv") == b"x"
    up(source_path=[f"~/{remote.path('src/x.csv')}"], destination_path=f"{HOME}/t3.csv")
    assert session.data_objects.read(f"{HOME}/t3.csv") == b"x"
    assert _tilde_dirs(remote) == []


def test_a_user_home_is_asked_of_the_server(remote: Any, session: Any, sftp_server: Any) -> None:
    remote.put("own/z.bin", b"z")
    source = f"~{sftp_server.username}/{remote.path('own/z.bin')}"
    if sftp_server.kind == "openssh":  # its expand-path: the user's home directory (here the served root)
        up(source_path=source, destination_path=f"{HOME}/z.bin")
        assert session.data_objects.read(f"{HOME}/z.bin") == b"z"
        with pytest.raises(IrodsNotFoundError):
            up(source_path=f"~nosuchuser{os.getpid()}/z.bin", destination_path=f"{HOME}/none.bin")
    else:  # asyncssh offers no expand-path@openssh.com
        with pytest.raises(IrodsInvalidPathError, match="expand-path"):
            up(source_path=source, destination_path=f"{HOME}/z.bin")
    assert not session.data_objects.exists(f"{HOME}/none.bin")
    assert _tilde_dirs(remote) == []
