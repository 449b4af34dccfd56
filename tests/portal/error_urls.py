"""Portico's URLs plus views that fail, for the error-page tests."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import path

from portal.urls import urlpatterns as portico_urlpatterns


def crash(request):
    raise RuntimeError("a bug in a view")


def forbidden(request):
    raise PermissionDenied


def suspicious(request):
    raise SuspiciousOperation("a forged header")


urlpatterns = [
    path("crash/", crash),
    path("forbidden/", forbidden),
    path("suspicious/", suspicious),
    *portico_urlpatterns,
]
