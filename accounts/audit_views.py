"""The organization's audit log page: who changed what, before → after, newest first,
filtered by event type and project. Owners see every entry; a reader sees the entries
of the projects they belong to."""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from accounts import audit
from accounts.current import public_id, visible_projects
from accounts.models import OrganizationRole
from accounts.org_pages import base_context, org_page, render_page

PAGE_SIZE = 50


def change_lines(entry) -> list[tuple[str, str, str]]:
    """(field, before, after) for each field the entry names, as compact JSON."""
    fields = list(dict.fromkeys([*entry.before, *entry.after]))

    def shown(side: dict, field: str) -> str:
        return json.dumps(side[field], ensure_ascii=False) if field in side else "—"

    return [(field, shown(entry.before, field), shown(entry.after, field)) for field in fields]


@org_page
@require_GET
def audit_page(request: HttpRequest, organization, role: str) -> HttpResponse:
    projects = visible_projects(organization, request.user, include_archived=True)
    chosen_type = request.GET.get("type", "")
    chosen_project = public_id(request.GET.get("project"))
    found = audit.entries(
        organization,
        event_types=[chosen_type] if chosen_type in audit.EVENT_TYPES else (),
        project_ids=[chosen_project] if chosen_project else (),
    )
    if role != OrganizationRole.OWNER:
        found = found.filter(project__in=projects)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    return render_page(
        request,
        "accounts/org/audit.html",
        base_context(request, organization, role, "org_audit"),
        page=page,
        rows=[(entry, change_lines(entry)) for entry in page],
        event_types=sorted(audit.EVENT_TYPES),
        projects_for_filter=projects,
        chosen_type=chosen_type if chosen_type in audit.EVENT_TYPES else "",
        chosen_project=chosen_project,
    )
