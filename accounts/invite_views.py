"""``/invites/<token>/``: the link an invitation mail carries.

Signed in: a button joins the organization (and the invite's projects) and switches to
it. Not signed in: the page says who invites to what and offers sign-up (the address
prefilled) or sign-in; the invite is then accepted at sign-in (``invite_links``). An
unknown, used or expired link gets a page that says so.
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.invite_links import accept_here, invite_for_token, remember
from accounts.models import Invite
from accounts.org_rules import OrgError


@never_cache
@require_http_methods(["GET", "POST"])
def invite_page(request: HttpRequest, token: str) -> HttpResponse:
    invite = invite_for_token(token)
    user = request.user if request.user.is_authenticated else None
    context = {"invite": invite, "token": token}
    if invite is None:
        return render(
            request,
            "accounts/org/invite.html",
            {**context, "state": "unknown"},
            status=HTTPStatus.NOT_FOUND,
        )
    if invite.status == Invite.Status.ACCEPTED:
        mine = user is not None and invite.accepted_by_id == user.pk
        return render(
            request,
            "accounts/org/invite.html",
            {**context, "state": "joined" if mine else "used"},
            status=HTTPStatus.OK if mine else HTTPStatus.GONE,
        )
    if invite.status == Invite.Status.EXPIRED:
        return render(
            request,
            "accounts/org/invite.html",
            {**context, "state": "expired"},
            status=HTTPStatus.GONE,
        )
    if user is None:
        remember(request, invite, token)
        here = reverse("invite-accept", args=[token])
        return render(
            request,
            "accounts/org/invite.html",
            {
                **context,
                "state": "anonymous",
                "signup_url": reverse("account_signup") + "?" + urlencode({"email": invite.email}),
                "login_url": reverse("account_login") + "?" + urlencode({"next": here}),
            },
        )
    if invite.email.lower() != user.email.lower():
        return render(
            request,
            "accounts/org/invite.html",
            {**context, "state": "other_address"},
            status=HTTPStatus.FORBIDDEN,
        )
    if request.method == "POST":
        try:
            organization = accept_here(request, token)
        except OrgError as exc:
            return render(
                request,
                "accounts/org/invite.html",
                {**context, "state": "error", "error": exc.message},
                status=exc.status,
            )
        messages.success(request, f"You joined {organization.name}.")
        return redirect("dashboard")
    return render(request, "accounts/org/invite.html", {**context, "state": "ready"})
