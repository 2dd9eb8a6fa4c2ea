"""What :class:`LocalToIrodsOperator` and :class:`IrodsToLocalOperator` share: arguments, reports, lineage.

Both operators take one file, a list, a directory (collection) tree or a glob; copy at most
``max_concurrent_files`` files at once, each over parallel streams; verify every file against the server's
checksum; publish atomically; and return the transfer report (files, bytes, skipped, seconds, MB/s,
checksums) to XCom. ``on_kill`` stops every file and shuts down every parallel-write handle.

Lineage: each run reports the files it copied (or skipped as already identical), local files as namespace
``file`` and iRODS objects as namespace ``irods://<zone>``, to OpenLineage
(``get_openlineage_facets_on_complete``) and to Airflow's hook lineage collector. Airflow records asset
events only for declared outlets: to schedule downstream DAGs on the result, declare it, e.g.
``outlets=[Asset("irods://tempZone/home/alice/results")]``; for destinations known only at run time declare
``outlets=[AssetAlias("name")]`` and each run adds an event per written file's asset to the alias.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import posixpath
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from irods_provider._lineage import LineageDataset
from irods_provider._values import literal_list, parse_avus
from irods_provider.client import AVU
from irods_provider.client._patterns import literal_hint
from irods_provider.client.transfer import (
    FileResult,
    FileStatus,
    OverwritePolicy,
    SkipPolicy,
    TransferReport,
)
from irods_provider.client.transfer._leftout import is_left_out, left_out_hint
from irods_provider.exceptions import IrodsError, IrodsInvalidPathError, IrodsNotFoundError
from irods_provider.operators._transfer_base import TransferOperatorBase
from irods_provider.transfers._move import (
    check_removed,
    local_file_has_checksum,
    movable,
    move_skip,
    prune_emptied,
    removal_failure,
    tree_base,
    tree_base_of,
    unlisted_directories,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession

__all__ = ["LocalTransferOperator", "local_paths", "parse_transfer_avus"]


def local_paths(name: str, value: Any) -> list[str]:
    """One local path or a non-empty list of them (rendered: either, or the string of a list)."""
    value = literal_list(name, value)
    items = [value] if isinstance(value, str | os.PathLike) else value
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise IrodsInvalidPathError(
            f"{name} must be a local path or a non-empty list of paths, got {value!r}"
        )
    paths = [os.fspath(item) for item in items if isinstance(item, str | os.PathLike)]
    if len(paths) != len(items) or any(not p.strip() or "\x00" in p for p in paths):
        raise IrodsInvalidPathError(
            f"{name} must be a local path or a non-empty list of paths, got {value!r}"
        )
    return paths


def parse_transfer_avus(value: Any) -> list[AVU]:
    """AVUs for every uploaded object, parsed by the one AVU model all operators share."""
    return [AVU(a, v, u) for a, v, u in parse_avus(value, allow_empty=True)]


class LocalTransferOperator(TransferOperatorBase):
    """Arguments, policies, cancellation and lineage shared by both directions.

    Lineage and outlets: see the module documentation; users may declare
    ``outlets=[Asset("irods://<zone>/<path>")]`` to schedule downstream DAGs on what the task writes. The
    arguments of :class:`~irods_provider.operators._transfer_base.TransferOperatorBase`, and:

    :param pattern: filter on the paths relative to a directory or collection source (a pattern without
        ``/`` on the names): the provider's one pattern rule, ``**`` for any depth.
    :param move: remove each source once its copy is verified and it is still the version copied (a local
        file re-hashed against the zone's checksum, a data object by size and checksum); a changed one is
        kept with a warning. A tree's directories or collections (empty ones too) and those the moved files
        emptied below a glob's base are removed unless they still hold something not moved (the source
        root itself stays). A data object a download left out (being written by another client, or
        without a good replica) is never removed.
        With ``move``, a destination that already holds the source's bytes (checksum compared: an earlier
        try's copy) is skipped, not refused or copied again, and its source removed.
    :param fail_on_source_removal_error: with ``move``, fail the task (``IrodsSourceRemovalError`` naming
        the sources and why) when sources of verified copies could not be removed (permission denied, a
        read-only file system); the report lists those files as transferred (or skipped on a retry) with
        their ``source_error``. False: succeed with a warning (the report says the same).
    :param trash: with ``move``, send removed data objects (and emptied collections) to the trash; default
        False removes them with ``no_trash`` so quota is freed.
    :param plan_only: a dry run: the report lists the files as ``planned``; nothing is written (named so
        because ``BaseOperator.dry_run()`` is a method).
    """

    template_fields: Sequence[str] = (
        "source_path",
        "destination_path",
        "pattern",
        "manifest_path",
        "irods_conn_id",
    )
    ui_color = "#3d6f8f"

    def __init__(
        self,
        *,
        pattern: str | None = None,
        plan_only: bool = False,
        move: bool = False,
        trash: bool = False,
        fail_on_source_removal_error: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pattern = pattern
        self.plan_only = plan_only
        self.move = move
        self.trash = trash
        self.fail_on_source_removal_error = fail_on_source_removal_error
        self._logged: TransferReport | None = None

    def move_sources(
        self,
        report: TransferReport,
        bases: list[str],
        *,
        unchanged: Callable[[FileResult], bool],
        remove: Callable[[str], object],
        remove_dir: Callable[[str], object],
        dirname: Callable[[str], str] = posixpath.dirname,
        normalize: Callable[[str], str] = str,
    ) -> None:
        """With ``move``: remove every source copied (or found copied) that is ``unchanged`` since, then the
        directories or collections below ``bases`` (``normalize``-d like the sources) they left empty. A
        removal that fails is the file's ``source_error``."""
        if not self.move or self.plan_only:
            return
        moved: list[tuple[str, str | None]] = []
        for index, f in enumerate(report.files):
            if not movable(f):
                continue
            if not unchanged(f):
                self.log.warning("Not removing %s after the copy: it changed since", f.source)
                continue
            try:
                remove(f.source)
            except (OSError, IrodsError) as exc:  # the copy stands: reported, and raised by finish()
                report.files[index] = dataclasses.replace(f, source_error=removal_failure(exc))
                continue
            moved.append((normalize(f.source), tree_base_of(normalize(f.source), bases)))
        trees = [normalize(d.source) for d in report.directories]  # a tree's, empty ones included
        copied = [(d, tree_base_of(d, bases)) for d in trees]
        keep = unlisted_directories(report, trees, normalize)
        removed, report.kept_directories = prune_emptied(
            moved, remove_dir, dirname=dirname, copied=copied, keep=keep
        )
        self.log.info("Moved %d file(s); removed %d emptied director(y/ies)", len(moved), len(removed))

    def move_local_sources(self, report: TransferReport, sources: list[str]) -> None:
        """With ``move``: :meth:`move_sources` for local sources, each removed only while it still has the
        checksum it was uploaded with."""
        bases = [
            base
            for src in sources
            if (
                base := tree_base(
                    os.path.abspath(src), is_tree=os.path.isdir(self.literal_source(src)), glob=self.glob
                )
            )
        ]
        self.move_sources(
            report,
            bases,
            unchanged=lambda f: local_file_has_checksum(f.source, f.size, f.checksum),
            remove=os.remove,
            remove_dir=os.rmdir,
            dirname=os.path.dirname,
            normalize=os.path.abspath,
        )

    def finish(self, report: TransferReport, *, destination: str, session: IrodsSession) -> dict[str, Any]:
        """Log the report; fail on an empty selection or failed files; else the XCom value."""
        self._log(report)
        left = [f for f in report.files if is_left_out(f)]  # selected, but not readable yet: not a match
        if len(left) == len(report.files) and not report.directories and self.fail_if_empty:
            hint = "" if self.glob else literal_hint(str(self.source_path))
            hint += left_out_hint(left)
            raise IrodsNotFoundError(f"no file matches {self.source_path!r}{hint}", operation=self.direction)
        if report.failed:
            failed = [f.source for f in report.files if f.status is FileStatus.FAILED]
            error = IrodsError(f"{report.failed} of {len(report.files)} files failed: {failed}")
            error.report = report  # type: ignore[attr-defined]
            raise error
        log = cast("logging.Logger", self.log)
        check_removed(report, fail=bool(self.fail_on_source_removal_error), log=log, operation=self.direction)
        return {**self.xcom_report(report, session), "direction": self.direction, "destination": destination}

    def policies(self) -> tuple[OverwritePolicy, SkipPolicy]:
        """The engine policies; with ``move`` a destination holding the source's bytes is skipped
        (:func:`~irods_provider.transfers._move.move_skip`)."""
        overwrite, skip = super().policies()
        return overwrite, move_skip(skip, move=bool(self.move))

    def engine_options(self) -> dict[str, Any]:
        """The keyword arguments of every engine call: configuration, policies, dry run and cancel."""
        overwrite, skip = self.policies()
        return {
            "config": self.transfer_config(),
            "overwrite": overwrite,
            "skip": skip,
            "dry_run": bool(self.plan_only),
            "cancel_event": self.cancel_event,
        }

    def tree_options(self) -> dict[str, Any]:
        """What ``upload_files`` and ``download_files`` take besides :meth:`engine_options`."""
        return {
            "pattern": self.pattern or None,
            "recursive": bool(self.recursive),
            "glob": self.glob,
            "continue_on_error": bool(self.continue_on_error),
            "logger": cast("logging.Logger", self.log),
        }

    def timed(self, run: Callable[[], FileResult]) -> TransferReport:
        """The report of one file copied by ``run``."""
        started = time.monotonic()
        result = run()
        return TransferReport(
            files=[result], seconds=time.monotonic() - started, dry_run=bool(self.plan_only)
        )

    def _log(self, report: TransferReport) -> None:
        self._logged = report
        self.log_report(report)

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        """Run the transfer; a failed or cancelled one logs its partial report before raising.

        Either way the files copied are recorded for lineage.
        """
        self._logged = None
        try:
            return self.transfer(session)
        except BaseException as exc:  # any failure (Airflow's execution_timeout too): log, record what landed
            report = getattr(exc, "report", None)
            if isinstance(report, TransferReport) and report is not self._logged:
                self._log(report)
            raise
        finally:
            if self._logged is not None:
                self.record_done(
                    self._logged.files,
                    lambda f: (self.source_dataset(f.source), self.destination_dataset(f.destination)),
                    context=context,
                )

    def source_dataset(self, path: str) -> LineageDataset:
        """The lineage dataset of one source file."""
        raise NotImplementedError

    def destination_dataset(self, path: str) -> LineageDataset:
        """The lineage dataset of one destination file."""
        raise NotImplementedError

    def transfer(self, session: IrodsSession) -> dict[str, Any]:
        """The direction-specific work."""
        raise NotImplementedError
