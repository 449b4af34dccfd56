"""URLs of the Keys pages and of an invitation's accept link."""

from __future__ import annotations

from django.urls import path

from accounts import keys_views as views
from accounts.invites_views import invite_accept

urlpatterns = [
    path("keys/", views.keys_page, name="keys"),
    path("keys/<int:pk>/", views.key_card, name="key"),
    path("keys/<int:pk>/edit/", views.key_edit, name="key_edit"),
    path("keys/<int:pk>/revoke/", views.key_revoke, name="key_revoke"),
    path("keys/<int:pk>/rotate/", views.key_rotate, name="key_rotate"),
    path("invites/<str:token>/", invite_accept, name="invite-accept"),
]
