"""fsspec's own reusable test classes (copy, get, put, open, pipe) against the emulator."""

from __future__ import annotations

import posixpath

import pytest
from fsspec.tests.abstract import (
    AbstractCopyTests,
    AbstractFixtures,
    AbstractGetTests,
    AbstractOpenTests,
    AbstractPipeTests,
    AbstractPutTests,
)

HOME = "/tempZone/home/rods"


class IrodsFixtures(AbstractFixtures):
    @pytest.fixture
    def fs(self, irods_fs):
        return irods_fs

    @pytest.fixture
    def fs_join(self):
        return posixpath.join

    @pytest.fixture
    def fs_path(self):
        return f"{HOME}/fsspec-abstract"


class TestIrodsCopy(AbstractCopyTests, IrodsFixtures):
    pass


class TestIrodsGet(AbstractGetTests, IrodsFixtures):
    pass


class TestIrodsPut(AbstractPutTests, IrodsFixtures):
    pass


class TestIrodsOpen(AbstractOpenTests, IrodsFixtures):
    pass


class TestIrodsPipe(AbstractPipeTests, IrodsFixtures):
    pass
