"""Operators for iRODS metadata (AVUs) on collections and data objects: put, get, remove."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from irods_provider._values import avu_text, parse_avus
from irods_provider.exceptions import IrodsUsageError
from irods_provider.operators._base import IrodsBaseOperator, check_choice, check_path
from irods_provider.operators._bounded import (
    MAX_REPORT_BYTES,
    attach_manifest,
    bounded_entries,
    check_budget,
    check_manifest_path,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from irods_provider.client import AVU, IrodsSession

__all__ = [
    "IrodsGetMetadataOperator",
    "IrodsPutMetadataOperator",
    "IrodsRemoveMetadataOperator",
    "parse_avus",
]

AvuInput = Mapping[str, Any] | Sequence[Any]


def _avu_dicts(avus: Sequence[AVU]) -> list[dict[str, str]]:
    return [{"attribute": a.attribute, "value": a.value, "units": a.units or ""} for a in avus]


class IrodsPutMetadataOperator(IrodsBaseOperator):
    """Attach AVUs to a collection or data object, atomically; returns ``{"path", "mode", "avus"}``.

    Example:

    ```python
    from irods_provider.operators.metadata import IrodsPutMetadataOperator

    tag_run = IrodsPutMetadataOperator(
        task_id="tag_run",
        path="/tempZone/home/alice/runs/{{ ds }}",
        metadata={"project": "genomics", "run_date": "{{ ds }}", "size": (42, "GiB")},
    )
    ```

    :param path: the collection or data object.
    :param metadata: ``{"attr": value}`` (value a str, int, float or bool; or ``("value", "units")``; or
        ``{"value": ..., "units": ...}``), or a list of ``{"attribute", "value", "units"}`` dicts or
        ``[attribute, value(, units)]`` items. Other value types (lists, dicts, None) are refused, never split
        into value + units or stringified.
    :param mode: ``add`` keeps existing AVUs; ``set`` first removes every AVU with the same attribute.
    """

    template_fields: Sequence[str] = ("path", "metadata", "irods_conn_id")

    def __init__(self, *, path: str, metadata: AvuInput, mode: str = "add", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.metadata = metadata
        self.mode = mode

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        from irods_provider.client import AVU

        path = check_path("path", self.path)
        mode = check_choice("mode", self.mode, ("add", "set"))
        avus = [AVU(a, v, u) for a, v, u in parse_avus(self.metadata)]
        if mode == "add":
            session.metadata.add(path, *avus)
        else:
            session.metadata.set(path, *avus)
        self.log.info("%s %d AVU(s) on %s", "Added" if mode == "add" else "Set", len(avus), path)
        return {"path": path, "mode": mode, "avus": _avu_dicts(avus)}


class IrodsGetMetadataOperator(IrodsBaseOperator):
    """Read the AVUs of a collection or data object into XCom: ``{"path", "count", "avus": [...],
    "avus_truncated"}``, the AVUs sorted and the list bounded (an object may carry thousands of them).

    Example:

    ```python
    from irods_provider.operators.metadata import IrodsGetMetadataOperator

    read_project = IrodsGetMetadataOperator(
        task_id="read_project",
        path="/tempZone/home/alice/runs/{{ ds }}",
        attribute="project",
    )
    ```

    :param path: the collection or data object.
    :param attribute: only AVUs with this attribute.
    :param max_report_bytes: at most this many bytes of JSON of AVUs go to XCom (the leading ones; default
        48 KiB); ``count`` is always the full number and ``avus_truncated`` says whether some were left out.
    :param manifest_path: an iRODS path where every AVU is written as JSON lines (atomic, verified,
        overwritten) when ``max_report_bytes`` cuts the list; the result then names it as ``manifest``.
    """

    template_fields: Sequence[str] = ("path", "attribute", "manifest_path", "irods_conn_id")

    def __init__(
        self,
        *,
        path: str,
        attribute: str | None = None,
        max_report_bytes: int = MAX_REPORT_BYTES,
        manifest_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.attribute = attribute
        self.max_report_bytes = max_report_bytes
        self.manifest_path = manifest_path

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        path = check_path("path", self.path)
        budget = check_budget(self.max_report_bytes)
        manifest = check_manifest_path(self.manifest_path)
        avus = [a for a in session.metadata.list(path) if not self.attribute or a.attribute == self.attribute]
        avus.sort(key=lambda a: (a.attribute, a.value, a.units or ""))
        self.log.info("%s carries %d AVU(s)", path, len(avus))
        entries = _avu_dicts(avus)
        kept, _ = bounded_entries(entries, budget)
        truncated = len(kept) < len(entries)
        result = {"path": path, "count": len(entries), "avus": kept, "avus_truncated": truncated}
        return attach_manifest(
            result,
            session=session,
            manifest_path=manifest,
            truncated=truncated,
            entries=entries,
            log=self.log,
        )


class IrodsRemoveMetadataOperator(IrodsBaseOperator):
    """Remove AVUs, atomically: by attribute, by attribute and value, listed AVUs, or all of them.

    Returns ``{"path", "removed": [...]}``; removing AVUs that are not there is not an error.

    Example:

    ```python
    from irods_provider.operators.metadata import IrodsRemoveMetadataOperator

    untag = IrodsRemoveMetadataOperator(
        task_id="untag",
        path="/tempZone/home/alice/runs/{{ ds }}",
        attribute="status",
        value="processing",
    )
    ```

    :param path: the collection or data object.
    :param attribute: remove the AVUs with this attribute.
    :param value: only those with this value (with ``attribute``); ``""`` matches nothing, as iRODS values are
        never empty (a template that rendered empty must not widen the removal to the whole attribute); a
        number or bool means the text the put operator stores for it (``5`` → ``"5"``, ``True`` → ``"true"``).
    :param units: only those with these units (with ``attribute``); ``""`` means exactly no units.
    :param metadata: remove exactly these AVUs (same forms as :class:`IrodsPutMetadataOperator`).
    :param remove_all: remove every AVU of the path.
    :param max_report_bytes: at most this many bytes of JSON of removed AVUs go to XCom (default 48 KiB);
        ``removed_count`` is always the full number, ``removed_truncated`` says whether some were left out.
    """

    template_fields: Sequence[str] = ("path", "attribute", "value", "units", "metadata", "irods_conn_id")

    def __init__(
        self,
        *,
        path: str,
        attribute: str | None = None,
        value: str | float | None = None,
        units: str | float | None = None,
        metadata: AvuInput | None = None,
        remove_all: bool = False,
        max_report_bytes: int = MAX_REPORT_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.attribute = attribute
        self.value = value
        self.units = units
        self.metadata = metadata
        self.remove_all = remove_all
        self.max_report_bytes = max_report_bytes

    def _selector(self) -> Callable[[AVU], bool]:
        chosen = [bool(self.attribute), self.metadata is not None, bool(self.remove_all)]
        if sum(chosen) != 1:
            raise IrodsUsageError("give exactly one of attribute, metadata or remove_all=True")
        if (self.value is not None or self.units is not None) and not self.attribute:
            raise IrodsUsageError("value and units narrow an attribute: give attribute too")
        if self.metadata is not None:
            wanted = set(parse_avus(self.metadata))
            return lambda a: (a.attribute, a.value, a.units or "") in wanted
        if self.attribute:
            value = None if self.value is None else avu_text("value", self.value)  # as put stored it
            units = None if self.units is None else avu_text("units", self.units)
            return lambda a: (
                a.attribute == self.attribute
                and (value is None or a.value == value)
                and (units is None or (a.units or "") == units)
            )
        return lambda a: True

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        path = check_path("path", self.path)
        budget = check_budget(self.max_report_bytes)
        selector = self._selector()
        doomed = [a for a in session.metadata.list(path) if selector(a)]
        if doomed:
            session.metadata.remove(path, *doomed)
        self.log.info("Removed %d AVU(s) from %s", len(doomed), path)
        removed, _ = bounded_entries(_avu_dicts(doomed), budget)
        return {
            "path": path,
            "removed": removed,
            "removed_count": len(doomed),
            "removed_truncated": len(removed) < len(doomed),
        }
