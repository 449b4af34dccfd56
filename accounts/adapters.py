"""allauth hooks: e-mail leaves the request through a Celery task."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter

from accounts.tasks import send_email


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
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
