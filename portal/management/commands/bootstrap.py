"""Create the demo admin and demo user (idempotent) and print their logins."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from billing.credits import grant_demo_credit
from catalog.shipped import load_default_catalog
from ground.env import env_str
from ground.money import format_usd

ADMIN_EMAIL = "admin@portico.local"
DEMO_EMAIL = "demo@portico.local"


class Command(BaseCommand):
    help = "Create (or refresh) the demo admin and demo user and print their logins."

    def handle(self, *args, **options) -> None:
        admin_password = env_str("PORTICO_ADMIN_PASSWORD", "admin-portico")
        demo_password = env_str("PORTICO_DEMO_PASSWORD", "demo-portico")
        with transaction.atomic():
            admin = ensure_user(ADMIN_EMAIL, admin_password, staff=True)
            demo = ensure_user(DEMO_EMAIL, demo_password, staff=False)
            for hook in bootstrap_hooks():
                hook(admin=admin, demo=demo, stdout=self.stdout)
        self.stdout.write("Demo logins:")
        self.stdout.write(f"  admin  {ADMIN_EMAIL} / {admin_password}   (Django admin at /admin/)")
        self.stdout.write(f"  user   {DEMO_EMAIL} / {demo_password}")
        for line in sign_up_notes():
            self.stdout.write(line)


def ensure_user(email: str, password: str, *, staff: bool) -> User:
    user, created = User.objects.get_or_create(
        email=email, defaults={"is_staff": staff, "is_superuser": staff}
    )
    if created or not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def sign_up_notes() -> list[str]:
    """What a new sign-up gets on this deployment, and where its e-mail goes locally."""
    notes = []
    if settings.SIGNUP_CREDIT_USD > 0:
        notes.append(
            f"  New sign-ups get {format_usd(settings.SIGNUP_CREDIT_USD)} once their e-mail is "
            "verified (SIGNUP_CREDIT_USD)."
        )
    if settings.EMAIL_BACKEND == "portal.mail.LinkLoggingFileBackend":
        notes.append(
            f"  E-mail is saved under {settings.EMAIL_FILE_PATH}; each message's link is "
            "logged on a line starting with ✉."
        )
    return notes


def bootstrap_hooks() -> list:
    """Demo data of the other apps: the shipped catalog, then the demo user's credit."""
    return [load_default_catalog, grant_demo_credit]
