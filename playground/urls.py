from __future__ import annotations

from django.urls import path

from portal.views import coming_next

urlpatterns = [
    path("playground/", coming_next, {"page": "playground"}, name="playground"),
]
