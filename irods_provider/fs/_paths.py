"""Pure helpers for ``irods://`` URLs: protocol stripping and the Airflow ``conn_id@host`` convention."""

from __future__ import annotations

from urllib.parse import unquote

from irods_provider._urls import PROTOCOL, split_url
from irods_provider.client._paths import normalize_path

__all__ = ["PROTOCOL", "conn_id_from_url", "join", "split_url", "strip_protocol"]


def strip_protocol(url: str) -> str:
    """The absolute logical path of ``url``: ``irods://conn@host/tempZone/a/`` → ``/tempZone/a``.

    The netloc (Airflow's ``<conn_id>@<host>``) only selects the connection, never part of the path;
    repeated slashes collapse, a trailing slash goes, and a relative path is taken from the root.
    """
    _, path = split_url(url)
    return normalize_path("/" + path)


def conn_id_from_url(url: str) -> str | None:
    """The Airflow connection id in ``irods://<conn_id>@<host>/...``, or None when the URL has none."""
    netloc, _ = split_url(url)
    userinfo, at, _ = netloc.rpartition("@")
    if not at or not userinfo:
        return None
    return unquote(userinfo.split(":", 1)[0]) or None


def join(collection: str, name: str) -> str:
    """``collection`` + ``/`` + ``name`` without doubling the slash at the root."""
    return f"{collection.rstrip('/')}/{name}"
