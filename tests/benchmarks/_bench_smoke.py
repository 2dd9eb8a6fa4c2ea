"""Run by test_benchmark_scripts.py in a fresh interpreter (so nothing it imports or patches reaches pytest):
every benchmark script's ``--help``, then ``benchmarks/_phases.py``'s ``install()`` with each wrapped target
recorded. Prints one JSON object.

A module-level function is traced by replacing the module's attribute, which only intercepts the calls made
through that module (its own global name, or ``module.name`` elsewhere): one that exists but is no longer
called that way (its callers now import it under their own name, or call something else) would make its
phase vanish silently, so the call sites of each are found in the provider's sources.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import runpy
import sys
import traceback
import types
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def help_texts() -> dict[str, dict[str, Any]]:
    """Per script: the exit code and output of ``<script> --help`` run as ``__main__``."""
    results = {}
    for script in sorted(BENCHMARKS.glob("*.py")):
        if script.name.startswith("_"):
            continue
        out, code = io.StringIO(), None
        sys.argv = [str(script), "--help"]
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                runpy.run_path(str(script), run_name="__main__")
        except SystemExit as done:
            code = done.code
        except BaseException:  # an import or a name that no longer exists
            code = traceback.format_exc()
        results[script.name] = {"code": code, "output": out.getvalue()}
    return results


_trees: dict[str, ast.AST] = {}


def _tree(module: types.ModuleType) -> ast.AST | None:
    path = getattr(module, "__file__", None)
    if path is None or not path.endswith(".py"):
        return None
    if path not in _trees:
        _trees[path] = ast.parse(Path(path).read_text(), path)
    return _trees[path]


def call_sites(owner: types.ModuleType, name: str) -> list[str]:
    """The provider modules whose code reaches ``owner.name`` through ``owner`` (so a wrap replacing that
    attribute sees the call): ``owner`` itself reading its global ``name``, or any module reading the
    attribute ``name`` of a name bound to ``owner`` (``from . import _pipelined``, ``_pipelined.exchange``).
    A module that imported the function under its own name keeps calling the original."""
    sites = []
    for module in list(sys.modules.values()):
        if (
            not getattr(module, "__name__", "").startswith("irods_provider")
            or (tree := _tree(module)) is None
        ):
            continue
        aliases = {key for key, value in vars(module).items() if value is owner}
        for node in ast.walk(tree):
            if (
                module is owner
                and isinstance(node, ast.Name)
                and node.id == name
                and isinstance(node.ctx, ast.Load)
            ) or (
                isinstance(node, ast.Attribute)
                and node.attr == name
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
            ):
                sites.append(module.__name__)
                break
    return sites


def phases_targets() -> dict[str, Any]:
    """Run ``_phases.install()`` for real, recording every (owner, name, label) it wraps."""
    import _phases

    targets: list[dict[str, Any]] = []
    real_wrap, real_wrap_generator = _phases._wrap, _phases._wrap_generator

    def record(wrap: Any) -> Any:
        def recorded(owner: Any, name: str, label: Any) -> None:
            is_module = isinstance(owner, types.ModuleType)
            targets.append(
                {
                    "owner": owner.__name__ if is_module else f"{owner.__module__}.{owner.__qualname__}",
                    "name": name,
                    "label": label if isinstance(label, str) else None,
                    "module_level": is_module,
                    "module": owner if is_module else None,
                }
            )
            wrap(owner, name, label)

        return recorded

    _phases._wrap, _phases._wrap_generator = record(real_wrap), record(real_wrap_generator)
    try:
        _phases.install()
    except BaseException:
        return {"error": traceback.format_exc(), "targets": [], "table_labels": []}
    for target in targets:  # once every traced module is imported
        module = target.pop("module")
        target["call_sites"] = None if module is None else call_sites(module, target["name"])
    import _staging_wan

    return {"error": None, "targets": targets, "table_labels": sorted(_staging_wan._PHASES)}


if __name__ == "__main__":
    sys.path.insert(0, str(BENCHMARKS))
    report = {"help": help_texts(), "phases": phases_targets()}
    sys.stdout = sys.__stdout__
    print(json.dumps(report))
