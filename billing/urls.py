from __future__ import annotations

from django.urls import path

from portal.views import coming_next

urlpatterns = [
    path("wallet/", coming_next, {"page": "wallet"}, name="wallet"),
]
