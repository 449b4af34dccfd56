from __future__ import annotations

from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, re_path

from ground.errors import error_response
from portal import admin_views, views
from portal.api import api
from portal.metrics import metrics_view


def favicon(request):
    # Browsers ask for /favicon.ico on pages without a <link rel=icon> (the admin).
    return redirect(static("img/portico.svg"), permanent=False)


def api_not_found(request, rest: str = ""):
    return error_response(404, f"Unknown API route: {request.method} {request.path}")


admin.site.site_header = "Portico administration"
admin.site.site_title = "Portico admin"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("v1/", api.urls),
    re_path(r"^v1(?:/(?P<rest>.*))?$", api_not_found),
    # Before the admin's own URLs, which would answer /admin/overview/ with a 404.
    path("admin/overview/", admin_views.admin_overview, name="admin_overview"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", views.dashboard, name="dashboard"),
    path("docs/", views.docs, name="docs"),
    path("status/", views.status, name="status"),
    path("", include("accounts.urls")),
    path("", include("usage.urls")),
    path("", include("catalog.urls")),
    path("", include("billing.urls")),
    path("", include("ocr.urls")),
    path("", include("retrieval.urls")),
    path("", include("playground.urls")),
]
