"""Jinja helpers for DAG authors, for the templates of any operator (not only the iRODS ones).

iRODS operators and sensors have the ``irods_safe`` filter and ``irods_safe_run_id`` in their templates
already; other operators (Bash, SSH, TaskFlow) get the filter from
``@dag(user_defined_filters=IRODS_FILTERS)``.
"""

from __future__ import annotations

from irods_provider._values import irods_safe

#: ``user_defined_filters`` for a DAG whose other operators build the same paths.
IRODS_FILTERS = {"irods_safe": irods_safe}

__all__ = ["IRODS_FILTERS", "irods_safe"]
