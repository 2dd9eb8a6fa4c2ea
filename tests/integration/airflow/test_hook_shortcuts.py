"""IrodsHook one-liners against the emulator: bytes and text round trips, files, listing, existence."""

from __future__ import annotations

import hashlib

import pytest

from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsInvalidPathError, IrodsNotFoundError
from irods_provider.hooks.irods import IrodsHook

HOME = "/tempZone/home/rods"


def test_hook_one_liners(irods, session, tmp_path) -> None:
    with IrodsHook() as hook:
        written = hook.write_text(f"{HOME}/h/notes.txt", "naïve ☃\n")
        assert written["size"] == len("naïve ☃\n".encode())
        assert hook.read_text(f"{HOME}/h/notes.txt") == "naïve ☃\n"
        assert hook.read_bytes(f"{HOME}/h/notes.txt") == "naïve ☃\n".encode()
        with pytest.raises(IrodsAlreadyExistsError):
            hook.write_bytes(f"{HOME}/h/notes.txt", b"other")
        hook.write_bytes(f"{HOME}/h/notes.txt", b"other", overwrite=True)
        assert session.data_objects.read(f"{HOME}/h/notes.txt") == b"other"
        with pytest.raises(IrodsInvalidPathError, match=r"contains '\+'"):
            hook.write_bytes(f"{HOME}/h/a+b", b"x")
        data = bytes(range(256)) * 4096
        (tmp_path / "up.bin").write_bytes(data)
        hook.upload_file(tmp_path / "up.bin", f"{HOME}/h/sub/up.bin")
        result = hook.download_file(f"{HOME}/h/sub/up.bin", tmp_path / "down.bin")
        assert hashlib.sha256((tmp_path / "down.bin").read_bytes()).digest() == hashlib.sha256(data).digest()
        assert result["size"] == len(data)
        assert hook.exists(f"{HOME}/h") is True
        assert hook.exists(f"{HOME}/h/sub/up.bin") is True
        assert hook.exists(f"{HOME}/h/nope") is False
        assert sorted(hook.list(f"{HOME}/h")) == [f"{HOME}/h/notes.txt", f"{HOME}/h/sub"]
        assert sorted(hook.list(f"{HOME}/h", recursive=True, pattern="*.bin")) == [f"{HOME}/h/sub/up.bin"]
        with pytest.raises(IrodsNotFoundError):
            hook.read_bytes(f"{HOME}/h/nope")
