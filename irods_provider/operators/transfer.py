"""Old home of the local transfer operators; they live in :mod:`irods_provider.transfers` now."""

from __future__ import annotations

from irods_provider.transfers.irods_to_local import IrodsToLocalOperator
from irods_provider.transfers.local_to_irods import LocalToIrodsOperator

__all__ = ["IrodsToLocalOperator", "LocalToIrodsOperator"]
