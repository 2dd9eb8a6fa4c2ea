"""The commands the README and docs tell users to type exist as written: ``python -m`` subcommands and their
options, ``make`` variables and their values, and the options each ``make`` recipe passes to a script."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", ROOT / "tests" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
#: Where each ``python -m`` module of the docs defines its command line.
CLI_SOURCES = {
    "irods_provider.testing": sorted((ROOT / "irods_provider" / "testing").glob("_cli*.py")),
    "irods_provider.testing.sftp": [ROOT / "irods_provider" / "testing" / "sftp.py"],
}


def _cli(source: Path) -> tuple[set[str], set[str], dict[str, list[str]]]:
    """Subcommands, ``--options`` and each option's ``choices`` (when literal) an argparse CLI defines."""
    subcommands, options, choices = set(), set(), {}
    for node in ast.walk(ast.parse(source.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        if node.func.attr == "add_parser":
            subcommands.add(first.value)
        elif node.func.attr == "add_argument" and first.value.startswith("--"):
            options.add(first.value)
            for keyword in node.keywords:
                if keyword.arg == "choices" and isinstance(keyword.value, ast.List):
                    choices[first.value] = [ast.literal_eval(e) for e in keyword.value.elts]
    return subcommands, options, choices


def _commands(module: str) -> list[str]:
    """Every ``python -m <module> ...`` of the pages, up to the end of its line, a comment or a backtick."""
    pattern = rf"python -m {re.escape(module)} ([^\n`#&]*)"
    return [m.strip() for page in PAGES for m in re.findall(pattern, page.read_text())]


def test_every_python_m_command_exists_as_written() -> None:
    wrong, seen = [], 0
    for module, sources in CLI_SOURCES.items():
        subcommands, options = set(), set()
        for source in sources:
            found, flags, _ = _cli(source)
            subcommands, options = subcommands | found, options | flags
        for command in _commands(module):
            seen += 1
            words = command.split()
            if not words or words[0] not in subcommands:
                wrong.append(f"python -m {module} {command}: no subcommand {words[:1]}")
            wrong += [
                f"python -m {module} {command}: no option {w}"
                for w in words
                if w.startswith("--") and w != "--help" and w.split("=")[0] not in options
            ]
    assert wrong == []
    assert seen >= 4, seen


def _makefile() -> str:
    return (ROOT / "Makefile").read_text()


def test_every_make_variable_named_is_used_with_a_valid_value() -> None:
    """``make demo IRODS_API_VERSION=0.5.0``, ``make live EXECUTOR=edge``, ``PYTEST_WORKERS=0``: each variable
    is one the Makefile reads, and a value the script it reaches accepts."""
    from irods_provider.testing._versions import API_VERSIONS

    makefile = _makefile()
    text = "\n".join(page.read_text() for page in PAGES)
    named = set(re.findall(r"\b([A-Z][A-Z_]+)=(\"[^\"]*\"|[\w.]+)", text))
    make_vars = {name for name, _ in named if f"$({name})" in makefile}
    assert {"IRODS_API_VERSION", "EXECUTOR", "PYTEST_WORKERS", "PYTEST_ARGS"} <= make_vars
    _, _, live_choices = _cli(ROOT / "scripts" / "live.py")
    executors = set(re.findall(r"\bEXECUTOR=(\w+)", text)) | set(
        re.findall(r"EXECUTOR=local \(default\), (\w+) or (\w+)", text)[0]
    )
    assert sorted(executors - set(live_choices["--executor"])) == []
    assert re.search(r"^EXECUTOR \?= local$", makefile, flags=re.M)  # "local (default)"
    lines = [line for line in text.splitlines() if "make demo IRODS_API_VERSION=" in line]
    versions = {v for line in lines for v in re.findall(r"\b\d+\.\d+\.\d+\b", line)}
    assert len(versions) >= 3, lines
    assert sorted(versions - set(API_VERSIONS)) == []


def test_every_option_a_make_recipe_passes_exists() -> None:
    """``python scripts/live.py --executor ... --clusters ...``: the recipe's script defines each option."""
    recipes = re.findall(r"python ((?:scripts|benchmarks)/[\w/]+\.py)([^\n]*)", _makefile())
    assert len(recipes) >= 4
    wrong = []
    for script, arguments in recipes:
        _, options, _ = _cli(ROOT / script)
        wrong += [f"{script} {o}" for o in re.findall(r"--[\w-]+", arguments) if o not in options]
    assert wrong == []


def _example_docstrings() -> dict[str, str]:
    return {
        path.stem: ast.get_docstring(ast.parse(path.read_text())) or ""
        for path in sorted((ROOT / "example_dags").glob("*.py"))
    }


def test_every_make_target_an_example_dag_names_runs_it() -> None:
    """ "Run it with ``make demo-basic``": the script of that target's recipe runs this DAG (``make live``
    runs several and is left out)."""
    makefile = _makefile()
    checked, wrong = 0, []
    for stem, doc in _example_docstrings().items():
        for target in set(re.findall(r"``make ([\w-]+)``", doc)) - {"live"}:
            recipe = re.search(rf"^{re.escape(target)}:.*\n\t[^\n]*python ([\w/]+\.py)", makefile, flags=re.M)
            checked += 1
            if recipe is None or stem not in (ROOT / recipe.group(1)).read_text():
                wrong.append(f"example_dags/{stem}.py: make {target} does not run it")
    assert wrong == []
    assert checked >= 1


def _declared_params(stem: str) -> set[str]:
    """The keys of the ``params={...}`` dict literal an example DAG declares."""
    tree = ast.parse((ROOT / "example_dags" / f"{stem}.py").read_text())
    return {
        key.value
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword) and node.arg == "params" and isinstance(node.value, ast.Dict)
        for key in node.value.keys
        if isinstance(key, ast.Constant)
    }


def test_every_param_an_example_dag_names_is_declared() -> None:
    """The trigger conf and ``params`` a docstring shows (``{"clusters": [...], "dataset": ...}``,
    ``cluster_queues``) are params the DAG declares."""
    checked, wrong = 0, []
    for stem, doc in _example_docstrings().items():
        declared = _declared_params(stem)
        if not declared:
            continue
        confs = re.findall(r"Trigger with ``(\{.*?\})``", doc, flags=re.S)
        named = {key for conf in confs for key in json.loads(" ".join(conf.split()))}
        named |= set(re.findall(r"``(\w+)`` maps\b", doc))
        checked += len(named)
        wrong += [f"example_dags/{stem}.py: {n}" for n in sorted(named - declared)]
    assert wrong == []
    assert checked >= 3, checked
