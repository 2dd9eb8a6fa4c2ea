"""Run the test OpenID provider: migrate, seed, serve on 127.0.0.1:0, print ``{"port": N}`` once ready.

Environment: OIDC_TEST_DB (sqlite file), OIDC_TEST_RSA_KEY_FILE (PEM), ACCESS_TOKEN_EXPIRE_SECONDS,
OIDC_TEST_EXTRA_USERS (a JSON object of more users and passwords, overriding the seeded ones).
"""

from __future__ import annotations

import json
import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 64


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _seed() -> None:
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_application_model

    from oidc_provider.constants import CLIENT_MODE_IDS, CLIENTS, ID_TOKEN_HMAC, USERS

    application = get_application_model()
    rs256, hs256 = application.RS256_ALGORITHM, application.HS256_ALGORITHM
    users = {**USERS, **json.loads(os.environ.get("OIDC_TEST_EXTRA_USERS") or "{}")}
    for name, password in users.items():
        get_user_model().objects.create_user(username=name, password=password)
    for client_id, (secret, grant_type) in CLIENTS.items():
        application.objects.create(
            name=client_id,
            client_id=client_id,
            client_secret=secret,
            hash_client_secret=False,
            client_type=application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=grant_type,
            algorithm=hs256 if client_id in ID_TOKEN_HMAC else rs256,
            # The client-mode clients' redirects are checked by client_mode.ClientModeValidator.
            skip_authorization=client_id in CLIENT_MODE_IDS,
        )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oidc_provider.settings")
    import django
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    _seed()
    app = get_wsgi_application()
    server = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_QuietHandler)
    sys.stdout.write(json.dumps({"port": server.server_port}) + "\n")
    sys.stdout.flush()
    server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
