from __future__ import annotations

from django.urls import path

from portal.views import coming_next

urlpatterns = [
    path("keys/", coming_next, {"page": "keys"}, name="keys"),
]
