"""The emulator's own safety rules: where it may listen, which Host names it answers, what it may register.

The emulator runs on developer machines and CI runners beside a browser and other users, so it must not be
a way into the host: see the README section "Security of the emulator".
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from irods_provider.testing._config import DEFAULT_ADMIN_PASSWORD, EmulatorConfig

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
CONTROL_TOKEN_HEADER = "X-Emulator-Token"
CONTROL_TOKEN_ENV = "IRODS_EMULATOR_CONTROL_TOKEN"


class EmulatorSecurityError(ValueError):
    """The emulator refuses a configuration that would expose the host (the message says what to change)."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (``127.0.0.0/8``, ``::1``)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(config: EmulatorConfig) -> None:
    """Refuse a non-loopback address unless ``allow_remote`` is set and the admin password is not default."""
    if is_loopback(config.host):
        return
    if not config.allow_remote:
        raise EmulatorSecurityError(
            f"refusing to listen on {config.host!r}: the emulator is for loopback use; anyone who reaches it "
            "can log in and change its state. Pass --allow-remote (EmulatorConfig(allow_remote=True)) "
            "and a non-default --admin-password to listen on another address."
        )
    if config.admin_password == DEFAULT_ADMIN_PASSWORD or len(config.admin_password) < 12:
        raise EmulatorSecurityError(
            f"refusing to listen on {config.host!r} with the default or a short admin password: "
            "pass --admin-password with at least 12 characters that are not the published default."
        )


def _host_name(header: str) -> str:
    """The name part of a Host header value (``[::1]:9000`` → ``::1``, ``localhost:9000`` → ``localhost``)."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_allowed(header: str | None, config: EmulatorConfig) -> bool:
    """Accept IP literals, ``localhost``, the bound host and configured names; refuse other DNS names.

    A web page that re-binds its own DNS name to 127.0.0.1 sends that name as Host: refusing it stops
    DNS rebinding. An IP literal cannot be re-bound, so it is always accepted.
    """
    if header is None:
        return True
    name = _host_name(header)
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    allowed = {"localhost", config.host.strip("[]").lower(), *(h.lower() for h in config.allowed_hosts)}
    return name in allowed


def register_roots(config: EmulatorConfig, spool: Path) -> list[str]:
    """The directories ``register`` may take files from: the spool and the configured register root."""
    roots = [spool, *([config.register_root] if config.register_root is not None else [])]
    return [os.path.realpath(r) for r in roots]


def register_allowed(physical_path: str, roots: list[str]) -> bool:
    """True when the path, with every symlink resolved, lies inside one of ``roots``."""
    if not os.path.isabs(physical_path) or "\0" in physical_path:
        return False
    real = os.path.realpath(physical_path)
    return any(os.path.commonpath([real, root]) == root for root in roots)
