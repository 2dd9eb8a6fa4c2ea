"""Test-only views: discovery listing introspection/revocation, richer introspection, a counter."""

from __future__ import annotations

import hashlib
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


_presented_refresh_tokens: set[str] = set()


class TokenRequestCounter:
    """Counts POSTs to the token endpoint by grant type (read at /test/stats).

    Also ``refresh_token_reuse`` (a refresh token presented a second time: reuse is counted at the
    provider, not by the client's word) and ``<grant>_<error>`` for refused requests
    (``refresh_token_invalid_grant``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or request.path != reverse("oauth2_provider:token"):
            return self.get_response(request)
        grant = request.POST.get("grant_type", "?")
        presented = request.POST.get("refresh_token") if grant == "refresh_token" else None
        with _lock:
            _token_requests["total"] += 1
            _token_requests[grant] += 1
            if presented:
                digest = hashlib.sha256(presented.encode()).hexdigest()
                if digest in _presented_refresh_tokens:
                    _token_requests["refresh_token_reuse"] += 1
                _presented_refresh_tokens.add(digest)
        response = self.get_response(request)
        if response.status_code >= 400:
            try:
                error = str(json.loads(response.content).get("error", "unknown"))
            except ValueError:
                error = "unknown"
            with _lock:
                _token_requests[f"{grant}_{error}"] += 1
        return response


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
