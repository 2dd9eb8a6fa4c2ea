"""Docstrings that list every argument: a public operator's ``:param:`` fields include its bases' ones.

The provider's bases document their own arguments once (``irods_conn_id``, the transfer options, ...); each
public subclass gets the entries it does not write itself appended under "Arguments shared with ...", so
``help(SFTPToIrodsOperator)`` and the rendered API docs show every argument the class accepts.
"""

from __future__ import annotations

import inspect
import re

__all__ = ["inherit_param_docs", "param_docs"]

_PARAM = re.compile(r"^:param (\w+):")


def param_docs(doc: str | None) -> dict[str, str]:
    """The ``:param name:`` entries of a docstring (continuation lines included), by argument name."""
    entries: dict[str, str] = {}
    name: str | None = None
    for line in inspect.cleandoc(doc or "").splitlines():
        match = _PARAM.match(line)
        if match:
            name = match.group(1)
            entries[name] = line
        elif name is not None and line.startswith((" ", "\t")) and line.strip():
            entries[name] += "\n" + line
        else:
            name = None
    return entries


def inherit_param_docs(cls: type) -> None:
    """Append to ``cls.__doc__`` the ``:param:`` entries its provider bases document and it does not."""
    own = param_docs(cls.__doc__)
    inherited: dict[str, str] = {}
    for base in cls.__mro__[1:]:
        if not base.__module__.startswith("irods_provider"):
            continue
        for name, text in param_docs(vars(base).get("__doc__")).items():
            if name not in own and name not in inherited:
                inherited[name] = text
    if not inherited:
        return
    body = inspect.cleandoc(cls.__doc__ or cls.__name__)
    cls.__doc__ = (
        body + "\n\nArguments shared with other iRODS operators:\n\n" + "\n".join(inherited.values())
    )
