"""The accept link an invite mails (``/invites/<token>/``): who invites you to what, and
one button. Someone without an account signs up first (the login page links to sign-up
and brings them back here); the invite's address must be theirs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.invites import accept_invite, pending_invite
from accounts.org_rules import OrgError


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def invite_accept(request: HttpRequest, token: str) -> HttpResponse:
    invite = pending_invite(token)
    if request.method == "POST" and invite is not None:
        try:
            organization = accept_invite(token, request.user)
        except OrgError as error:
            return render(
                request,
                "accounts/invite.html",
                {"invite": invite, "error": error.message},
                status=error.status,
            )
        messages.success(request, f"You joined {organization.name}.")
        return redirect("dashboard")
    status = 200 if invite is not None else 404
    mismatch = invite is not None and invite.email.lower() != request.user.email.lower()
    return render(
        request, "accounts/invite.html", {"invite": invite, "mismatch": mismatch}, status=status
    )
