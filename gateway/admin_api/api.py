"""The Admin API's routers, added to the ``/v1`` API by ``portal.api``."""

from __future__ import annotations

from gateway.admin_api.audit_api import router as audit_router
from gateway.admin_api.organization_api import router as organization_router
from gateway.admin_api.project_resources_api import router as project_resources_router
from gateway.admin_api.projects_api import router as projects_router
from gateway.admin_api.usage_api import router as usage_router

routers = [
    organization_router,
    projects_router,
    project_resources_router,
    audit_router,
    usage_router,
]
