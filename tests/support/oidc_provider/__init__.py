"""A tiny django-oauth-toolkit OpenID provider for tests (run in a subprocess by ``harness``)."""
