"""The SFTP publish checks the temporary and the final name with two ``lstat`` requests sent together (one
round trip instead of two), then renames; every refusal it made before still stands, the temporary's
answer judged first. Requests and answers are observed on paramiko's wire plumbing of a real connection to
the embedded SFTP server."""

from __future__ import annotations

from typing import Any

import pytest
from paramiko.sftp import CMD_EXTENDED, CMD_LSTAT, CMD_NAMES

from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsInvalidPathError, IrodsSymlinkError
from irods_provider.sftp._integrity import publish
from irods_provider.testing.sftp import paramiko_client

pytestmark = pytest.mark.timeout(60)

DATA = b"verified bytes\n" * 1000


class Wire:
    """What ``client`` sends (request type and first argument) and when an answer is read, in order."""

    def __init__(self, client: Any) -> None:
        self.events: list[tuple[str, str]] = []
        send, read = client._async_request, client._read_packet

        def async_request(fileobj: Any, t: int, *args: Any) -> int:
            first = args[0] if args else b""
            self.events.append(("send", f"{CMD_NAMES.get(t, t)} {first!s}"))
            return int(send(fileobj, t, *args))

        def read_packet() -> Any:
            packet = read()
            self.events.append(("answer", ""))
            return packet

        client._async_request, client._read_packet = async_request, read_packet


def test_both_names_are_checked_in_one_round_trip_then_renamed(remote, sftp_server) -> None:
    remote.put("pub/.f.bin.irods-part-1", DATA)
    temp, final = remote.path("pub/.f.bin.irods-part-1"), remote.path("pub/f.bin")
    with paramiko_client(sftp_server) as ssh:
        sftp = ssh.open_sftp()
        wire = Wire(sftp)
        publish(sftp, temp, final, size=len(DATA), replace=False)
    kinds = [kind for kind, _ in wire.events]
    sent = [what for kind, what in wire.events if kind == "send"]
    assert sent[0].startswith(f"{CMD_NAMES[CMD_LSTAT]} ")
    assert temp in sent[0]
    assert sent[1].startswith(f"{CMD_NAMES[CMD_LSTAT]} ")
    assert final in sent[1]
    assert kinds[:4] == ["send", "send", "answer", "answer"]  # both out before either answer came
    assert len(sent) == 3  # then the rename alone
    assert remote.files("pub") == {"f.bin": DATA}


def test_plain_rename_without_replace_and_posix_rename_with_it(remote, sftp_server) -> None:
    remote.put("rep/.f.bin.irods-part-1", DATA)
    remote.put("rep/f.bin", b"old")
    with paramiko_client(sftp_server) as ssh:
        sftp = ssh.open_sftp()
        wire = Wire(sftp)
        publish(sftp, remote.path("rep/.f.bin.irods-part-1"), remote.path("rep/f.bin"), size=len(DATA))
    assert remote.files("rep") == {"f.bin": DATA}
    assert [what for kind, what in wire.events if kind == "send"][2].startswith(CMD_NAMES[CMD_EXTENDED])


@pytest.mark.parametrize(
    ("arrange", "error", "match"),
    [
        ("short temp", IrodsSymlinkError, "replaced before publishing"),
        ("temp is a link", IrodsSymlinkError, "replaced before publishing"),
        ("temp is a link, final a directory", IrodsSymlinkError, "replaced before publishing"),
        ("final is a link", IrodsSymlinkError, "destination is a symbolic link"),
        ("final is a directory", IrodsInvalidPathError, "destination is a directory"),
        ("final exists", IrodsAlreadyExistsError, "overwrite is False"),
    ],
)
def test_every_refusal_still_stands(remote, sftp_server, arrange: str, error: type, match: str) -> None:
    remote.put("r/elsewhere.bin", DATA)
    if arrange == "short temp":
        remote.put("r/.f.bin.irods-part-1", DATA[:-1])
    else:
        remote.put("r/.f.bin.irods-part-1", DATA)
    if arrange.startswith("temp is a link"):
        (remote.dir / "r/.f.bin.irods-part-1").unlink()
        (remote.dir / "r/.f.bin.irods-part-1").symlink_to("elsewhere.bin")
    if arrange.endswith("final a directory") or arrange == "final is a directory":
        (remote.dir / "r/f.bin").mkdir()
    if arrange == "final is a link":
        (remote.dir / "r/f.bin").symlink_to("elsewhere.bin")
    if arrange == "final exists":
        remote.put("r/f.bin", b"someone else's")
    before = sorted(p.name for p in (remote.dir / "r").iterdir())
    with paramiko_client(sftp_server) as ssh:
        sftp = ssh.open_sftp()
        with pytest.raises(error, match=match):
            publish(
                sftp,
                remote.path("r/.f.bin.irods-part-1"),
                remote.path("r/f.bin"),
                size=len(DATA),
                replace=arrange != "final exists",
            )
        # The channel still works: no answer of the pair was left unread in its way.
        assert sftp.lstat(remote.path("r/elsewhere.bin")).st_size == len(DATA)
    assert sorted(p.name for p in (remote.dir / "r").iterdir()) == before  # nothing renamed
    assert (remote.dir / "r/elsewhere.bin").read_bytes() == DATA
