"""An invitation link opened in the portal: what it invites to, and accepting it for
someone who signs in or signs up after opening it.

The token waits in the session (``SESSION_KEY``) while its reader signs in or signs up;
the ``user_logged_in`` signal (sent after sign-up, after an e-mail confirmation that
signs in, and after an ordinary sign-in) accepts it, and only when the address matches
the invite's (``invites.accept_invite`` refuses any other). Signing up with the
invite's own address marks it verified (``user_signed_up``, sent before allauth's
verification step): the link reached that mailbox, so no second confirmation mail is
needed. (allauth's own ``stash_verified_email`` is not used: it would give the invite's
address to an account signed up with any other.)
"""

from __future__ import annotations

import logging

from allauth.account.models import EmailAddress
from allauth.account.signals import user_signed_up
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.current import switch_organization
from accounts.invites import accept_invite, hash_token
from accounts.models import Invite, Organization
from accounts.org_rules import OrgError

SESSION_KEY = "invite_token"
TOKEN_LENGTH = 100

log = logging.getLogger(__name__)


def invite_for_token(token: str) -> Invite | None:
    """The invite a link names, whatever its status; ``None`` for an unknown token."""
    if not isinstance(token, str) or not token or len(token) > TOKEN_LENGTH:
        return None
    return (
        Invite.objects.select_related("organization", "invited_by")
        .filter(hashed_token=hash_token(token))
        .first()
    )


def remember(request: HttpRequest, invite: Invite, token: str) -> None:
    """Keep the token until its reader signs in or signs up."""
    request.session[SESSION_KEY] = token


def pending_invite(request: HttpRequest, user) -> Invite | None:
    """The pending invite whose link this browser opened, if it is for ``user``'s address."""
    token = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    invite = invite_for_token(token) if token else None
    if invite is None or invite.status != Invite.Status.PENDING:
        return None
    return invite if invite.email.lower() == user.email.lower() else None


def accept_here(request: HttpRequest, token: str) -> Organization:
    """Accept for the signed-in user and switch the session to the organization."""
    organization = accept_invite(token, request.user)
    request.session.pop(SESSION_KEY, None)
    switch_organization(request, organization.public_id)
    return organization


@receiver(user_signed_up)
def verify_invited_address(sender, request, user, **kwargs) -> None:
    """Signed up with the invited address from the invite's link: that address is proven."""
    if request is None or pending_invite(request, user) is None:
        return
    for address in EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=False):
        address.set_verified(commit=True)


@receiver(user_logged_in)
def accept_pending_invite(sender, request, user, **kwargs) -> None:
    """After a sign-in or sign-up: accept the invite whose link this browser opened."""
    if request is None or pending_invite(request, user) is None:
        return  # none, or someone else's address: the link stays for its own reader
    try:
        organization = accept_here(request, request.session[SESSION_KEY])
    except OrgError as exc:
        log.info("invite not accepted at sign-in: %s", exc.message)
        request.session.pop(SESSION_KEY, None)
        return
    messages.success(request, f"You joined {organization.name}.")
