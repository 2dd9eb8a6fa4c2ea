"""An IrodsFileSystem on the emulator, registered with fsspec for the ``irods`` protocol."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import fsspec
import pytest

from irods_provider.fs import IrodsFileSystem

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024  # small chunks so a few hundred KiB exercise the parallel paths


@pytest.fixture(autouse=True, scope="session")
def _register_irods_protocol() -> None:
    fsspec.register_implementation("irods", IrodsFileSystem, clobber=True)


def make_fs(server, **options) -> IrodsFileSystem:
    return IrodsFileSystem(
        base_url=server.base_url,
        username="rods",
        password="rods-emulator",
        skip_instance_cache=True,
        **options,
    )


@pytest.fixture
def irods_fs(irods_emulator) -> Iterator[IrodsFileSystem]:
    fs = make_fs(irods_emulator, chunk_size=CHUNK)
    try:
        yield fs
    finally:
        fs.close_session()


@pytest.fixture
def fs_factory() -> Iterator[Callable[..., IrodsFileSystem]]:
    """``fs_factory(server, **options)``: more filesystems (another writer, other options), closed after."""
    made: list[IrodsFileSystem] = []

    def factory(server, **options) -> IrodsFileSystem:
        made.append(make_fs(server, **options))
        return made[-1]

    try:
        yield factory
    finally:
        for fs in made:
            fs.close_session()
