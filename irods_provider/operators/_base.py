"""The base every iRODS operator builds on: connection id, lazy hook, argument validation helpers."""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from irods_provider._docs import inherit_param_docs
from irods_provider._values import irods_safe, literal_list, refuse_empty_segment_in
from irods_provider.client._paths import normalize_path
from irods_provider.exceptions import IrodsInvalidPathError, IrodsUsageError
from irods_provider.hooks._checks import run_sync, stat_path
from irods_provider.hooks.irods import IrodsHook

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession

__all__ = [
    "CancellableMixin",
    "IrodsBaseOperator",
    "IrodsTemplatingMixin",
    "check_choice",
    "check_object_path",
    "check_path",
    "check_paths",
    "check_replica_number",
    "check_resource",
    "into_target",
    "is_retry",
    "path_kind",
    "refuse_empty_segment",
]


def check_path(name: str, value: Any) -> str:
    """A rendered logical path: an absolute string without NUL bytes, normalised by the one path rule
    (:func:`~irods_provider.client._paths.normalize_path`: ``//`` collapse, trailing ``/`` dropped).

    Whitespace is kept as given, as sensors, triggers and the client keep it: an iRODS name may end in a
    space, so ``/z/report `` is not ``/z/report``; a leading space makes the path relative, hence refused.
    """
    if not isinstance(value, str) or not value.startswith("/") or "\x00" in value:
        path = value if isinstance(value, str) else None
        raise IrodsInvalidPathError(f"{name} must be an absolute iRODS path, got {value!r}", path=path)
    return normalize_path(value)


def check_object_path(name: str, value: Any) -> str:
    """:func:`check_path` for a data object to be written: a path ending in ``/`` names a collection ("into
    this collection" for the transfer operators), so it is refused rather than written as an object."""
    path = check_path(name, value)
    if value.endswith("/"):
        raise IrodsInvalidPathError(
            f"{name} {value!r} ends in '/', which names a collection: give the data object's own path",
            path=value,
        )
    return path


def check_paths(name: str, value: Any) -> list[str]:
    """One path or a list of them (a rendered template may give either, or the string of a list)."""
    value = literal_list(name, value)
    if isinstance(value, str):
        return [check_path(name, value)]
    if isinstance(value, Sequence) and value:
        return [check_path(f"{name}[{i}]", item) for i, item in enumerate(value)]
    raise IrodsInvalidPathError(f"{name} must be a path or a non-empty list of paths, got {value!r}")


def into_target(raw: Any, source: str, destination: str) -> tuple[str, str | None]:
    """The target of a copy, move or publish: ``destination`` itself, or for a ``destination_path`` ending
    in ``/`` ("into this collection", as the transfer operators and ``IrodsFileSystem.mv`` read it) the
    source's name inside it, with that collection (created if missing) as the second item."""
    if isinstance(raw, str) and raw.endswith("/"):
        return posixpath.join(destination, posixpath.basename(source)), destination
    return destination, None


def refuse_empty_segment(paths: Any, name: str = "paths") -> Any:
    """``paths`` unless one has an empty segment (a trailing ``/``, a ``//``): the mark of a template part
    that rendered empty, which the path rule would fold into the parent, widening a deletion, a move, a
    publication or a recursive grant to all of it."""
    value = literal_list(name, paths)
    for path in [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else ():
        if isinstance(path, str):
            refuse_empty_segment_in(name, path)
    return value


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` must be one of ``choices``."""
    if value not in choices:
        raise IrodsUsageError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def check_replica_number(name: str, value: Any) -> int | None:
    """A rendered replica number (templates give strings), or None when not given."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise IrodsUsageError(f"{name} must be an integer >= 0, got {value!r}") from None
    if number < 0:
        raise IrodsUsageError(f"{name} must be an integer >= 0, got {value!r}")
    return number


def check_resource(name: str, value: Any) -> str | None:
    """A rendered resource name, or None for "not given" (None or an empty string)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or any(c in value.strip() for c in " ;/\x00"):
        raise IrodsUsageError(f"{name} must be a root resource name, got {value!r}")
    return value.strip()


def is_retry(context: Context | dict[str, Any]) -> bool:
    """Whether this run is a later try of the task: an earlier one may have done part of the work (its
    reply lost, or the worker gone before the task could report), which the operator then must not refuse."""
    ti = context.get("ti")
    try:
        return int(getattr(ti, "try_number", 1) or 1) > 1
    except (TypeError, ValueError):
        return False


def path_kind(session: IrodsSession, path: str) -> str | None:
    """``collection``, ``data_object`` or None when nothing (visible) is there (the sensors' stat)."""
    found = run_sync(stat_path(path), session)
    return None if found is None else str(found["kind"])


class IrodsTemplatingMixin:
    """Templates of iRODS operators and sensors get the ``irods_safe`` filter and ``irods_safe_run_id``.

    Every subclass's docstring also lists the arguments its bases document (:func:`inherit_param_docs`).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        inherit_param_docs(cls)

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Iterable[str],
        context: Context,
        jinja_env: jinja2.Environment,
        seen_oids: set[int],
    ) -> None:
        """Render with the ``irods_safe`` filter and ``irods_safe_run_id`` available to every template."""
        jinja_env.filters.setdefault("irods_safe", irods_safe)
        if "irods_safe_run_id" not in context and context.get("run_id"):
            context["irods_safe_run_id"] = irods_safe(context["run_id"])  # type: ignore[typeddict-unknown-key]
        super()._do_render_template_fields(  # type: ignore[misc]
            parent, template_fields, context, jinja_env, seen_oids
        )


class CancellableMixin:
    """:meth:`on_kill` sets :attr:`cancel_event`, which the engine's runner checks: no new file starts, the
    running ones stop, nothing unverified is published and the run raises IrodsTransferCancelledError."""

    _cancel_event: threading.Event | None = None

    @property
    def cancel_event(self) -> threading.Event:
        """Set by :meth:`on_kill`; hand it to the engine (every reader, writer and handle stops)."""
        if self._cancel_event is None:
            self._cancel_event = threading.Event()
        return self._cancel_event

    def on_kill(self) -> None:
        """Stop the engine's work: see :class:`CancellableMixin`."""
        self.log.info("Cancelling %s", getattr(self, "task_id", type(self).__name__))  # type: ignore[attr-defined]
        self.cancel_event.set()


class IrodsBaseOperator(IrodsTemplatingMixin, BaseOperator):
    """Owns ``irods_conn_id`` and builds :class:`IrodsHook` lazily; subclasses implement :meth:`run`.

    Example:

    ```python
    from typing import Any

    from irods_provider.client import IrodsSession
    from irods_provider.operators.irods import IrodsBaseOperator


    class IrodsReadTextOperator(IrodsBaseOperator):
        template_fields = ("path", "irods_conn_id")

        def __init__(self, *, path: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.path = path

        def run(self, session: IrodsSession, context: Any) -> str:
            return session.data_objects.read(self.path).decode()


    read_note = IrodsReadTextOperator(task_id="read_note", path="/tempZone/home/alice/note.txt")
    ```

    :param irods_conn_id: the Airflow connection of type ``irods`` (default ``irods_default``); templated.
    """

    template_fields: Sequence[str] = ("irods_conn_id",)
    ui_color = "#2b7bb9"
    ui_fgcolor = "#ffffff"

    def __init__(self, *, irods_conn_id: str = IrodsHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.irods_conn_id = irods_conn_id

    @cached_property
    def hook(self) -> IrodsHook:
        """The hook, built on first use (never in ``__init__``)."""
        return IrodsHook(self.irods_conn_id)

    def write_resource(self, resource: Any = None) -> str | None:
        """Where new data goes: ``resource`` (the operator's argument), else the connection's
        ``default_resource`` extra, else None (the server's default resource)."""
        return check_resource("resource", resource) or self.hook.settings.default_resource

    def run(self, session: IrodsSession, context: Context) -> Any:
        """Do the work with an open session; return a small JSON-able result."""
        raise NotImplementedError

    def execute(self, context: Context) -> Any:
        """Open the session, run, and always close it."""
        try:
            return self.run(self.hook.get_conn(), context)
        finally:
            self.hook.close()
