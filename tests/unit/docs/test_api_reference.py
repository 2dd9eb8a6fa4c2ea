"""The reference pages (docs/api/*.md, rendered from the docstrings' ``:param`` fields) match the code:
every documented argument exists, every default a docstring states is the signature's, every public
class is rendered, and the README's table of operators names classes where they are."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import BaseHook, BaseOperator
from airflow.triggers.base import BaseTrigger

from irods_provider import get_provider_info
from irods_provider._examples import accepted_keywords

ROOT = Path(__file__).resolve().parents[3]
#: Built by the deferrable sensors from the sensors' own (documented) arguments, never by a DAG author.
_AIRFLOW_BASES = (BaseOperator, BaseHook, BaseTrigger)
SENSOR_TRIGGERS = frozenset({"IrodsPathTrigger", "IrodsMetadataTrigger", "IrodsCollectionStableTrigger"})


def _listed_modules() -> list[str]:
    """Every module the provider info registers: operators, sensors, transfers, hooks and triggers."""
    info = get_provider_info()
    modules = [
        m
        for key in ("operators", "sensors", "hooks", "triggers")
        for e in info[key]
        for m in e["python-modules"]
    ]
    return sorted(set(modules) | {e["python-module"] for e in info["transfers"]})


def _classes() -> dict[str, type]:
    """Public classes (``__all__``) of the listed modules, by name, each once."""
    found: dict[str, type] = {}
    for module_name in _listed_modules():
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, _AIRFLOW_BASES):
                found.setdefault(name, obj)
    return found


def _inits(cls: type) -> dict[str, inspect.Parameter]:
    """The provider's own ``__init__`` arguments of ``cls``, its provider bases' included."""
    params: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None or not klass.__module__.startswith("irods_provider"):
            continue
        for p in inspect.signature(init).parameters.values():
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                params.setdefault(p.name, p)
    return params


def _documented(cls: type) -> dict[str, str]:
    """``:param name:`` fields of the class's docstring and their text, whitespace collapsed."""
    doc = inspect.cleandoc(vars(cls).get("__doc__") or "")
    fields = re.finditer(r"^:param (\w+):(.*?)(?=^:|\Z)", doc, flags=re.M | re.S)
    return {m.group(1): " ".join(m.group(2).split()) for m in fields}


CLASSES = _classes()


def test_the_classes_cover_every_layer() -> None:
    assert {
        "IrodsHook",
        "IrodsPathSensor",
        "IrodsPathEventTrigger",
        "IrodsMetadataEventTrigger",
        "SFTPToIrodsOperator",
        "LocalToIrodsOperator",
        "IrodsPublishOperator",
    } <= set(CLASSES)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_every_documented_argument_exists(name: str) -> None:
    cls = CLASSES[name]
    accepted = accepted_keywords(cls)
    assert accepted is not None
    assert sorted(set(_documented(cls)) - accepted) == [], f"{name} documents arguments it does not take"


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_every_argument_is_documented(name: str) -> None:
    """Operators, sensors and transfers are also checked, inherited arguments included, by test_documented;
    this adds the hook and the triggers (the event triggers a DAG author builds, the ones sensors and custom
    operators defer to)."""
    cls = CLASSES[name]
    missing = sorted(set(_inits(cls)) - set(_documented(cls)))
    assert missing == [], f"{name} does not document {missing}"


_UNITS = {"KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def _stated_default(text: str) -> tuple[bool, Any]:
    """The literal a ``(default X`` in a field states: a number (``1,000``, ``48 KiB``), a boolean, None or a
    ````quoted```` string; (False, None) when it states none or in words."""
    m = re.search(r"\(default:? (``[^`]*``|[\w.,]+(?: [KMG]iB)?)[;,)]", text)
    if m is None:
        return False, None
    word = m.group(1)
    if word.startswith("``"):
        return True, word.strip("`")
    if word in ("True", "False", "None"):
        return True, {"True": True, "False": False, "None": None}[word]
    number = re.fullmatch(r"(\d[\d,]*(?:\.\d+)?)(?: ([KMG]iB))?", word)
    if number is None:
        return False, None
    value = float(number.group(1).replace(",", ""))
    value *= _UNITS.get(number.group(2) or "", 1)
    return True, int(value) if value.is_integer() else value


def test_every_stated_default_is_the_signatures() -> None:
    checked, wrong = 0, []
    for name, cls in sorted(CLASSES.items()):
        params = _inits(cls)
        for arg, text in _documented(cls).items():
            stated, value = _stated_default(text)
            if not stated or arg not in params or params[arg].default is inspect.Parameter.empty:
                continue
            checked += 1
            if params[arg].default != value:
                wrong.append(f"{name}({arg}=...): documented {value!r}, signature {params[arg].default!r}")
    assert wrong == []
    assert checked >= 30, checked  # a pattern that stops matching must not pass vacuously


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("budget in XCom (default 48 KiB).", (True, 49152)),
        ("at most this many (default 1,000); past it", (True, 1000)),
        ("create parents (default True, like ``mkdir -p``)", (True, True)),
        ("the connection (default ``irods_default``).", (True, "irods_default")),
        ("minimum age (default one day; must exceed)", (False, None)),
    ],
)
def test_stated_defaults_are_read(text: str, expected: tuple[bool, Any]) -> None:
    assert _stated_default(text) == expected


def _rendered() -> set[str]:
    """Modules and objects the reference pages render (``::: target`` directives)."""
    pages = (ROOT / "docs" / "api").glob("*.md")
    return {t for page in pages for t in re.findall(r"^::: ([\w.]+)", page.read_text(), flags=re.M)}


def _exports(target: str) -> tuple[str, ...]:
    """``__all__`` of a rendered module (nothing for a rendered class)."""
    try:
        return tuple(getattr(importlib.import_module(target), "__all__", ()))
    except ModuleNotFoundError:
        return ()


def test_every_public_class_is_rendered_where_users_import_it() -> None:
    """Each class of a listed module is rendered from that module (or a re-exporting one), and each
    transfer from its own module under irods_provider.transfers, not only from an old home."""
    rendered = _rendered()
    missing = []
    for module_name in _listed_modules():
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not inspect.isclass(obj) or name not in CLASSES:
                continue
            homes = {t for t in rendered if name in _exports(t)}
            if f"{module_name}.{name}" not in rendered and not homes:
                missing.append(f"{module_name}.{name}")
    transfers = {m for m in _listed_modules() if m.startswith("irods_provider.transfers.")}
    missing += sorted(transfers - rendered)
    assert missing == []


def _operator_table() -> dict[str, set[str]]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Operators and sensors") :]
    rows = re.findall(
        r"^\| `(irods_provider\.[\w.]+)` \| (.*) \|$", section[: section.index("\n\n", 30)], re.M
    )
    return {module: set(re.findall(r"`(Irods\w+)`", cells)) for module, cells in rows}


def test_the_readme_table_names_classes_where_they_are() -> None:
    table = _operator_table()
    assert len(table) >= 6
    wrong = [
        f"{module}.{name}"
        for module, names in table.items()
        for name in names
        if name not in _exports(module)
    ]
    assert wrong == []
    readme = (ROOT / "README.md").read_text()
    unnamed = sorted(n for n in CLASSES if n.endswith(("Operator", "Sensor")) and f"`{n}`" not in readme)
    assert unnamed == []


def test_every_default_the_readme_states_is_a_signatures() -> None:
    """An argument the README gives a default for (`max_seen` paths (default 10,000 ...)) has it in a class
    taking it (an argument whose default is None, the engine's choice, is left out)."""
    defaults: dict[str, set[Any]] = {}
    for cls in CLASSES.values():
        for arg, p in _inits(cls).items():
            if p.default is not inspect.Parameter.empty:
                defaults.setdefault(arg, set()).add(p.default)
    text = " ".join((ROOT / "README.md").read_text().split())
    pattern = r"`(\w+)`[^`.;:]{0,25}?\(?(default:? (?:[\d,]+(?:\.\d+)?(?: [KMG]iB)?|True|False|None))[;,): ]"
    checked, wrong = 0, []
    for arg, stated in re.findall(pattern, text):
        if arg not in defaults or None in defaults[arg]:
            continue
        _, value = _stated_default(f"({stated})")
        checked += 1
        if value not in defaults[arg]:
            wrong.append(f"README: `{arg}` ({stated}); the signatures say {sorted(map(repr, defaults[arg]))}")
    assert wrong == []
    assert checked >= 4, checked
