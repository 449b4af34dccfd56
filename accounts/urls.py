"""URLs of the Keys pages, the organization pages and an invitation's accept link."""

from __future__ import annotations

from django.urls import path

from accounts import audit_views, invite_views, members_views, project_views
from accounts import keys_views as views

urlpatterns = [
    path("keys/", views.keys_page, name="keys"),
    path("keys/<int:pk>/", views.key_card, name="key"),
    path("keys/<int:pk>/edit/", views.key_edit, name="key_edit"),
    path("keys/<int:pk>/revoke/", views.key_revoke, name="key_revoke"),
    path("keys/<int:pk>/rotate/", views.key_rotate, name="key_rotate"),
    path("organization/switch/", members_views.switch, name="org_switch"),
    path("organization/members/", members_views.members_page, name="org_members"),
    path("organization/projects/", project_views.projects_page, name="org_projects"),
    path(
        "organization/projects/<str:project_id>/",
        project_views.project_page,
        name="org_project",
    ),
    path("organization/audit/", audit_views.audit_page, name="org_audit"),
    path("invites/<str:token>/", invite_views.invite_page, name="invite-accept"),
]
