"""Per-file outcomes and the JSON-able transfer report returned to XCom."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class FileStatus(enum.Enum):
    """What happened to one file."""

    TRANSFERRED = "transferred"
    SKIPPED = "skipped"
    PLANNED = "planned"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class FileResult:
    """The outcome of one file: where from, where to, how many bytes, which checksum.

    ``source_error``: a ``move`` whose copy is verified (or was already there, the same bytes) but whose
    source could not be removed says why here; the file keeps its status.
    """

    source: str
    destination: str
    status: FileStatus
    size: int | None = None
    checksum: str | None = None
    seconds: float = 0.0
    resumed_from: int = 0
    reason: str | None = None
    error: str | None = None
    source_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping (for XCom)."""
        return {
            "source": self.source,
            "destination": self.destination,
            "status": self.status.value,
            "size": self.size,
            "checksum": self.checksum,
            "seconds": round(self.seconds, 3),
            "resumed_from": self.resumed_from,
            "reason": self.reason,
            "error": self.error,
            "source_error": self.source_error,
        }


class DirectoryStatus(enum.Enum):
    """What became of one directory of a tree copy."""

    PRESENT = "present"  # at the destination after the run: created now, or there already
    PLANNED = "planned"  # a dry run: would be created


@dataclass(frozen=True, kw_only=True)
class DirectoryResult:
    """One directory or collection of a tree copy (empty ones included): where from, where to, its status."""

    source: str
    destination: str
    status: DirectoryStatus

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping (for XCom)."""
        return {"source": self.source, "destination": self.destination, "status": self.status.value}


@dataclass(frozen=True, kw_only=True)
class KeptDirectory:
    """A source directory or collection a tree ``move`` kept, and why (what it still holds)."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping (for XCom)."""
        return {"path": self.path, "reason": self.reason}


@dataclass(kw_only=True)
class TransferReport:
    """Totals and per-file results of one ``upload_files`` / ``download_files`` call; ``directories``: the
    directories or collections a tree copy made sure of (empty ones included), parents first."""

    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False
    directories: list[DirectoryResult] = field(default_factory=list)
    kept_directories: list[KeptDirectory] = field(default_factory=list)
    """With ``move``: the tree's source directories not removed (a file that appeared, a symlink, a failed
    file's source, one that could not be listed), each with the reason."""

    def _with(self, status: FileStatus) -> list[FileResult]:
        return [f for f in self.files if f.status is status]

    @property
    def transferred(self) -> int:
        """Number of files transferred."""
        return len(self._with(FileStatus.TRANSFERRED))

    @property
    def skipped(self) -> int:
        """Number of files skipped by the skip policy."""
        return len(self._with(FileStatus.SKIPPED))

    @property
    def failed(self) -> int:
        """Number of files that failed."""
        return len(self._with(FileStatus.FAILED))

    @property
    def source_errors(self) -> int:
        """Number of files a ``move`` copied (or found copied) whose source could not be removed."""
        return sum(1 for f in self.files if f.source_error is not None)

    @property
    def bytes(self) -> int:
        """Bytes transferred (skipped and planned files do not count)."""
        return sum(f.size or 0 for f in self._with(FileStatus.TRANSFERRED))

    @property
    def mb_per_second(self) -> float:
        """Throughput in MB/s (10**6 bytes) over the whole call."""
        return self.bytes / self.seconds / 1e6 if self.seconds > 0 else 0.0

    @property
    def checksums(self) -> dict[str, str]:
        """Destination path → checksum for transferred and skipped files that have one."""
        return {f.destination: f.checksum for f in self.files if f.checksum}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping (for XCom)."""
        return {
            "files": [f.to_dict() for f in self.files],
            "transferred": self.transferred,
            "skipped": self.skipped,
            "failed": self.failed,
            "source_errors": self.source_errors,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "mb_per_second": round(self.mb_per_second, 3),
            "checksums": self.checksums,
            "dry_run": self.dry_run,
            "directories": [d.to_dict() for d in self.directories],
            "directory_count": len(self.directories),
            "kept_directories": [k.to_dict() for k in self.kept_directories],
        }
