"""A transfer subscriber that runs an action once, at the first progress event: to cancel or fail mid-file."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from irods_provider.client.transfer import TransferSubscriber


class AfterFirstChunk(TransferSubscriber):
    """Runs ``action`` once, when the first chunk has moved (read from the zone, or written)."""

    def __init__(self, action: Callable[[], object]) -> None:
        self.action = action
        self._done = False
        self._lock = threading.Lock()

    def on_progress(self, *, path: str, bytes_transferred: int, **kwargs: Any) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        self.action()
