from __future__ import annotations

from django.urls import path

from portal.views import coming_next

urlpatterns = [
    path("models/", coming_next, {"page": "models"}, name="models"),
]
