"""CPU of an upload in a fresh process (as each Airflow task is) with and without the kept checksum scheme.

A fresh process knows no zone's checksum scheme before its first verification, so unless an earlier process
kept it (``client/transfer/_scheme_cache.py``) its first upload hashes MD5 as well as SHA-256. Each upload
runs in its own Python process against the emulator (a subprocess too); rounds interleave the cases.
Figures: ``cpu_upload_kept_over_not_kept`` (client CPU seconds, median of the rounds' ratios), with each
case's CPU seconds per GiB; ``cpu_upload_named_over_kept``: an upload naming a resource of the zone's one
scheme (kept per resource) against one naming none (the common case must cost no more); and
``cpu_upload_rehash_over_not_kept``: an upload to a resource whose server answers MD5 while only the zone's
SHA-256 was kept (the local file is hashed again, MD5 too). On a site whose policy puts uploads naming
no resource under ``archive`` on that MD5 resource (``serve --default-resource``), uploads alternate
between the home collection and ``archive``, each in a fresh process with both learned:
``cpu_upload_alternating_home_over_kept`` and ``cpu_upload_alternating_archive_over_kept`` (the archive's
must hash MD5 as well; a hint flipping with the zone's entry adds MD5 to the home uploads and a second
reading to the archive's).
Writes its section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _emulator import ROOT, emulator_process

MIB = 1024 * 1024
HOME = "/tempZone/home/rods"
_CHILD = """
import io, json, os, posixpath, sys, time
from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.client.transfer import TransferConfig, upload_object
base, source, target, resource = sys.argv[1:5]
config = TransferConfig(resource=resource or None)
with IrodsSession(base, auth=BasicAuth("rods", "rods-emulator")) as s:
    s.collections.create(posixpath.dirname(target), exist_ok=True)
    start = time.process_time()
    with open(source, "rb") as fh:
        upload_object(s, fh, target, size=os.path.getsize(source), config=config)
    print(json.dumps({"cpu": time.process_time() - start}))
"""


def _upload(base: str, source: Path, target: str, *, kept: bool, state: Path, resource: str = "") -> float:
    env = {**os.environ, "IRODS_PROVIDER_STATE_DIR": str(state)}
    env["IRODS_PROVIDER_CHECKSUM_SCHEME_CACHE"] = "on" if kept else "off"
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, base, str(source), target, resource],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["cpu"])


def run(size_mib: int, rounds: int) -> dict[str, object]:
    """``rounds`` interleaved fresh-process uploads of ``size_mib`` MiB per case (see the module doc)."""
    serve = (
        "--resource",
        "archiveResc",
        "--resource",
        "mixedResc",
        "--resource-hash-scheme",
        "mixedResc=md5",
        "--default-resource",
        f"{HOME}/archive=mixedResc",
    )
    with tempfile.TemporaryDirectory(prefix="scheme-cache-") as work, emulator_process(*serve) as base:
        source = Path(work) / "source.bin"
        with open(source, "wb") as fh:
            block = os.urandom(MIB)
            for _ in range(size_mib):
                fh.write(block)
        home = HOME
        zone_only = (
            Path(work) / "zone-only"
        )  # only the zone's SHA-256 kept: what each rehash round starts from
        _upload(base, source, f"{home}/zone.bin", kept=True, state=zone_only)
        state = Path(work) / "state"
        shutil.copytree(zone_only, state)
        _upload(base, source, f"{home}/learn.bin", kept=True, state=state, resource="archiveResc")
        _upload(base, source, f"{home}/archive/learn.bin", kept=True, state=state)
        _upload(base, source, f"{home}/learn-home.bin", kept=True, state=state)
        cases: dict[str, list[float]] = {"not_kept": [], "kept": [], "named": [], "rehash": []}
        cases.update(alternating_home=[], alternating_archive=[])
        for n in range(rounds):
            cases["not_kept"].append(_upload(base, source, f"{home}/off-{n}.bin", kept=False, state=state))
            cases["kept"].append(_upload(base, source, f"{home}/on-{n}.bin", kept=True, state=state))
            named = f"{home}/named-{n}.bin"
            cases["named"].append(
                _upload(base, source, named, kept=True, state=state, resource="archiveResc")
            )
            fresh = Path(work) / f"rehash-{n}"
            shutil.copytree(zone_only, fresh)
            mixed = f"{home}/mixed-{n}.bin"
            cases["rehash"].append(_upload(base, source, mixed, kept=True, state=fresh, resource="mixedResc"))
            for where in ("archive", "home"):
                target = f"{home}/archive/alt-{n}.bin" if where == "archive" else f"{home}/alt-{n}.bin"
                cases[f"alternating_{where}"].append(_upload(base, source, target, kept=True, state=state))
    return _figures(size_mib, rounds, cases)


def _figures(size_mib: int, rounds: int, cases: dict[str, list[float]]) -> dict[str, object]:
    gib = size_mib / 1024

    def ratio(top: str, bottom: str) -> list[float]:
        return [t / b for t, b in zip(cases[top], cases[bottom], strict=True)]

    result: dict[str, object] = {
        "size_mib": size_mib,
        "rounds": rounds,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    for name, (top, bottom) in {
        "kept_over_not_kept": ("kept", "not_kept"),
        "named_over_kept": ("named", "kept"),
        "rehash_over_not_kept": ("rehash", "not_kept"),
        "alternating_home_over_kept": ("alternating_home", "kept"),
        "alternating_archive_over_kept": ("alternating_archive", "kept"),
    }.items():
        ratios = ratio(top, bottom)
        result[f"cpu_upload_{name}"] = round(statistics.median(ratios), 3)
        result[f"cpu_upload_{name}_range"] = f"{min(ratios):.3f}-{max(ratios):.3f}"
    for case, seconds in cases.items():
        result[f"cpu_seconds_per_gib_{case}"] = round(statistics.median(seconds) / gib, 2)
    return result


def write_results(result: dict[str, object]) -> None:
    """Rewrite this benchmark's section of RESULTS.md."""
    path = ROOT / "benchmarks" / "RESULTS.md"
    text = path.read_text() if path.exists() else ""
    head, _, rest = text.partition("<!-- scheme_cache -->")
    _, _, tail = rest.partition("<!-- scheme_cache -->")
    rows = "\n".join(f"| `{k}` | {v} |" for k, v in result.items())
    section = (
        "<!-- scheme_cache -->\n## A fresh process's upload with the kept checksum scheme "
        "(`benchmarks/scheme_cache.py`)\n\n"
        f"Run {time.strftime('%Y-%m-%d')}. {__doc__.split(chr(10), 2)[2].strip()}\n\n"
        f"| figure | value |\n| --- | --- |\n{rows}\n<!-- scheme_cache -->"
    )
    if not rest:
        path.write_text(text.rstrip("\n") + "\n\n" + section + "\n")
    else:
        path.write_text(head + section + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="16 MiB, 2 rounds")
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-record", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    result = run(16, 2) if args.quick else run(args.size_mib, args.rounds)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    if not (args.quick or args.no_record):
        write_results(result)


if __name__ == "__main__":
    main()
