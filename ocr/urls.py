from __future__ import annotations

from django.urls import path

from portal.views import coming_next

urlpatterns = [
    path("ocr/", coming_next, {"page": "ocr"}, name="ocr"),
]
