"""MkDocs hooks: pages built from the code and the repository's own files, so the site cannot drift from them.

Directives in a page's Markdown (HTML comments, invisible if a directive is left unexpanded on GitHub):

* ``<!-- connection-fields -->``: the ``irods`` connection form, field by field, from ``_provider_info``.
* ``<!-- readme: Heading -->``: the README's ``## Heading`` section (links into the repository become text).
* ``<!-- file: PATH [shift] -->``: a repository file without its title (``shift``: headings one level down).

Before the build, every module the provider declares to Airflow must import (an API page of a module that
fails to import would otherwise render empty), and every public class's docstring example must be sound:
it compiles, its imports resolve, every name it uses is imported or assigned, and every call to an imported
class or function passes only arguments it accepts (``irods_provider._examples``; a block that only builds
operators, sensors, triggers or assets runs whole).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[1]
_DIRECTIVE = re.compile(r"<!-- (connection-fields|readme: [^>]+?|file: [^>]+?) -->")
_LOCAL_LINK = re.compile(r"\[([^\]]+)\]\((?!https?://)([^)]+)\)")


def _modules() -> list[str]:
    from irods_provider import get_provider_info

    info = get_provider_info()
    modules = [
        m
        for key in ("hooks", "operators", "sensors", "triggers")
        for e in info[key]
        for m in e["python-modules"]
    ]
    modules += [t["python-module"] for t in info["transfers"]] + list(info["filesystems"])
    return modules


def _check_examples() -> None:
    from irods_provider._examples import check_example, example_of, public_classes

    failures: list[str] = []
    for name, cls in public_classes().items():
        code = example_of(cls)
        if code is None:
            failures.append(f"{name}: no 'Example:' block (a fenced python block before the :param fields)")
            continue
        failures += [f"{name}: {problem}" for problem in check_example(code)]
    if failures:
        raise PluginError("docstring examples:\n  " + "\n  ".join(failures))


def on_pre_build(config: Any) -> None:
    """Fail the build when a declared module does not import or a public class's example is unsound."""
    for module in _modules():
        importlib.import_module(module)
    _check_examples()


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _connection_fields() -> str:
    from irods_provider._provider_info import PLACEHOLDERS, SECTIONS, _conn_fields

    lines = ["### Standard fields", "", "| Field | What it holds (the form's placeholder) |", "|---|---|"]
    titles = {"host": "Host", "port": "Port", "schema": "Protocol (`schema`)", "login": "Username (`login`)"}
    for name, placeholder in PLACEHOLDERS.items():
        lines.append(f"| {titles.get(name, name.title())} | {_cell(placeholder)} |")
    fields = _conn_fields()
    for section in SECTIONS:
        lines += ["", f"### {section}", "", "| Extra | Label | Default | What it does |", "|---|---|---|---|"]
        for key, spec in fields.items():
            schema = spec["schema"]
            if schema["section"] != section:
                continue
            default = schema.get("default")
            shown = (
                ""
                if default is None
                else f"`{str(default).lower() if isinstance(default, bool) else default}`"
            )
            text = spec["description"]
            if "values_display" in schema:
                text += " Values: " + ", ".join(
                    f"`{v}` ({label})" for v, label in schema["values_display"].items()
                )
            lines.append(f"| `{key}` | {_cell(spec['label'])} | {shown} | {_cell(text)} |")
    return "\n".join(lines)


def _readme_section(heading: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    if match is None:
        raise ValueError(f"README.md has no section '## {heading}'")
    section = re.sub(r"^!\[[^\]]*\]\([^)]*\)\n", "", match.group(1), flags=re.M)  # images live outside docs/
    return _LOCAL_LINK.sub(
        lambda m: f"{m.group(1)} (`{m.group(2)}`)" if not m.group(2).startswith("#") else m.group(1),
        section,
    )


def _file(argument: str) -> str:
    path, _, option = argument.partition(" ")
    text = (ROOT / path).read_text(encoding="utf-8")
    text = re.sub(r"\A# .*\n", "", text)
    if option == "shift":
        text = re.sub(r"^(#+) ", r"#\1 ", text, flags=re.M)
    return text


def _expand(match: re.Match[str]) -> str:
    directive = match.group(1)
    if directive == "connection-fields":
        return _connection_fields()
    kind, _, argument = directive.partition(": ")
    return _readme_section(argument.strip()) if kind == "readme" else _file(argument.strip())


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Expand the directives of a page."""
    return _DIRECTIVE.sub(_expand, markdown)
