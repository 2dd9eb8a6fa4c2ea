"""Old home of :class:`ResumeStore`; it lives in :mod:`irods_provider.sftp._resume_store` now."""

from __future__ import annotations

from irods_provider.sftp._resume_store import ResumeStore

__all__ = ["ResumeStore"]
