"""``[core] hostname_callable`` for workers sharing one machine: the name the live run gave the process."""

from __future__ import annotations

import os

from airflow.utils.net import getfqdn


def hostname() -> str:
    """``IRODS_LIVE_HOSTNAME`` (e.g. ``worker-1``) when set, else the machine's FQDN as Airflow would use."""
    return os.environ.get("IRODS_LIVE_HOSTNAME") or getfqdn()
