"""The organization switcher and the Members page: members with their roles, invites.

Only an owner invites, changes roles and removes; a reader sees the list. Every change
goes through the use cases (``org_members``, ``invites``), whose refusals (the last
owner, an address already invited, an unknown role) are shown as they say them.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts import invites, org_members
from accounts.current import public_id, switch_organization, visible_projects
from accounts.models import OrganizationRole, ProjectRole
from accounts.org_pages import actor_for, base_context, org_page, refused, render_page
from accounts.org_rules import OrgError, user_public_id

# After a switch, a page of one project of the old organization would be a 404.
LIST_INSTEAD = {"org_project": "org_projects"}


@require_POST
def switch(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        raise Http404("Sign in first.")
    organization = switch_organization(request, request.POST.get("organization"))
    if organization is None:
        raise Http404("You are not a member of that organization.")
    target = request.POST.get("next") or reverse("dashboard")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}) or not target.startswith(
        "/"
    ):
        target = reverse("dashboard")
    try:
        name = resolve(target.split("?")[0]).url_name
    except Resolver404:
        name = None
    if name in LIST_INSTEAD:
        target = reverse(LIST_INSTEAD[name])
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)


def member_rows(organization, me) -> list[dict]:
    return [
        {
            "member": member,
            "public_id": user_public_id(member.user_id),
            "is_me": member.user_id == me.pk,
            "is_personal_owner": organization.personal_for_id == member.user_id,
        }
        for member in org_members.list_members(organization)
    ]


@org_page
@require_http_methods(["GET", "POST"])
def members_page(request: HttpRequest, organization, role: str) -> HttpResponse:
    def page(error: str = "", **extra) -> HttpResponse:
        context = base_context(request, organization, role, "org_members")
        return render_page(
            request,
            "accounts/org/members.html",
            context,
            error=error,
            members=member_rows(organization, request.user),
            invites=list(invites.list_invites(organization).select_related("invited_by")),
            roles=OrganizationRole.choices,
            project_roles=ProjectRole.choices,
            projects=visible_projects(organization, request.user),
            posted=request.POST if request.method == "POST" else {},
            **extra,
        )

    if request.method != "POST":
        return page()
    action = ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        return refused(request, OrgError("Unknown action."), page)
    try:
        done = action(actor_for(request), organization, request.POST)
    except OrgError as exc:
        return refused(request, exc, page)
    messages.success(request, done)
    return redirect("org_members")


def _invite(actor, organization, data) -> str:
    chosen = [
        {"id": project_id, "role": data.get(f"project_role_{project_id}", ProjectRole.MEMBER)}
        for project_id in map(public_id, data.getlist("projects"))
    ]
    invite = invites.create_invite(
        actor, organization, data.get("email", ""), data.get("role"), chosen
    )
    return f"Invited {invite.email} as {invite.role}; the invitation was mailed."


def _change_role(actor, organization, data) -> str:
    member = org_members.change_role(
        actor, organization, public_id(data.get("user_id")), data.get("role")
    )
    return f"{member.user.email} is now {member.role}."


def _remove(actor, organization, data) -> str:
    member_id = public_id(data.get("user_id"))
    email = org_members.get_member(organization, member_id).user.email
    org_members.remove_member(actor, organization, member_id)
    return f"Removed {email} from {organization.name}."


def _delete_invite(actor, organization, data) -> str:
    invite = invites.get_invite(organization, public_id(data.get("invite_id")))
    invites.delete_invite(actor, organization, invite.public_id)
    return f"Deleted the invitation to {invite.email}."


ACTIONS = {
    "invite": _invite,
    "role": _change_role,
    "remove": _remove,
    "delete_invite": _delete_invite,
}
