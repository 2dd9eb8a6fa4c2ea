"""``serve``'s OpenID client-mode options: the ``openid_connect`` stanza (``"mode": "client"``) of a
0.4.0/0.5.0 server as flags, turned into ``EmulatorConfig(openid_client=...)``; refused for releases
without the mode."""

from __future__ import annotations

import argparse
import os

from irods_provider.testing._config import client_mode_refusal, client_mode_secret_refusal
from irods_provider.testing._openid_client import OpenIdClientMode, id_token_key
from irods_provider.testing._versions import profile_for

__all__ = ["SECRET_ENV", "add_openid_client_arguments", "openid_client_from_args"]

#: Environment variable read for the client secret when ``--openid-client-secret`` is not given.
SECRET_ENV = "IRODS_EMULATOR_OPENID_CLIENT_SECRET"

_OPTIONS = (
    "openid_client_id",
    "openid_client_secret",
    "openid_client_redirect_uri",
    "openid_client_id_token_secret",
)


def add_openid_client_arguments(serve: argparse.ArgumentParser) -> None:
    """The client-mode flags; each names the server's configuration key it stands for."""
    group = serve.add_argument_group(
        "OpenID client mode (HTTP API 0.4.0 and 0.5.0 only; 0.6.0 removed it)",
        "The server runs the provider's grants itself: POST /authenticate with 'Authorization: iRODS "
        "base64(user:password)' (the password grant), or a browser sent to the provider by GET "
        "/authenticate; it answers with its own token. The user is the value of --openid-client-user-claim.",
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
    group.add_argument(
        "--openid-client-user-claim",
        default="preferred_username",
        metavar="CLAIM",
        help="the ID-token claim naming the zone user (user_claim plugin; default preferred_username)",
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
    try:
        return OpenIdClientMode(
            args.openid_client_provider,
            client_id=args.openid_client_id,
            client_secret=secret,
            nonstandard_id_token_secret=args.openid_client_id_token_secret,
            redirect_uri=args.openid_client_redirect_uri,
            user_claim=args.openid_client_user_claim,
            timeout_in_seconds=args.token_lifetime,
            state_timeout_in_seconds=args.openid_client_state_timeout,
        )
    except Exception as error:  # discovery: connection, HTTP status, JSON or missing keys
        parser.error(
            f"--openid-client-provider {args.openid_client_provider}: no usable discovery document "
            f"({type(error).__name__}: {error})"
        )
