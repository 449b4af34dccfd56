"""Staff pages that sit beside the Django admin and read every app (so they live in portal)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from portal.overview import overview

# The overview shows every user's spend and wallet: staff who may view both.
OVERVIEW_PERMISSIONS = ("usage.view_usagerecord", "billing.view_wallet")


def staff_required(*permissions: str) -> Callable:
    """Signed-out visitors go to the admin's sign-in; signed-in non-staff get a 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("admin:login"))
            if not (user.is_active and user.is_staff and user.has_perms(permissions)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


@staff_required(*OVERVIEW_PERMISSIONS)
def admin_overview(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/admin_overview.html", overview())
