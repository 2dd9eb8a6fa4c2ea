"""Data objects whose paths need the server-side read alias (``+``, ``'``), for the operator tests."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any

from irods_provider.client.transfer._alias import ALIAS_PREFIX

HOME = "/tempZone/home/rods"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def aliases(session: Any) -> list[str]:
    """The read aliases left in the home collection (none once a download ended)."""
    entries = session.collections.iterate(HOME, include_temporaries=True)
    return [e.name for e in entries if e.name.startswith(ALIAS_PREFIX)]


def put_run(session: Any, run: str, names: Sequence[str]) -> dict[str, bytes]:
    """``names`` in the collection ``run``: the first 3 MiB + 11 bytes (several reads), the rest 1000."""
    session.collections.create(run, exist_ok=True)
    sizes = [3 * (1 << 20) + 11] + [1000] * (len(names) - 1)
    blobs = {name: os.urandom(size) for name, size in zip(names, sizes, strict=True)}
    for name, data in blobs.items():
        session.data_objects.write(f"{run}/{name}", data)
    return blobs
