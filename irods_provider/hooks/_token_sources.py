"""One token source per connection identity for a process's life, for the sessions a triggerer opens in turn.

Airflow's secrets masker keeps every secret it is given for the process's life, recompiles one alternation
of all of them at each new one and runs it over every log line. A triggerer whose deferred sensors come one
after another opens a fresh session for each (the last trigger to leave closes the shared one); with a
fresh token source each logged in again, and every token it minted stayed in the masker: 500 sensors in
turn left 500 more secrets and masking one log line cost about 50 times more (3.2 to 158 microseconds of
CPU). Sessions that share the source present the token still valid instead: one minted (and masked) per
token lifetime, not one per session. Every token is still masked the moment it is minted. The same for
OpenID: 500 sensors in turn on a password grant left +1060 secrets without sharing (a login each) and +60 with
it (20 refreshes of an access, a refresh and an ID token); masking a line went to 1248 microseconds without.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from irods_provider.client import TokenProvider
    from irods_provider.hooks._connection import ConnectionSettings

__all__ = ["MAX_SHARED_SOURCES", "forget_token_source", "forget_token_sources", "shared_token_source"]

#: Connection identities kept (the least recently used is dropped): a password rotated makes a new one.
MAX_SHARED_SOURCES = 64

_SOURCES: OrderedDict[Hashable, TokenProvider] = OrderedDict()
_LOCK = threading.Lock()


def _identity(settings: ConnectionSettings) -> Hashable | None:
    """Who logs in where: the API root, the credentials (in memory only) and how the provider is reached."""
    key = (settings.api_root, settings.auth, settings.verify, settings.timeout)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def shared_token_source(settings: ConnectionSettings, build: Callable[[], TokenProvider]) -> TokenProvider:
    """This process's token source for ``settings``' identity, built by ``build`` the first time."""
    key = _identity(settings)
    if key is None:
        return build()
    with _LOCK:
        source = _SOURCES.get(key)
        if source is None:
            source = _SOURCES[key] = build()
            while len(_SOURCES) > MAX_SHARED_SOURCES:
                _SOURCES.popitem(last=False)
        else:
            _SOURCES.move_to_end(key)
        return source


def forget_token_source(source: object) -> None:
    """Share ``source`` no more (its login was refused): the next session of its connection builds anew."""
    with _LOCK:
        for key in [key for key, kept in _SOURCES.items() if kept is source]:
            del _SOURCES[key]


def forget_token_sources() -> None:
    """Share no token source any more (tests: emulators come and go on reused ports)."""
    with _LOCK:
        _SOURCES.clear()
