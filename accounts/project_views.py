"""The Projects pages: the projects the caller may see, creating one (an organization
owner), and one project's settings: name and budgets, its model allowlist, members and
their caps, per-model rate limits and service accounts (whose key is shown once).

A member sees the project; its owners change it; budgets and caps are money, which only
an organization owner sets. The use cases enforce each rule; this module parses, calls
them and renders.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts import project_members, project_settings, projects, rate_limits, service_accounts
from accounts.current import public_id, visible_project, visible_projects
from accounts.key_spend import key_spend
from accounts.models import ProjectRole
from accounts.org_keys import project_keys
from accounts.org_members import list_members
from accounts.org_pages import actor_for, base_context, org_page, refused, render_page
from accounts.org_rules import OrgError, project_role, user_public_id
from catalog.fields import catalog_choices
from ground.money import plain


@org_page
@require_http_methods(["GET", "POST"])
def projects_page(request: HttpRequest, organization, role: str) -> HttpResponse:
    def page(error: str = "") -> HttpResponse:
        context = base_context(request, organization, role, "org_projects")
        archived = visible_projects(organization, request.user, include_archived=True).filter(
            status="archived"
        )
        return render_page(
            request,
            "accounts/org/projects.html",
            context,
            error=error,
            archived=archived,
            posted=request.POST if request.method == "POST" else {},
        )

    if request.method != "POST":
        return page()
    data = request.POST
    try:
        project = projects.create_project(
            actor_for(request),
            organization,
            data.get("name", ""),
            **{field: amount(data, field) for field in projects.BUDGETS},
        )
    except OrgError as exc:
        return refused(request, exc, page)
    messages.success(request, f"Created the project “{project.name}”.")
    return redirect("org_project", project_id=project.public_id)


@org_page
@require_http_methods(["GET", "POST"])
def project_page(request: HttpRequest, organization, role: str, project_id: str) -> HttpResponse:
    try:
        project = visible_project(organization, request.user, project_id)
    except OrgError as exc:  # not one the caller may see: it does not exist for them
        raise Http404(exc.message) from None
    my_role = project_role(project, request.user)

    def page(error: str = "", shown=None) -> HttpResponse:
        context = base_context(request, organization, role, "org_projects")
        keys = list(project_keys(project))
        spend = key_spend(key.pk for key in keys) or {}
        members = list(project_members.list_project_members(project))
        in_project = {m.user_id for m in members}
        return render_page(
            request,
            "accounts/org/project.html",
            context,
            error=error,
            shown=shown,
            project=project,
            can_manage=my_role == ProjectRole.OWNER and not project.is_archived,
            members=[(m, user_public_id(m.user_id), typed(m.cap_usd)) for m in members],
            candidates=[
                (m, user_public_id(m.user_id))
                for m in list_members(organization)
                if m.user_id not in in_project
            ],
            project_roles=ProjectRole.choices,
            keys=[(key, spend.get(key.pk)) for key in keys],
            limits=list(rate_limits.list_rate_limits(project))
            if my_role == ProjectRole.OWNER
            else [],
            accounts=list(service_accounts.list_service_accounts(project)),
            # The catalog's models as the admin's picker lists them (marked when they
            # cannot be called), shown as a filterable checkbox list like the Keys page's.
            allowlist_choices=catalog_choices(
                project.allowed_models, allowed=organization.allowed_models
            ),
            typed_budgets={name: typed(getattr(project, name)) for name in projects.BUDGETS},
        )

    if request.method != "POST":
        return page()
    action = ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        return refused(request, OrgError("Unknown action."), page)
    try:
        done = action(actor_for(request), organization, project.public_id, request.POST)
    except OrgError as exc:
        return refused(request, exc, page)
    if isinstance(done, tuple):  # a service account: its key is shown this once
        account, issued = done
        response = page(shown={"account": account, "secret": issued.secret})
        response["Cache-Control"] = "no-store"
        return response
    messages.success(request, done)
    return redirect(reverse("org_project", args=[project.public_id]))


def typed(value) -> str:
    """An amount as a form shows it: ``20``, not ``20.0000000000``; empty for none."""
    return "" if value is None else plain(value)


def amount(data: QueryDict, field: str) -> str:
    """A budget as typed, for the use case to read. Python's Decimal reads Unicode digits
    ("١٢" is 12), which no one means in a budget: only ASCII reaches the use case."""
    value = data.get(field, "")
    if not value.isascii():
        raise OrgError(f"Invalid '{field}': write the amount with the digits 0-9.", param=field)
    return value


def whole_number(value: str) -> object:
    """An ASCII whole number as an int; empty as no limit; anything else as given, for
    the use case to refuse by name (Unicode digits included)."""
    value = (value or "").strip()
    if not value:
        return None
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else value


def _settings(actor, organization, project_id: str, data: QueryDict) -> str:
    changes = {"name": data.get("name", "")}
    changes.update({field: amount(data, field) for field in projects.BUDGETS if field in data})
    project = projects.modify_project(actor, organization, project_id, changes)
    return f"Saved the settings of “{project.name}”."


def _archive(actor, organization, project_id: str, data: QueryDict) -> str:
    project = projects.archive_project(actor, organization, project_id)
    return f"Archived “{project.name}”; its keys no longer work."


def _allowlist(actor, organization, project_id: str, data: QueryDict) -> str:
    project = project_settings.set_allowlist(
        actor, organization, project_id, data.getlist("allowed_models")
    )
    models = project.allowed_models
    return (
        f"The project may call {', '.join(models)}."
        if models
        else "The project may call every model."
    )


def _add_member(actor, organization, project_id: str, data: QueryDict) -> str:
    member = project_members.add_project_member(
        actor, organization, project_id, public_id(data.get("user_id")), data.get("role")
    )
    return f"Added {member.user.email} as {member.role}."


def _member_role(actor, organization, project_id: str, data: QueryDict) -> str:
    member = project_members.change_project_role(
        actor, organization, project_id, public_id(data.get("user_id")), data.get("role")
    )
    return f"{member.user.email} is now {member.role} of the project."


def _remove_member(actor, organization, project_id: str, data: QueryDict) -> str:
    project_members.remove_project_member(
        actor, organization, project_id, public_id(data.get("user_id"))
    )
    return "Removed the member from the project; their keys here were revoked."


def _member_cap(actor, organization, project_id: str, data: QueryDict) -> str:
    member = project_members.modify_project_member(
        actor,
        organization,
        project_id,
        public_id(data.get("user_id")),
        {"cap_usd": amount(data, "cap_usd")},
    )
    return f"Saved {member.user.email}'s cap."


def _rate_limit(actor, organization, project_id: str, data: QueryDict) -> str:
    changes = {field: whole_number(data.get(field, "")) for field in rate_limits.FIELDS}
    limit = rate_limits.update_rate_limit(
        actor, organization, project_id, public_id(data.get("rate_limit_id")), changes
    )
    return f"Saved the limits for {limit.model}."


def _service_account(actor, organization, project_id: str, data: QueryDict):
    return service_accounts.create_service_account(
        actor, organization, project_id, data.get("name", "")
    )


def _delete_service_account(actor, organization, project_id: str, data: QueryDict) -> str:
    service_accounts.delete_service_account(
        actor, organization, project_id, public_id(data.get("service_account_id"))
    )
    return "Deleted the service account; its keys no longer work."


ACTIONS = {
    "settings": _settings,
    "archive": _archive,
    "allowlist": _allowlist,
    "add_member": _add_member,
    "member_role": _member_role,
    "remove_member": _remove_member,
    "member_cap": _member_cap,
    "rate_limit": _rate_limit,
    "service_account": _service_account,
    "delete_service_account": _delete_service_account,
}
