"""allauth hooks: e-mail names this site and leaves the request through a Celery task."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings

from accounts.tasks import send_email


@dataclass(frozen=True)
class Site:
    """What allauth's templates read as ``current_site``, from settings, not the Sites app."""

    name: str
    domain: str


def current_site(request=None) -> Site:
    domain = urlsplit(settings.SITE_URL).netloc if settings.SITE_URL else ""
    if not domain and request is not None:
        domain = request.get_host()
    return Site(name=settings.SITE_NAME, domain=domain or settings.SITE_NAME)


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        request = getattr(allauth_context, "request", None)
        context = {"email": email, "current_site": current_site(request), **context}
        if request is not None:
            context.setdefault("request", request)
        message = self.render_mail(template_prefix, email, context)
        html = next(
            (body for body, mime in getattr(message, "alternatives", []) if mime == "text/html"),
            None,
        )
        # Queued on commit: a sign-up rolled back never mails anyone.
        send_email.delay_on_commit(
            subject=message.subject,
            body=message.body,
            to=list(message.to),
            from_email=message.from_email,
            html=html,
        )
