from __future__ import annotations

from django.urls import path

from catalog import views

urlpatterns = [
    path("models/", views.model_list, name="models"),
    path("models/<path:model_id>/", views.model_detail, name="model_detail"),
]
