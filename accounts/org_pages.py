"""What every organization page shares: who acts, in which organization, and how a
refused change is answered (the use case's own message, with its status)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts.current import current_organization, visible_projects
from accounts.models import OrganizationRole
from accounts.org_rules import Actor, OrgError, org_role

ORG_TABS = (
    ("org_projects", "Projects"),
    ("org_members", "Members"),
    ("org_audit", "Audit log"),
)


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def actor_for(request: HttpRequest) -> Actor:
    return Actor(user=request.user, ip=client_ip(request))


def org_page(view: Callable) -> Callable:
    """Signed in, never cached; the view gets the current organization and the caller's
    role in it (every organization page checks that role on the server)."""

    @never_cache
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        organization = current_organization(request)
        role = org_role(organization, request.user)
        if role is None:  # removed meanwhile: the personal organization is always theirs
            raise Http404("No such organization.")
        return view(request, organization, role, *args, **kwargs)

    return wrapper


def base_context(request: HttpRequest, organization, role: str, tab: str) -> dict:
    return {
        "organization": organization,
        "role": role,
        "is_owner": role == OrganizationRole.OWNER,
        "tab": tab,
        "tabs": ORG_TABS,
        "my_projects": visible_projects(organization, request.user),
    }


def refused(request: HttpRequest, exc: OrgError, page: Callable[..., HttpResponse]) -> HttpResponse:
    """A refused change: an id not of this organization is a 404; anything else re-renders the
    page with the use case's message and its status (400, 403, 409). htmx swaps only a
    2xx answer, so its requests get the page with 200 and the message in it."""
    if exc.kind == "not_found":
        raise Http404(exc.message)
    response = page(error=exc.message)
    response.status_code = 200 if request.htmx else exc.status
    return response


def render_page(request: HttpRequest, template: str, context: dict, **extra) -> HttpResponse:
    return render(request, template, {**context, **extra})
