"""``serve``'s OpenID client-mode options: the ``openid_connect`` stanza (``"mode": "client"``) of a
0.4.0/0.5.0 server as flags, turned into ``EmulatorConfig(openid_client=...)``; refused for releases
without the mode."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from irods_provider.testing._config import (
    client_mode_mapping_refusal,
    client_mode_refusal,
    client_mode_secret_refusal,
)
from irods_provider.testing._openid_client import MappingFileMapper, OpenIdClientMode, id_token_key
from irods_provider.testing._versions import VersionProfile, profile_for

__all__ = ["SECRET_ENV", "add_openid_client_arguments", "openid_client_from_args"]

#: Environment variable read for the client secret when ``--openid-client-secret`` is not given.
SECRET_ENV = "IRODS_EMULATOR_OPENID_CLIENT_SECRET"

_OPTIONS = (
    "openid_client_id",
    "openid_client_secret",
    "openid_client_redirect_uri",
    "openid_client_id_token_secret",
    "openid_client_user_claim",
    "openid_client_user_attribute_mapping",
    "openid_client_user_mapping_file",
)


def add_openid_client_arguments(serve: argparse.ArgumentParser) -> None:
    """The client-mode flags; each names the server's configuration key it stands for."""
    group = serve.add_argument_group(
        "OpenID client mode (HTTP API 0.4.0 and 0.5.0 only; 0.6.0 removed it)",
        "The server runs the provider's grants itself: POST /authenticate with 'Authorization: iRODS "
        "base64(user:password)' (the password grant), or a browser sent to the provider by GET "
        "/authenticate; it answers with its own token. The zone user is the ID token's "
        "--openid-client-user-claim (default preferred_username), or the first user, by name, whose claims "
        "in the mapping all match.",
    )
    group.add_argument(
        "--openid-client-provider",
        metavar="URL",
        help="provider_url: the issuer (or its discovery URL); enables client mode",
    )
    group.add_argument("--openid-client-id", metavar="ID", help="client_id registered at the provider")
    group.add_argument(
        "--openid-client-secret",
        metavar="SECRET",
        help=f"client_secret (a confidential client; also read from ${SECRET_ENV}); also the key of "
        "HS-signed ID tokens when --openid-client-id-token-secret is not given",
    )
    group.add_argument(
        "--openid-client-redirect-uri",
        metavar="URI",
        help="redirect_uri sent to the provider (default: this server's own /authenticate URL)",
    )
    mapping = group.add_mutually_exclusive_group()
    mapping.add_argument(
        "--openid-client-user-claim",
        metavar="CLAIM",
        help="the ID-token claim naming the zone user (0.4.0 irods_user_claim, 0.5.0 the user_claim "
        "plugin's; default preferred_username)",
    )
    mapping.add_argument(
        "--openid-client-user-attribute-mapping",
        metavar="JSON",
        help='0.4.0 only: user_attribute_mapping, e.g. \'{"alice": {"email": "alice@example.org"}}\'',
    )
    mapping.add_argument(
        "--openid-client-user-mapping-file",
        metavar="PATH",
        help="0.5.0 only: the local_file plugin's file_path, a JSON file of the same shape, read again "
        "when it changes",
    )
    group.add_argument(
        "--openid-client-id-token-secret",
        metavar="BASE64URL",
        help="nonstandard_id_token_secret (0.5.0): the base64url-encoded key of HS256/384/512 ID tokens",
    )
    group.add_argument(
        "--openid-client-state-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="state_timeout_in_seconds: how long a browser login may take (default 600)",
    )


def openid_client_from_args(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> OpenIdClientMode | None:
    """The client mode the flags ask for, or None; ``parser.error`` (exit 2) for a refused combination,
    before the provider is asked anything."""
    secret = args.openid_client_secret or os.environ.get(SECRET_ENV) or None
    if args.openid_client_provider is None:
        given = [f"--{name.replace('_', '-')}" for name in _OPTIONS if getattr(args, name) is not None]
        if given:
            parser.error(f"{', '.join(given)} need --openid-client-provider (OpenID client mode)")
        return None
    if args.openid_client_id is None:
        parser.error("--openid-client-provider needs --openid-client-id")
    profile = profile_for(args.api_version)
    refusal = client_mode_refusal(profile, hint="use --api-version 0.4.0 or 0.5.0")
    if refusal is None and args.openid_client_id_token_secret is not None:
        refusal = client_mode_secret_refusal(profile)
    if refusal is not None:
        parser.error(refusal)
    try:
        id_token_key(args.openid_client_id_token_secret, secret)
    except ValueError as error:
        parser.error(f"--openid-client-id-token-secret: {error}")
    mapping = _user_mapping(parser, args, profile)
    try:
        return OpenIdClientMode(
            args.openid_client_provider,
            client_id=args.openid_client_id,
            client_secret=secret,
            nonstandard_id_token_secret=args.openid_client_id_token_secret,
            redirect_uri=args.openid_client_redirect_uri,
            timeout_in_seconds=args.token_lifetime,
            state_timeout_in_seconds=args.openid_client_state_timeout,
            **mapping,
        )
    except Exception as error:  # discovery: connection, HTTP status, JSON or missing keys
        parser.error(
            f"--openid-client-provider {args.openid_client_provider}: no usable discovery document "
            f"({type(error).__name__}: {error})"
        )


def _user_mapping(
    parser: argparse.ArgumentParser, args: argparse.Namespace, profile: VersionProfile
) -> dict[str, Any]:
    """``OpenIdClientMode``'s mapping argument from the flags; exit 2 for a key ``profile``'s config lacks,
    a mapping that is not a JSON object of objects (0.4.0's schema: core/src/main.cpp:264-270 at 0.4.0) or
    a mapping file the server could not read at start (local_file.cpp:39-51 at 0.5.0)."""
    path, inline = args.openid_client_user_mapping_file, args.openid_client_user_attribute_mapping
    if path is None and inline is None:
        return {"user_claim": args.openid_client_user_claim or "preferred_username"}
    flag = f"--openid-client-user-{'mapping-file' if path is not None else 'attribute-mapping'}"
    refusal = client_mode_mapping_refusal(profile, mapping_file=path is not None)
    if refusal is not None:
        parser.error(f"{flag}: {refusal}")
    if path is not None:
        try:
            MappingFileMapper(path)
        except (OSError, ValueError) as error:
            parser.error(f"{flag}: the server cannot read its mapping ({type(error).__name__}: {error})")
        return {"user_mapping_file": path}
    try:
        mapping = json.loads(inline)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not mapping or not all(isinstance(v, dict) for v in mapping.values()):
        parser.error(f"{flag}: a JSON object of zone user -> object of claims, with one user at least")
    return {"user_mapping": mapping}
