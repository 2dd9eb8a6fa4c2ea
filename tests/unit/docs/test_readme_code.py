"""What the README and the docs pages tell users to type exists: code blocks, calls quoted inline, make
targets, the emulator's command-line options and repository paths."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from irods_provider._examples import accepted_keywords, check_example, public_classes

ROOT = Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", ROOT / "tests" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _text(page: Path) -> str:
    return page.read_text()


def _prose(page: Path) -> str:
    """The page without its fenced blocks, so that inline backticks pair up."""
    return re.sub(r"```.*?```", "", _text(page), flags=re.S)


def _python_blocks() -> list[tuple[str, str]]:
    return [
        (f"{page.relative_to(ROOT)}:{_text(page)[: m.start()].count(chr(10)) + 1}", m.group(1))
        for page in PAGES
        for m in re.finditer(r"```python\n(.*?)```", _text(page), flags=re.S)
    ]


BLOCKS = _python_blocks()


@pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_every_python_block_is_sound(where: str, code: str) -> None:
    """Imports resolve, every name is imported or assigned, every keyword is accepted (blocks that only
    build operators, sensors, triggers or assets run whole)."""
    assert check_example(code) == [], where


def _targets() -> dict[str, Any]:
    """What an inline call's name or ``owner.method`` may stand for, as users meet it in the README."""
    from irods_provider.client import (
        Collections,
        DataObjects,
        Metadata,
        OutcomeWait,
        Query,
        Tickets,
        build_token_source,
    )
    from irods_provider.testing import EmulatorConfig, EmulatorServer
    from irods_provider.testing._openid import OpenIdIntrospectionValidator

    targets: dict[str, Any] = {name.rpartition(".")[2]: cls for name, cls in public_classes().items()}
    targets |= {"OutcomeWait": OutcomeWait, "EmulatorConfig": EmulatorConfig}
    targets |= {
        "build_token_source": build_token_source,
        "OpenIdIntrospectionValidator": OpenIdIntrospectionValidator,
    }
    groups = {"collections": Collections, "data_objects": DataObjects, "metadata": Metadata, "query": Query}
    groups |= {"tickets": Tickets, "server": EmulatorServer, "irods_emulator": EmulatorServer}
    for owner, cls in groups.items():
        targets |= {f"{owner}.{n}": getattr(cls, n) for n in dir(cls) if not n.startswith("_")}
    for cls in (Collections, DataObjects):  # a method quoted without its group
        targets |= {n: getattr(cls, n) for n in dir(cls) if not n.startswith("_") and n not in targets}
    return targets


def _inline_calls() -> list[tuple[str, str, set[str]]]:
    """``(page, callee, keywords)`` of every call quoted in backticks that parses as Python."""
    calls = []
    for page in PAGES:
        for span in re.findall(r"`([A-Za-z_][\w.]*\([^`]*\))`", _prose(page)):
            try:
                tree = ast.parse(" ".join(span.split()), mode="eval")
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and node.keywords:
                    name = ast.unparse(node.func).split(".")
                    callee = ".".join(name[-2:]) if len(name) > 1 else name[0]
                    calls.append((page.name, callee, {k.arg for k in node.keywords if k.arg}))
    return calls


def test_every_keyword_of_an_inline_call_is_accepted() -> None:
    targets = _targets()
    checked, wrong = 0, []
    for page, callee, keywords in _inline_calls():
        target = targets.get(callee)
        if target is None:
            continue
        accepted = accepted_keywords(target)
        checked += 1
        if accepted is not None and keywords - accepted:
            wrong.append(f"{page}: {callee}() does not accept {sorted(keywords - accepted)}")
    assert wrong == []
    assert checked >= 20, checked  # the README quotes far more: a broken pattern must not pass vacuously


def test_every_make_target_named_exists() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", makefile, flags=re.M))
    named = {(p.name, t) for p in PAGES for t in re.findall(r"`make ([a-z][\w-]*)", _text(p))}
    assert len(named) >= 10
    assert sorted(f"{page}: make {t}" for page, t in named if t not in targets) == []


def test_every_emulator_option_named_exists() -> None:
    from irods_provider.testing._cli import _parser

    parser = _parser()
    serve = parser._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    options = {o for action in serve._actions for o in action.option_strings}
    readme = _prose(ROOT / "README.md")
    heading = "## The emulator, for your own tests"
    section = readme[readme.index(heading) : readme.index("\n## ", readme.index(heading) + 1)]
    commands = re.findall(r"irods_provider\.testing serve[^\n`]*", _text(ROOT / "README.md"))
    commands += [s for s in re.findall(r"`([^`]+)`", readme) if s.split()[:1] == ["serve"]]
    commands += [s for s in re.findall(r"`([^`]+)`", section) if s.startswith("--")]
    named = {option for command in commands for option in re.findall(r"--[a-z][\w-]+", command)}
    assert len(named) >= 15
    assert sorted(named - options) == []


def test_every_repository_path_named_exists() -> None:
    pattern = r"`((?:tests|benchmarks|scripts|irods_provider|example_dags|docs|images)/[\w./-]*[\w/])`"
    named = {(p.name, m) for p in PAGES for m in re.findall(pattern, _text(p))}
    assert len(named) >= 15
    assert sorted(f"{page}: {path}" for page, path in named if not (ROOT / path).exists()) == []
