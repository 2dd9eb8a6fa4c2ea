"""Assemble the ASGI application: API endpoints, control plane and fault injector over one model."""

from __future__ import annotations

from irods_provider.testing import _h_collections, _h_data_objects, _h_other
from irods_provider.testing._config import FaultInjector
from irods_provider.testing._control import ControlPlane
from irods_provider.testing._http import ApiApp
from irods_provider.testing._model import EmulatorModel


def build_app(model: EmulatorModel, faults: FaultInjector) -> tuple[ApiApp, ControlPlane]:
    """The API app (endpoints → ops, minus the ops its API version lacks) with its control plane."""
    control = ControlPlane(model, faults)
    endpoints = {
        "collections": _h_collections.OPS,
        "data-objects": _h_data_objects.OPS,
        "query": _h_other.QUERY_OPS,
        "tickets": _h_other.TICKET_OPS,
        "users-groups": _h_other.USERS_OPS,
        "resources": _h_other.RESOURCE_OPS,
        "rules": _h_other.RULE_OPS,
        "zones": _h_other.ZONE_OPS,
    }
    profile = model.config.profile
    endpoints = {
        name: {
            method: {op: h for op, h in ops.items() if profile.has_op(name, op)}
            for method, ops in table.items()
        }
        for name, table in endpoints.items()
    }
    return ApiApp(model, faults, endpoints, control), control
