"""OpenLineage datasets and Airflow assets for transfers between iRODS, SFTP and local files.

Naming (so our datasets join those of Airflow's own providers):

* iRODS: namespace ``irods://<zone>``, name the absolute logical path (``/tempZone/home/rods/x``);
* SFTP: namespace ``file://<host>:<port>`` (as the sftp provider's converter and SFTPToGCSOperator), name the
  remote path;
* local files: namespace ``file``, name the absolute path (as the common.io provider).

The pure functions work without OpenLineage; :func:`operator_lineage` returns an ``OperatorLineage`` only when
``apache-airflow-providers-openlineage`` is installed, else None (the provider then simply has no lineage).
:func:`report_hook_lineage` hands the same datasets to Airflow's hook lineage collector (read by OpenLineage
for operators without facets of their own); :class:`TransferLineageMixin` gives an operator both.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from irods_provider._urls import PROTOCOL, split_url
from irods_provider.assets.irods import asset_uri

if TYPE_CHECKING:
    from airflow.sdk import Asset, BaseHook

__all__ = [
    "LineageDataset",
    "TransferLineageMixin",
    "dataset_for_url",
    "irods_dataset",
    "local_dataset",
    "operator_lineage",
    "report_hook_lineage",
    "sftp_dataset",
    "transfer_assets",
    "transfer_lineage",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LineageDataset:
    """One OpenLineage dataset identity (namespace and name), plus the Airflow asset URI when there is one."""

    namespace: str
    name: str
    asset_uri: str | None = None


def irods_dataset(path: str) -> LineageDataset:
    """The dataset of an absolute logical path ``/<zone>/...`` (name: the path itself, ``#`` and all).

    Never raises for a path the data operation accepted: without a valid asset URI the dataset has none.
    """
    segments = [s for s in path.split("/") if s]
    try:
        uri: str | None = asset_uri(path)
    except ValueError as error:
        log.warning("no asset URI for iRODS path %r: %s", path, error)
        uri = None
    zone = segments[0] if segments else ""
    return LineageDataset(namespace=f"irods://{zone}", name="/" + "/".join(segments), asset_uri=uri)


def sftp_dataset(*, host: str, path: str, port: int | None = 22) -> LineageDataset:
    """The dataset of a file on an SFTP server (port 22 unless given)."""
    port = port or 22
    return LineageDataset(
        namespace=f"file://{host}:{port}", name=path, asset_uri=f"sftp://{host}:{port}/{path.lstrip('/')}"
    )


def local_dataset(path: str | os.PathLike[str]) -> LineageDataset:
    """The dataset of a local file (made absolute)."""
    absolute = os.path.abspath(os.fspath(path))
    return LineageDataset(namespace="file", name=absolute, asset_uri=f"file://{absolute}")


def dataset_for_url(url: str) -> LineageDataset:
    """A dataset from a URL or a local path.

    ``irods://<zone>/p`` (asset style: percent-encoded, as :func:`~irods_provider.assets.irods.asset_uri`
    writes it), ``irods:///<zone>/p`` and ``irods://<conn_id>@<host>/<zone>/p`` (ObjectStoragePath style:
    the path is taken verbatim, ``#``, ``?`` and ``%`` included, by the fs layer's own rule,
    :func:`irods_provider._urls.split_url`), ``sftp://host[:port]/p``, ``file:///p`` or a plain local path.
    """
    if url.lower().startswith(f"{PROTOCOL}:"):
        netloc, path = split_url(PROTOCOL + url[len(PROTOCOL) :])
        if "@" in netloc or not netloc:
            return irods_dataset(path)
        return irods_dataset(f"/{netloc}{unquote(path)}")
    parsed = urlsplit(url)
    scheme = parsed.scheme.lower()
    if scheme in ("sftp", "ssh"):
        return sftp_dataset(host=parsed.hostname or "", port=parsed.port, path=parsed.path)
    if scheme in ("", "file"):
        return local_dataset(parsed.path if scheme else url)
    raise ValueError(f"no lineage naming for {url!r}: use irods://, sftp://, file:// or a local path")


def transfer_lineage(
    *, sources: Iterable[str | LineageDataset], destinations: Iterable[str | LineageDataset]
) -> tuple[list[LineageDataset], list[LineageDataset]]:
    """Input and output datasets of a transfer, from URLs (see :func:`dataset_for_url`) or datasets."""

    def convert(items: Iterable[str | LineageDataset]) -> list[LineageDataset]:
        out: dict[tuple[str, str], LineageDataset] = {}
        for item in items:
            ds = item if isinstance(item, LineageDataset) else dataset_for_url(item)
            out.setdefault((ds.namespace, ds.name), ds)
        return list(out.values())

    return convert(sources), convert(destinations)


def operator_lineage(*, inputs: Sequence[LineageDataset], outputs: Sequence[LineageDataset]) -> Any:
    """An ``OperatorLineage`` for ``get_openlineage_facets_on_complete``, or None without OpenLineage."""
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None
    from airflow.providers.common.compat.openlineage.facet import Dataset

    return OperatorLineage(
        inputs=[Dataset(namespace=d.namespace, name=d.name) for d in inputs],
        outputs=[Dataset(namespace=d.namespace, name=d.name) for d in outputs],
    )


def transfer_assets(datasets: Iterable[LineageDataset]) -> list[Asset]:
    """Airflow assets for datasets that have an asset URI (for outlets and hook-level lineage)."""
    from airflow.sdk import Asset

    return [Asset(uri=d.asset_uri) for d in datasets if d.asset_uri]


def report_hook_lineage(
    *, context: BaseHook, inputs: Sequence[LineageDataset], outputs: Sequence[LineageDataset]
) -> None:
    """Report what a task read and wrote to Airflow's hook lineage collector (a no-op without a reader).

    iRODS datasets go through the ``irods`` asset factory (``asset_kwargs={"path": ...}``), others by their
    asset URI.
    ``context`` is the hook that did the work (OpenLineage passes it to the asset converters).
    """
    from airflow.sdk import lineage

    collector = lineage.get_hook_lineage_collector()
    for datasets, add in ((inputs, collector.add_input_asset), (outputs, collector.add_output_asset)):
        for ds in datasets:
            if ds.namespace.startswith("irods://"):
                add(context=context, scheme="irods", asset_kwargs={"path": ds.name})
            elif ds.asset_uri:
                add(context=context, uri=ds.asset_uri)


def _warm_collector() -> None:
    """Look the hook lineage collector up once (Airflow caches it); a failure shows again when reporting."""
    try:
        from airflow.sdk import lineage

        lineage.get_hook_lineage_collector()
    except Exception as error:  # lineage is best effort by design
        log.debug("hook lineage collector not resolved ahead: %s", error)


class TransferLineageMixin:
    """Lineage for an operator that copies files: OpenLineage facets and hook lineage of the files it copied.

    The operator calls :meth:`record_transfer_lineage` once it knows which files were copied (also after a
    partial failure); ``get_openlineage_facets_on_complete`` then returns them as inputs and outputs. An
    ``AssetAlias`` among the task's outlets receives an asset event per file written, so downstream DAGs can
    be scheduled on destinations only known at run time.
    """

    _transfer_lineage: tuple[list[LineageDataset], list[LineageDataset]] | None = None
    _lineage_warming: threading.Thread | None = None

    def warm_lineage(self) -> None:
        """Resolve Airflow's hook lineage collector in a thread while the task works: the first lookup
        loads the plugins (~100 ms), which would otherwise follow the last file. :meth:`record_lineage`
        waits for it, so the task reports to the one collector Airflow caches."""
        if self._lineage_warming is None:
            self._lineage_warming = threading.Thread(target=_warm_collector, name="lineage-warm", daemon=True)
            self._lineage_warming.start()

    def record_transfer_lineage(
        self,
        pairs: Iterable[tuple[LineageDataset, LineageDataset]],
        *,
        hook: BaseHook,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Keep ``(source, destination)`` datasets for OpenLineage, report them to the hook collector and
        to the task's asset aliases (``context`` is the task context holding ``outlet_events``).

        Lineage never fails a task whose data operation succeeded: any problem here is logged as a warning.
        """
        try:
            pairs = list(pairs)
            inputs, outputs = transfer_lineage(
                sources=[s for s, _ in pairs], destinations=[d for _, d in pairs]
            )
        except Exception as error:  # lineage is best effort by design
            log.warning("lineage not recorded: %s: %s", type(error).__name__, error)
            return
        self.record_lineage(inputs=inputs, outputs=outputs, hook=hook, context=context)

    def record_lineage(
        self,
        *,
        inputs: Sequence[LineageDataset],
        outputs: Sequence[LineageDataset],
        hook: BaseHook,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Like :meth:`record_transfer_lineage` for operators that only read or only write (e.g. create a
        collection: ``outputs=[irods_dataset(path)]``). Problems are logged as warnings, never raised."""
        self._transfer_lineage = (list(inputs), list(outputs))
        warming, self._lineage_warming = self._lineage_warming, None
        if warming is not None:
            warming.join()
        if not (inputs or outputs):
            return
        try:
            report_hook_lineage(context=hook, inputs=inputs, outputs=outputs)
            self._emit_alias_events(outputs, context)
        except Exception as error:  # lineage is best effort by design
            log.warning("lineage not reported: %s: %s", type(error).__name__, error)

    def _emit_alias_events(
        self, outputs: Sequence[LineageDataset], context: Mapping[str, Any] | None
    ) -> None:
        from airflow.sdk import AssetAlias

        events = (context or {}).get("outlet_events")
        aliases = [o for o in getattr(self, "outlets", None) or () if isinstance(o, AssetAlias)]
        if events is None or not aliases:
            return
        assets = transfer_assets(outputs)
        for alias in aliases:
            for asset in assets:
                events[alias].add(asset)

    @property
    def lineage_datasets(self) -> tuple[list[LineageDataset], list[LineageDataset]]:
        """The recorded ``(inputs, outputs)``; empty before a run."""
        return self._transfer_lineage or ([], [])

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """``OperatorLineage`` of the files this run copied (None when OpenLineage is not installed)."""
        inputs, outputs = self.lineage_datasets
        return operator_lineage(inputs=inputs, outputs=outputs)
