"""Argument values as DAG authors write them: typed AVUs, rendered lists, and paths the API can address later.

One parser per kind of value, shared by every operator, so the metadata, transfer, staging and create
operators accept and refuse exactly the same things.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from irods_provider.exceptions import IrodsInvalidPathError, IrodsUsageError

__all__ = [
    "avu_text",
    "irods_safe",
    "literal_list",
    "parse_avus",
    "refuse_unaddressable",
    "rendered_literal",
    "rendered_mapping",
]

#: Characters a path may hold that the iRODS HTTP API cannot carry in GET parameters (it decodes ``%2B``
#: to ``+`` and then turns every ``+`` into a space): stat, read, list and delete could never reach it.
UNADDRESSABLE = "+"


def irods_safe(value: Any, replacement: str = "_") -> str:
    """``value`` as text, every character the HTTP API cannot address replaced (the ``irods_safe`` filter).

    ``{{ run_id | irods_safe }}`` turns ``manual__2026-01-01T00:00:00+00:00`` into
    ``manual__2026-01-01T00:00:00_00:00``.
    """
    text = str(value)
    for char in UNADDRESSABLE:
        text = text.replace(char, replacement)
    return text


def refuse_unaddressable(name: str, path: str) -> str:
    """Refuse, before anything is written, a path every later GET (stat, read, listing) would miss."""
    bad = sorted({c for c in path if c in UNADDRESSABLE})
    if bad:
        chars = ", ".join(repr(c) for c in bad)
        raise IrodsInvalidPathError(
            f"{name} {path!r} contains {chars}: the iRODS HTTP API turns '+' into a space in GET parameters, "
            "so every later stat, read or listing of the object would miss it and need a detour (a catalog "
            "query; a server-side copy to read it); nothing was written. In templated paths use "
            "{{ run_id | irods_safe }} or "
            "{{ irods_safe_run_id }}.",
            path=path,
        )
    return path


def refuse_empty_segment_in(name: str, path: str, *, into: bool = False) -> str:
    """``path`` unless it has an empty segment (a ``//``, or a trailing ``/`` unless ``into`` allows one: the
    "into this collection" of a destination), the mark of a template part that rendered empty, which the
    path rule would fold into the parent, widening a deletion or an overwrite (IrodsInvalidPathError)."""
    checked = path[:-1] if into and path.endswith("/") else path
    if len(path) > 1 and (checked.endswith("/") or "//" in checked):
        raise IrodsInvalidPathError(
            f"{name} {path!r} has an empty segment (a trailing '/' or '//': a template part that "
            "rendered empty?); nothing was changed: name the collection or pattern without it",
            path=path,
        )
    return path


def rendered_literal(text: str) -> Any:
    """A rendered dict or list: a Python literal (``str()`` of a value), else JSON (Jinja's ``tojson``, whose
    ``true``/``false``/``null`` are no Python); never evaluated. ValueError when it is neither."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError("neither a Python literal nor JSON") from None


def rendered_mapping(name: str, value: Any) -> Any:
    """A rendered dict (``"{'alice': 'read_object'}"``, or ``tojson``'s JSON) back as a dict; a template
    dict's keys are never rendered, so a templated key needs the whole dict rendered. Else unchanged."""
    if not isinstance(value, str) or not value.strip().startswith("{"):
        return value
    try:
        return rendered_literal(value)
    except ValueError:
        raise IrodsUsageError(f"{name} rendered to {value!r}, which is not a dict literal") from None


def literal_list(name: str, value: Any) -> Any:
    """A rendered list (``"['/a', '/b']"``) back as a list, parsed as a literal (never evaluated).

    Templates render to strings unless the DAG renders native objects; a string that starts with ``[``
    and is a valid Python/JSON list literal is taken as that list. Anything else is returned unchanged.
    """
    if not isinstance(value, str) or not value.strip().startswith("["):
        return value
    try:
        parsed = rendered_literal(value)
    except ValueError:
        return value
    if not isinstance(parsed, list):
        raise IrodsUsageError(f"{name} rendered to {value!r}, which is not a list")
    return parsed


def avu_text(where: str, value: Any) -> str:
    """One AVU value or units as text: str, int, float or bool only (bool as ``true``/``false``); the one
    rule for what is stored, looked for (sensors, triggers) and removed."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        raise IrodsUsageError(f"{where}: {value!r} is not a finite number")
    if isinstance(value, str | int | float):
        return str(value)
    raise IrodsUsageError(
        f"{where}: a value must be a string, a number or a bool, or (value, units) / "
        f'{{"value": ..., "units": ...}}; got {type(value).__name__} {value!r}'
    )


def _value_units(where: str, spec: Any) -> tuple[str, str]:
    """The value of ``{"attr": spec}``: a scalar, a ``(value, units)`` tuple or ``{"value", "units"}``."""
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"value", "units"}
        if unknown or "value" not in spec:
            raise IrodsUsageError(f'{where}: a dict value needs the keys "value" and optionally "units"')
        return avu_text(where, spec["value"]), avu_text(where, spec.get("units") or "")
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise IrodsUsageError(f"{where}: a tuple value is (value, units), got {len(spec)} items")
        return avu_text(where, spec[0]), avu_text(where, spec[1] or "")
    return avu_text(where, spec), ""


def _avu_item(where: str, item: Any) -> tuple[str, str, str]:
    """One entry of a list of AVUs: ``{"attribute", "value", "units"}`` or ``[attribute, value, units]``."""
    if isinstance(item, Mapping):
        unknown = set(item) - {"attribute", "value", "units"}
        if unknown or "attribute" not in item or "value" not in item:
            raise IrodsUsageError(f"{where}: an AVU needs the keys attribute, value and optionally units")
        attribute, value, units = item["attribute"], item["value"], item.get("units") or ""
    elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) in (2, 3):
        attribute, value, units = item[0], item[1], (item[2] if len(item) == 3 else "") or ""
    elif hasattr(item, "attribute") and hasattr(item, "value"):
        attribute, value, units = item.attribute, item.value, getattr(item, "units", "") or ""
    else:
        raise IrodsUsageError(
            f"{where}: an AVU is a dict or an (attribute, value[, units]) list, got {item!r}"
        )
    if not isinstance(attribute, str):
        raise IrodsUsageError(f"{where}: the attribute must be a string, got {attribute!r}")
    return attribute, avu_text(where, value), avu_text(where, units)


def parse_avus(metadata: Any, *, allow_empty: bool = False) -> list[tuple[str, str, str]]:
    """Normalise AVU input into (attribute, value, units) triples, refusing what would be stored wrongly.

    Accepted: ``{"attr": value}`` where value is a str/int/float/bool, a ``(value, units)`` tuple or a
    ``{"value": ..., "units": ...}`` dict; or a list of ``{"attribute", "value", "units"}`` dicts or
    ``[attribute, value(, units)]`` items. Lists, dicts of other shapes, ``None`` and other types as values
    are refused with :class:`IrodsUsageError` naming the attribute: never split into value + units, never
    stringified.
    A rendered string of a dict or list is parsed as a literal first.
    """
    if isinstance(metadata, str) and metadata.strip()[:1] in ("{", "["):
        try:
            metadata = rendered_literal(metadata)
        except ValueError:
            raise IrodsUsageError(
                f"metadata rendered to {metadata!r}, which is not a dict or list literal"
            ) from None
    if allow_empty and not metadata:
        return []
    if isinstance(metadata, Mapping):
        triples = []
        for attribute, spec in metadata.items():
            where = f"metadata[{attribute!r}]"
            if not isinstance(attribute, str):
                raise IrodsUsageError(f"{where}: the attribute must be a string")
            triples.append((attribute, *_value_units(where, spec)))
    elif isinstance(metadata, Sequence) and not isinstance(metadata, str):
        triples = [_avu_item(f"metadata[{i}]", item) for i, item in enumerate(metadata)]
    else:
        raise IrodsUsageError(f"metadata must be a dict or a list of AVUs, got {type(metadata).__name__}")
    for attribute, value, _units in triples:
        if not attribute or not value:
            raise IrodsUsageError(f"metadata[{attribute!r}]: iRODS needs a non-empty attribute and value")
    if not triples and not allow_empty:
        raise IrodsUsageError("metadata is empty: give at least one AVU")
    return triples
