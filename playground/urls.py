from __future__ import annotations

from django.urls import path

from playground import views

urlpatterns = [
    path("playground/", views.playground, name="playground"),
    path("playground/chat", views.chat, name="playground-chat"),
    path("playground/documents", views.documents_chat, name="playground-documents"),
    path("playground/usage/<str:request_id>", views.usage, name="playground-usage"),
]
