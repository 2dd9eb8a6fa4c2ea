"""Test-only views: discovery listing introspection/revocation, richer introspection, a counter."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import ConnectDiscoveryInfoView, IntrospectTokenView

_lock = threading.Lock()
_token_requests: Counter[str] = Counter()


class TokenRequestCounter:
    """Counts POSTs to the token endpoint by grant type (read at /test/stats)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path == reverse("oauth2_provider:token"):
            grant = request.POST.get("grant_type", "?")
            with _lock:
                _token_requests["total"] += 1
                _token_requests[grant] += 1
        return self.get_response(request)


def stats(request: HttpRequest) -> JsonResponse:
    """Token requests counted since start: ``{"total": n, "<grant_type>": n, ...}``."""
    with _lock:
        return JsonResponse(dict(_token_requests))


class DiscoveryView(ConnectDiscoveryInfoView):
    """DOT's OpenID discovery plus introspection and revocation endpoints (the iRODS server needs them)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data["introspection_endpoint"] = request.build_absolute_uri(reverse("oauth2_provider:introspect"))
        data["revocation_endpoint"] = request.build_absolute_uri(reverse("oauth2_provider:revoke-token"))
        data["grant_types_supported"] = ["client_credentials", "password", "refresh_token"]
        return JsonResponse(data)


class RichIntrospectView(IntrospectTokenView):
    """DOT's RFC 7662 answer plus ``iss``, ``sub``, ``preferred_username`` (Keycloak-like)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        data = json.loads(response.content)
        if data.get("active"):
            data["iss"] = oauth2_settings.oidc_issuer(request)
            username = data.get("username") or f"service-account-{data.get('client_id')}"
            data["preferred_username"] = username
            data["sub"] = username
        return JsonResponse(data, status=response.status_code)
