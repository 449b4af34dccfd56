"""URLs of the Usage pages."""

from __future__ import annotations

from django.urls import path

from usage import views as views

urlpatterns = [
    path("usage/", views.usage, name="usage"),
    path("usage/export.csv", views.usage_export, name="usage_export"),
    path("usage/<str:request_id>/", views.usage_detail, name="usage_detail"),
]
