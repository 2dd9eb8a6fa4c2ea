"""One worker process of the refresh-token rotation test: renew N times from a shared configuration.

Run as ``python rotation_worker.py '<json>'``; prints one JSON line ``{"renewed": n, "errors": [...]}``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from irods_provider.client import (
    OpenId,
    OpenIdOptions,
    RefreshTokenGrant,
    SqliteTokenStore,
    build_token_source,
)
from irods_provider.exceptions import IrodsError


def _wait_for(path: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} did not appear within {seconds} s")
        time.sleep(0.005)


def main(raw: str) -> None:
    args = json.loads(raw)
    spec = OpenId(
        RefreshTokenGrant(args["refresh_token"]),
        OpenIdOptions(
            client_id=args["client_id"],
            client_secret=args["client_secret"],
            token_url=args["token_url"],
            allow_insecure_http=True,
        ),
    )
    store = SqliteTokenStore(args["store"]) if args["store"] else None
    source = build_token_source(spec, timeout=10.0, token_store=store)
    Path(args["ready"]).touch()
    _wait_for(Path(args["go"]), 20.0)
    renewed, errors, previous = 0, [], None
    for _ in range(args["renewals"]):
        try:
            previous = source.get_token(reject=previous)  # each call renews: the old token is "rejected"
            renewed += 1
        except IrodsError as error:
            errors.append(f"{type(error).__name__}: {error}")
    source.close()
    print(json.dumps({"renewed": renewed, "errors": errors}))


if __name__ == "__main__":
    main(sys.argv[1])
