"""Configuration of the emulator: server limits, fault injection and the OpenID validator hook."""

from __future__ import annotations

import random
import secrets
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

API_VERSION = "0.7.0"
BASE_PATH = f"/irods-http-api/{API_VERSION}"
MIB = 1024 * 1024
# Long enough for Airflow's secrets masker (it ignores secrets shorter than 5 characters), and public:
# binding to a non-loopback address requires another one.
DEFAULT_ADMIN_PASSWORD = "rods-emulator"


@runtime_checkable
class OpenIdValidator(Protocol):
    """Maps an OpenID access token to a zone user name (``None`` when the token is not acceptable).

    Called for every Bearer value that is not a known Basic token, off the event loop (it may do I/O).
    """

    def username_for(self, token: str) -> str | None: ...


@dataclass
class Faults:
    """Fault injection, changeable at run time; applies to API endpoints only, never the control plane.

    Probabilities are in [0, 1] and drawn from one RNG seeded with ``seed`` so a run is reproducible.
    ``drop_mid_body`` aborts a request with a body after reading part of it, without any response.
    """

    latency_seconds: float = 0.0
    error_500: float = 0.0
    error_503: float = 0.0
    error_429: float = 0.0
    drop_mid_body: float = 0.0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the fault settings as a JSON-able mapping."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class FaultInjector:
    """Holds the current :class:`Faults` and the seeded RNG that decides each request's fate."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = faults or Faults()
        self._rng = random.Random(self._faults.seed)

    @property
    def faults(self) -> Faults:
        """The current settings (a copy; use :meth:`set` to change them)."""
        with self._lock:
            return Faults(**self._faults.to_dict())

    def set(self, **changes: Any) -> Faults:
        """Change some settings; changing ``seed`` (or calling with it) re-seeds the RNG."""
        with self._lock:
            values = self._faults.to_dict()
            unknown = set(changes) - set(values)
            if unknown:
                raise ValueError(f"unknown fault settings: {sorted(unknown)}")
            values.update(changes)
            self._faults = Faults(**values)
            self._rng = random.Random(self._faults.seed)
            return Faults(**values)

    def reset(self) -> None:
        """Back to no faults at all."""
        self.set(**Faults().to_dict())

    def draw(self) -> tuple[float, int | None, bool]:
        """Decide one request's fate: (latency, forced HTTP status or None, drop mid-body)."""
        with self._lock:
            f = self._faults
            status: int | None = None
            roll = self._rng.random()
            for code, p in ((500, f.error_500), (503, f.error_503), (429, f.error_429)):
                if roll < p:
                    status = code
                    break
                roll -= p
            drop = f.drop_mid_body > 0 and self._rng.random() < f.drop_mid_body
            return f.latency_seconds, status, drop


@dataclass
class EmulatorConfig:
    """Everything that makes one emulator instance: zone, admin account, limits, spool, TLS, OpenID."""

    host: str = "127.0.0.1"
    port: int = 0
    zone: str = "tempZone"
    admin_user: str = "rods"
    admin_password: str = DEFAULT_ADMIN_PASSWORD
    token_lifetime_seconds: float = 3600.0
    max_streams_per_handle: int = 3
    max_streams: int = 15
    max_body_bytes: int = 8 * MIB
    max_rows: int = 15
    read_buffer_bytes: int = MIB
    write_buffer_bytes: int = MIB
    dstream_exposes_irods_error_codes: bool = False
    irods_server_version: str = "rods4.3.2"
    spool_dir: Path | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    openid: OpenIdValidator | None = None
    faults: Faults = field(default_factory=Faults)
    log_level: str = "warning"
    # Security (see README, "Security of the emulator"): files outside the spool that `register` may name,
    # consent to listen on a non-loopback address, extra Host header names and the control-plane token.
    register_root: Path | None = None
    allow_remote: bool = False
    allowed_hosts: tuple[str, ...] = ()
    control_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
