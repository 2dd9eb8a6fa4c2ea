"""The docstring examples of the public classes: which classes need one, and a check that each one is sound.

An example is a fenced ``python`` block after a line ``Example:`` in a class's own docstring, written before
its ``:param`` fields (mkdocstrings' sphinx parser renders text after a field inside that field). The check
compiles the block (top-level ``await`` allowed), runs its imports, requires every name it reads to be
imported, assigned or a builtin, follows attributes of imported modules, and matches the keyword arguments
of every call to an imported class or function against its signature (a class's ``**kwargs`` followed up
its ``__init__`` chain). A block that only builds Airflow objects (operators, sensors, triggers, assets)
runs whole, so Airflow itself rejects a wrong argument. ``make docs`` and tests/unit/docs check every one.
"""

from __future__ import annotations

import ast
import builtins
import enum
import importlib
import inspect
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any, is_typeddict

__all__ = ["check_example", "example_of", "public_classes"]

#: Public modules whose every exported class (``__all__``) shows an example, except exceptions, enums,
#: typed dicts, protocols and :data:`RECORDS`.
EVERY_CLASS = (
    "irods_provider.operators.irods",
    "irods_provider.operators.catalog",
    "irods_provider.operators.cleanup",
    "irods_provider.operators.metadata",
    "irods_provider.operators.publish",
    "irods_provider.operators.replicas",
    "irods_provider.operators.transfer",
    "irods_provider.sensors.irods",
    "irods_provider.triggers.irods",
    "irods_provider.triggers.events",
    "irods_provider.transfers.irods_to_local",
    "irods_provider.transfers.local_to_irods",
    "irods_provider.transfers.irods_to_sftp",
    "irods_provider.transfers.sftp_to_irods",
    "irods_provider.hooks.irods",
    "irods_provider.fs",
    "irods_provider.assets",
    "irods_provider.testing",
    "irods_provider.testing.sftp",
)
#: Public modules of which only the main types show one: the sessions and their API groups, the auth
#: specs, the policies a caller configures and the transfer engine. Their other exports are records the
#: client returns (``AVU``, ``Entry``, ...), building blocks and legacy aliases.
MAIN_TYPES = {
    "irods_provider.client": (
        "IrodsSession",
        "AsyncIrodsSession",
        "Collections",
        "DataObjects",
        "Metadata",
        "Query",
        "Tickets",
        "AsyncCollections",
        "AsyncDataObjects",
        "AsyncMetadata",
        "AsyncQuery",
        "AsyncTickets",
        "BasicAuth",
        "StaticToken",
        "OpenIdPassword",
        "OpenIdClientCredentials",
        "OpenIdRefreshToken",
        "RetryPolicy",
        "Timeouts",
    ),
    "irods_provider.client.transfer": ("TransferConfig",),
}
#: Exported classes that are records a caller receives rather than builds.
RECORDS = frozenset({"VersionProfile"})
#: Blocks importing only from these modules build objects without I/O: they run whole.
_PURE: tuple[str, ...] = ("irods_provider.operators", "irods_provider.sensors", "irods_provider.transfers")
_PURE += ("irods_provider.triggers", "irods_provider.assets", "airflow.sdk", "datetime", "pendulum")
_EXAMPLE = re.compile(r"^Example:\n\n```python\n(.*?)\n```$", flags=re.M | re.S)
_FIELD = re.compile(r"^:(param|ivar|cvar|raises|returns?|type|rtype)\b", flags=re.M)
#: ``BaseOperator.__init__`` takes ``**kwargs`` only to reject them: its named arguments end the chain.
_CLOSING_INIT = frozenset({"airflow.sdk.bases.operator"})


def _needs_example(cls: type) -> bool:
    return not (
        issubclass(cls, (BaseException, enum.Enum))
        or is_typeddict(cls)
        or getattr(cls, "_is_protocol", False)
        or cls.__name__ in RECORDS
    )


def public_classes() -> dict[str, type]:
    """Every class that must show an example, by the public name a user imports it under."""
    found: dict[str, type] = {}
    seen: set[type] = set()
    modules: list[tuple[str, tuple[str, ...] | None]] = [(m, None) for m in EVERY_CLASS]
    for module_name, only in modules + list(MAIN_TYPES.items()):
        module = importlib.import_module(module_name)
        names: tuple[str, ...] = only if only is not None else tuple(getattr(module, "__all__", ()))
        for name in names:
            obj = getattr(module, name)
            if inspect.isclass(obj) and obj not in seen and _needs_example(obj):
                seen.add(obj)
                found[f"{module_name}.{name}"] = obj
    return found


def example_of(cls: type) -> str | None:
    """The code of the ``Example:`` block in ``cls``'s own docstring (None when it has none)."""
    doc = vars(cls).get("__doc__")
    if not isinstance(doc, str):
        return None
    text = inspect.cleandoc(doc)
    field = _FIELD.search(text)
    match = _EXAMPLE.search(text[: field.start()] if field else text)
    return match.group(1) if match else None


def _bound_and_read(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names the block binds anywhere (scopes flattened) and names it reads."""
    bound: set[str] = set()
    read: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound, read


def accepted_keywords(target: Any) -> set[str] | None:
    """Keyword names a call to ``target`` accepts (None: any); a class's ``**kwargs`` up its ``__init__``s."""
    if not inspect.isclass(target):
        params = list(inspect.signature(target).parameters.values())
        if any(p.kind is p.VAR_KEYWORD for p in params):
            return None
        return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    names: set[str] = set()
    for klass in target.__mro__:
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        params = list(inspect.signature(init).parameters.values())
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if klass.__module__ in _CLOSING_INIT or not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names - {"self"}


def _imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


def _problems(tree: ast.Module, namespace: dict[str, Any]) -> Iterator[str]:
    bound, read = _bound_and_read(tree)
    for name in sorted(read - bound - set(dir(builtins))):
        yield f"{name!r} is used but never imported or assigned"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner = namespace.get(node.value.id)
            if isinstance(owner, ModuleType) and not hasattr(owner, node.attr):
                yield f"module {owner.__name__} has no attribute {node.attr!r}"
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        target = namespace.get(node.func.id)
        if target is None or not callable(target):
            continue
        accepted = accepted_keywords(target)
        given = {k.arg for k in node.keywords if k.arg is not None}
        if accepted is not None and given - accepted:
            yield f"{node.func.id}() does not accept {sorted(given - accepted)}"


def check_example(source: str) -> list[str]:
    """What is wrong with an example's code (empty when nothing): syntax, imports, names, arguments."""
    try:
        tree = ast.parse(source)
        compile(source, "<example>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError as error:
        return [f"does not compile: {error}"]
    namespace: dict[str, Any] = {}
    modules: list[str] = []
    for node in _imports(tree):
        modules += [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        try:
            exec(compile(ast.Module(body=[node], type_ignores=[]), "<example>", "exec"), namespace)
        except Exception as error:
            return [f"line {node.lineno}: {ast.unparse(node)} fails: {type(error).__name__}: {error}"]
    problems = list(_problems(tree, namespace))
    if not problems and modules and all(m.startswith(_PURE) for m in modules):
        try:
            exec(compile(tree, "<example>", "exec"), {})
        except Exception as error:
            problems.append(f"running it fails: {type(error).__name__}: {error}")
    return problems
