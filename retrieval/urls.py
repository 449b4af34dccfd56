"""URLs of retrieval's pages: collections, documents, search, and the signed download of
an ingested document."""

from __future__ import annotations

from django.urls import path

from retrieval import views

C = "retrieval/<str:collection_id>/"
D = C + "documents/<str:doc_id>/"

urlpatterns = [
    path("retrieval/", views.home, name="retrieval"),
    path("retrieval/new", views.create_collection, name="retrieval-create"),
    path("retrieval/playground", views.use_in_playground, name="retrieval-playground"),
    path("retrieval/files/<str:signed>", views.signed_file, name="retrieval-file"),
    path(
        "retrieval/sources/<str:vector_store_id>/<str:file_id>/pages/<int:number>/",
        views.cited_page,
        name="retrieval-cited-page",
    ),
    path(C, views.collection_page, name="retrieval-collection"),
    path(C + "rename", views.rename_collection, name="retrieval-rename"),
    path(C + "delete", views.delete_collection, name="retrieval-delete"),
    path(C + "documents/", views.documents, name="retrieval-documents"),
    path(C + "search", views.search, name="retrieval-search"),
    path(D + "delete", views.delete_document, name="retrieval-document-delete"),
    path(D + "original", views.original, name="retrieval-original"),
    path(D + "pages/<int:number>/", views.document_page, name="retrieval-page"),
]
