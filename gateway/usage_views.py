from __future__ import annotations

from django.urls import path

from portal.views import coming_next

urlpatterns = [
    path("usage/", coming_next, {"page": "usage"}, name="usage"),
]
