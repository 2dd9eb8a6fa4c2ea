"""URLs: DOT under /o/ (issuer http://127.0.0.1:PORT/o), with test overrides and /test/stats."""

from __future__ import annotations

from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from oidc_provider import client_mode, views

urlpatterns = [
    re_path(r"^o/\.well-known/openid-configuration/?$", views.DiscoveryView.as_view()),
    path("o/introspect/", csrf_exempt(views.RichIntrospectView.as_view())),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("test/stats", views.stats),
    path("test/login", client_mode.login_page),
]
