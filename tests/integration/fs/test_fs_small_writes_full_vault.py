"""fsspec writes that fit one request (``pipe_file``, ``open("wb")``, ``put`` of a small file) onto a
resource whose vault fills up mid-write (the emulator's ``set_vault_free``: the unixfilesystem plugin's
``UNIX_FILE_WRITE_ERR - errno``, irods 4.3.4 plugins/resources/unixfilesystem/src/unixfilesystem.cpp:768-777;
the HTTP API closes the stream all the same, so the replica is left good holding what fit, data_objects
main.cpp:476-493 at 0.7.0). Written straight onto the path, such a write left a truncated object there,
looking complete, in place of the one it was to replace; through a temporary sibling renamed onto the path
once verified, a failure leaves the path as it was."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.exceptions import IrodsError
from irods_provider.testing import EmulatorServer

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
OLD, NEW = os.urandom(3000), os.urandom(2000)


def _pipe(fs: Any, path: str, data: bytes, tmp_path: Path) -> None:
    fs.pipe_file(path, data)


def _open(fs: Any, path: str, data: bytes, tmp_path: Path) -> None:
    with fs.open(path, "wb") as f:
        f.write(data)


def _put(fs: Any, path: str, data: bytes, tmp_path: Path) -> None:
    local = tmp_path / "local.bin"
    local.write_bytes(data)
    fs.put(str(local), path)


WRITES: dict[str, Callable[[Any, str, bytes, Path], None]] = {"pipe": _pipe, "open": _open, "put": _put}


@pytest.fixture
def vault(irods_emulator: EmulatorServer) -> Iterator[EmulatorServer]:
    yield irods_emulator
    irods_emulator.set_vault_free("demoResc", None)


def _names(server: EmulatorServer) -> list[str]:
    with server.model.lock:
        return sorted(p.rsplit("/", 1)[1] for p in server.model.data_objects if p.startswith(f"{HOME}/"))


@pytest.mark.parametrize("write", WRITES)
def test_a_failed_small_overwrite_keeps_the_object_it_was_to_replace(
    irods_fs, vault, tmp_path, write
) -> None:
    path = f"{HOME}/kept.bin"
    irods_fs.pipe_file(path, OLD)
    vault.set_vault_free("demoResc", 500)
    with pytest.raises(IrodsError):
        WRITES[write](irods_fs, path, NEW, tmp_path)
    vault.set_vault_free("demoResc", None)
    assert irods_fs.session.data_objects.read(path) == OLD
    assert _names(vault) == ["kept.bin"]


@pytest.mark.parametrize("write", WRITES)
def test_a_failed_small_write_leaves_nothing_at_a_new_path(irods_fs, vault, tmp_path, write) -> None:
    vault.set_vault_free("demoResc", 500)
    with pytest.raises(IrodsError):
        WRITES[write](irods_fs, f"{HOME}/new.bin", NEW, tmp_path)
    vault.set_vault_free("demoResc", None)
    assert _names(vault) == []
