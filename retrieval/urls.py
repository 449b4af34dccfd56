"""URLs of retrieval's pages: the signed download of an ingested document."""

from __future__ import annotations

from django.urls import path

from retrieval import views

urlpatterns = [
    path("retrieval/files/<str:signed>", views.signed_file, name="retrieval-file"),
]
