"""An in-memory stand-in for an asset's state store, for event-trigger tests that run scans directly."""

from __future__ import annotations

import json
from typing import Any


class MemoryStore:
    """``aget``/``aset`` of JSON values, as the trigger's state store offers them."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.rows[key]) if key in self.rows else default

    async def aset(self, key: str, value: Any) -> None:
        self.rows[key] = json.dumps(value)


class StopScans(Exception):
    """Raised from the trigger's sleep once the scans wanted have run (after their state was saved)."""
