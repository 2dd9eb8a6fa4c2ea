"""Reading InfluxDB-style StatsD lines (``name,k=v,...:value|c`` / ``|ms``): counter totals by tag set and
timers, for the StatsD tests (a UDP listener in the test process, and the live deployment's)."""

from __future__ import annotations

from collections import Counter

Totals = Counter[tuple[str, frozenset[tuple[str, str]]]]


def totals(lines: list[str]) -> Totals:
    """Counter totals by (name, tags) from InfluxDB-style StatsD lines ``name,k=v,...:value|c``."""
    found: Totals = Counter()
    for line in lines:
        head, _, rest = line.partition(":")
        value, _, kind = rest.partition("|")
        if kind != "c":
            continue
        name, *tags = head.split(",")
        found[(name, frozenset((k, v) for k, _, v in (t.partition("=") for t in tags)))] += int(value)
    return found


def total(found: Totals, name: str, **tags: str) -> int:
    """Sum of the counter ``name`` over every tag set that includes ``tags``."""
    wanted = set(tags.items())
    return sum(n for (metric, have), n in found.items() if metric == name and wanted <= have)


def timers(lines: list[str], name: str) -> list[tuple[float, dict[str, str]]]:
    """(milliseconds, tags) of every timer line ``name,k=v,...:value|ms``."""
    found = []
    for line in lines:
        head, _, rest = line.partition(":")
        value, _, kind = rest.partition("|")
        metric, *tags = head.split(",")
        if kind == "ms" and metric == name:
            found.append((float(value), {k: v for k, _, v in (t.partition("=") for t in tags)}))
    return found
