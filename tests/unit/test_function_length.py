"""No function of the provider is longer than 60 lines (its docstring not counted): a long function is the
place where a second engine grows unseen (issue 17). The generated ``client/_sync`` mirrors ``_async``."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "irods_provider"
LIMIT = 60


def _length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    lines = (node.end_lineno or node.lineno) - node.lineno + 1
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        lines -= (first.end_lineno or first.lineno) - first.lineno + 1
    return lines


def test_no_function_is_longer_than_60_lines() -> None:
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "_sync" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _length(node) > LIMIT:
                long.append(
                    f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name} ({_length(node)} lines)"
                )
    assert not long, "functions over 60 lines:\n" + "\n".join(long)


def test_the_rule_sees_a_long_function() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT))
    node = ast.parse(f'def f():\n    """Doc."""\n{body}\n    return x0\n').body[0]
    assert isinstance(node, ast.FunctionDef)
    assert _length(node) == LIMIT + 2


def test_the_four_transfer_operators_stay_thin() -> None:
    """Issue 17: each transfer operator module is its arguments plus one engine call, at most 150 lines."""
    modules = ("local_to_irods", "irods_to_local", "sftp_to_irods", "irods_to_sftp")
    lengths = {name: len((PACKAGE / "transfers" / f"{name}.py").read_text().splitlines()) for name in modules}
    assert all(0 < n <= 150 for n in lengths.values()), lengths
