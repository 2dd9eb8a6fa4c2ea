"""Issue 18, "sound today": triggers and templated fields carry no secret (stored, shown in the UI).

Trigger kwargs are written to the metadata database and templated fields are rendered in the UI, unmasked
for values Airflow does not know to be secret: neither may take a password, token, secret or ticket.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import irods_provider.operators
import irods_provider.sensors
import irods_provider.transfers
import irods_provider.triggers

SECRETISH = re.compile(r"password|secret|token|ticket|credential|private_key", re.IGNORECASE)


def _classes(package: object) -> list[type]:
    found: list[type] = []
    path = package.__path__  # type: ignore[attr-defined]
    for info in pkgutil.iter_modules(path, package.__name__ + "."):  # type: ignore[attr-defined]
        module = importlib.import_module(info.name)
        found += [
            c for _, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == module.__name__
        ]
    return found


def test_trigger_payloads_hold_no_secret_parameter() -> None:
    triggers = [c for c in _classes(irods_provider.triggers) if hasattr(c, "serialize")]
    assert len(triggers) >= 3
    for trigger in triggers:
        names = list(inspect.signature(trigger.__init__).parameters)
        assert not [n for n in names if SECRETISH.search(n)], (trigger.__name__, names)


def test_templated_fields_hold_no_secret() -> None:
    checked = 0
    for package in (irods_provider.operators, irods_provider.sensors, irods_provider.transfers):
        for cls in _classes(package):
            fields = getattr(cls, "template_fields", None)
            if not fields:
                continue
            checked += 1
            assert not [f for f in fields if SECRETISH.search(f)], (cls.__name__, fields)
    assert checked >= 5
