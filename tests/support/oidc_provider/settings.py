"""Django settings of the test OpenID provider: sqlite in a temp dir, OIDC with an RSA key, short tokens."""

from __future__ import annotations

import os
from pathlib import Path

from oidc_provider.constants import access_token_seconds

SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "oidc_provider.urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
]
MIDDLEWARE = [
    "oidc_provider.views.TokenRequestCounter",
    # The authorization endpoint of the client-mode flow needs a logged-in browser session.
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
LOGIN_URL = "/test/login"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["OIDC_TEST_DB"],
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# PBKDF2 costs ~0.3 s per password grant; tests do not need a slow hash.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": True}

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": Path(os.environ["OIDC_TEST_RSA_KEY_FILE"]).read_text(),
    "SCOPES": {"openid": "OpenID Connect", "read": "Read", "write": "Write", "introspection": "Introspect"},
    "DEFAULT_SCOPES": ["openid", "read", "write"],
    "PKCE_REQUIRED": False,
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("ACCESS_TOKEN_EXPIRE_SECONDS", "300")),
    # Per client: the long-lived clients of constants.py outlive a test; every other client gets the above.
    "EXTRA_SERVER_KWARGS": {"token_expires_in": access_token_seconds},
    "ROTATE_REFRESH_TOKEN": True,
    # A used (rotated) refresh token is refused (invalid_grant): no grace period for concurrent use.
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    # With reuse protection, presenting a revoked refresh token also revokes its whole family (Keycloak's
    # "revoke refresh token"): one reuse ends the session.
    "REFRESH_TOKEN_REUSE_PROTECTION": os.environ.get("OIDC_REFRESH_TOKEN_REUSE_PROTECTION") == "1",
    "ACCESS_TOKEN_GENERATOR": "oidc_provider.tokens.access_token_generator",
    "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
    # The iRODS HTTP API's OpenID client mode (0.4.0/0.5.0) needs Keycloak's ways: client_mode.py.
    "OAUTH2_VALIDATOR_CLASS": "oidc_provider.client_mode.ClientModeValidator",
    "OIDC_SERVER_CLASS": "oidc_provider.client_mode.ClientModeServer",
}
