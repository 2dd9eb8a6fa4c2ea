"""What users read is complete: every operator and sensor argument (inherited too) and every extra."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from airflow.sdk import BaseOperator, BaseSensorOperator

from irods_provider import get_provider_info

ROOT = Path(__file__).resolve().parents[3]


def _listed_modules() -> set[str]:
    info = get_provider_info()
    listed = {m for section in ("operators", "sensors") for e in info[section] for m in e["python-modules"]}
    return listed | {e["python-module"] for e in info["transfers"]}


def _public_classes() -> dict[str, list[type]]:
    """Public operator and sensor classes by the public module defining them."""
    found: dict[str, list[type]] = {}
    for package_name in ("irods_provider.operators", "irods_provider.sensors", "irods_provider.transfers"):
        package = importlib.import_module(package_name)
        for module_info in pkgutil.iter_modules(package.__path__):
            if module_info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{package_name}.{module_info.name}")
            for name, obj in vars(module).items():
                if (
                    inspect.isclass(obj)
                    and not name.startswith("_")
                    and issubclass(obj, BaseOperator)
                    and obj.__module__ == module.__name__
                ):
                    found.setdefault(module.__name__, []).append(obj)
    return found


def _own_arguments(cls: type) -> set[str]:
    """Keyword arguments of ``cls.__init__`` and of every provider base up the MRO (Airflow's excluded)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass in (BaseOperator, BaseSensorOperator) or not klass.__module__.startswith("irods_provider"):
            continue
        init = vars(klass).get("__init__")
        if init is None:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                names.add(p.name)
    return names


CLASSES = [cls for classes in _public_classes().values() for cls in classes]


def test_every_module_with_operators_is_registered_with_airflow() -> None:
    names = {c.__name__ for c in CLASSES}
    assert {
        "IrodsPathSensor",
        "SFTPToIrodsOperator",
        "IrodsCreateCollectionOperator",
        "IrodsQueryOperator",
    } <= names
    assert sorted(set(_public_classes()) - _listed_modules()) == []


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_argument_is_documented_on_the_public_class(cls: type) -> None:
    doc = cls.__doc__ or ""
    documented = set(re.findall(r":param (\w+):", doc))
    missing = sorted(_own_arguments(cls) - documented)
    assert missing == [], f"{cls.__name__} does not document {missing}"


def test_every_connection_extra_is_in_the_readme() -> None:
    from irods_provider.hooks._connection import EXTRA_DEFAULTS

    readme = (ROOT / "README.md").read_text()
    rows = set(re.findall(r"^\| `(\w+)`(?: / `(\w+)`)?", readme, flags=re.M))
    in_table = {name for row in rows for name in row if name}
    assert sorted(set(EXTRA_DEFAULTS) - in_table) == []
