"""The Keys page: list, create (the secret is shown once), edit, revoke and rotate.

Every view serves both the full page and, for htmx, the fragment it swaps in
(``{% partialdef %}`` blocks of the same templates), so each step also works
without JavaScript. Secrets never reach the database, a session or a cache: the one
response that carries one is marked ``no-store``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_htmx.http import retarget

from accounts.current import current_organization, public_id, visible_projects
from accounts.forms import KeyForm
from accounts.key_rules import KeyError_
from accounts.key_settings import update_key
from accounts.key_spend import KeySpend, key_spend
from accounts.keys import IssuedKey, revoke_key, rotate_key
from accounts.models import ApiKey
from accounts.org_pages import actor_for
from accounts.org_rules import OrgError
from accounts.project_keys import issue_project_key
from ground.money import plain, usd_html

FALLBACK_MODEL = "portico/test-chat"


@dataclass(frozen=True)
class SpendLine:
    """One period's spend on a key card, against the key's cap for it when set."""

    label: str
    spent: Decimal
    cap: Decimal | None

    @property
    def spent_display(self) -> str:
        return usd_html(self.spent)

    @property
    def cap_display(self) -> str:
        return usd_html(self.cap)

    @property
    def meter(self) -> dict[str, str] | None:
        """``<meter>`` attributes (plain decimals) when a cap is set: no inline style needed."""
        if not self.cap:
            return None
        return {
            "max": plain(self.cap),
            "value": plain(min(self.spent, self.cap)),
            "high": plain(self.cap * Decimal("0.8")),
        }

    @property
    def reached(self) -> bool:
        return self.cap is not None and self.spent >= self.cap


@dataclass(frozen=True)
class EffectiveLimit:
    """One limit a key is held to, where it comes from, and what it overrides."""

    label: str
    value: int
    source: str  # "this key", "your account" or "default"
    beyond: str = ""  # the key's own, looser limit when the account's is tighter


@dataclass(frozen=True)
class EffectiveModels:
    models: list[str] | None  # None: every model
    source: str
    outside: list[str] = field(default_factory=list)  # the key's, but not the account's


@dataclass(frozen=True)
class KeyRow:
    """What the page shows about one key, formatted."""

    key: ApiKey
    spend: KeySpend | None = None

    @property
    def spending(self) -> list[SpendLine]:
        """Today / this month / total, each against its cap: what the gateway enforces."""
        if self.spend is None:
            return []
        key, spend = self.key, self.spend
        return [
            SpendLine("today", spend.today, key.daily_budget_usd),
            SpendLine("this month", spend.month, key.monthly_budget_usd),
            SpendLine("total", spend.total, key.total_budget_usd),
        ]

    @property
    def limits(self) -> list[EffectiveLimit]:
        """What the gateway enforces for this key: for each kind, the tighter of the key's
        limit and its account's (both count every request), and where it comes from.
        Requests per minute always have a ceiling: the gateway's default when unset."""
        key, owner = self.key, self.key.owner
        kinds = (
            ("RPM", key.rpm_limit, owner.rpm_limit, settings.DEFAULT_KEY_RPM),
            ("TPM", key.tpm_limit, owner.tpm_limit, None),
            ("RPD", key.rpd_limit, owner.rpd_limit, None),
        )
        out = []
        for label, own, account, default in kinds:
            if account is not None and (own or default) is not None and account < (own or default):
                beyond = f"this key: {own:,}" if own else ""
                out.append(EffectiveLimit(label, account, "your account", beyond))
            elif own is not None:
                out.append(EffectiveLimit(label, own, "this key"))
            elif account is not None:
                out.append(EffectiveLimit(label, account, "your account"))
            elif default is not None:
                out.append(EffectiveLimit(label, default, "default"))
        return out

    @property
    def models(self) -> EffectiveModels:
        """The models this key may use: its own list within its account's (the gateway
        admits a model only when both allow it), and where the list comes from."""
        own, account = self.key.allowed_models or [], self.key.owner.allowed_models or []
        if own and account:
            allowed = [m for m in own if m in account]
            outside = [m for m in own if m not in account]
            return EffectiveModels(allowed, "this key, within your account's", outside)
        if own:
            return EffectiveModels(list(own), "this key")
        if account:
            return EffectiveModels(list(account), "your account")
        return EffectiveModels(None, "")

    @property
    def caps(self) -> list[tuple[str, str]]:
        key = self.key
        pairs = (
            ("per day", key.daily_budget_usd),
            ("per month", key.monthly_budget_usd),
            ("total", key.total_budget_usd),
        )
        return [(label, usd_html(value)) for label, value in pairs if value is not None]

    @property
    def badge(self) -> str:
        return {"active": "ok", "expired": "warn", "revoked": "bad"}[self.key.status]


@dataclass(frozen=True)
class Shown:
    """A secret being shown its one time, with what the snippets need."""

    issued: IssuedKey
    model: str
    rotated: bool = False

    @property
    def key(self) -> ApiKey:
        return self.issued.key

    @property
    def secret(self) -> str:
        return self.issued.secret


def example_model(key: ApiKey, form: KeyForm) -> str:
    """The model the snippets call: the key's first allowed chat model, if any."""
    types = form.model_types
    candidates = list(key.allowed_models or []) or list(types)
    chat = [model_id for model_id in candidates if types.get(model_id) == "llm"]
    return (chat or candidates or [FALLBACK_MODEL])[0]


def key_rows(keys: Iterable[ApiKey]) -> list[KeyRow]:
    """Rows for ``keys`` with their spend, fetched in one query for all of them."""
    keys = list(keys)
    spend = key_spend(key.pk for key in keys)
    return [KeyRow(key, None if spend is None else spend[key.pk]) for key in keys]


def key_row(key: ApiKey) -> KeyRow:
    return key_rows([key])[0]


def own_keys(request: HttpRequest) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(owner=request.user).select_related("owner")


def own_key(request: HttpRequest, pk: int) -> ApiKey:
    """The caller's key, or 404: another user's key does not exist for them."""
    return get_object_or_404(own_keys(request).select_related("owner"), pk=pk)


def focus_first_error(form: KeyForm) -> None:
    """After a failed submit htmx focuses ``[autofocus]``: the first field to fix."""
    for name in form.fields:
        if name in form.errors:
            form.fields[name].widget.attrs["autofocus"] = True
            return


def key_projects(request: HttpRequest) -> list:
    """The projects of the current organization the caller may make keys in."""
    return list(visible_projects(current_organization(request), request.user))


def chosen_project(request: HttpRequest, projects: list) -> str:
    wanted = public_id(request.POST.get("project") or request.GET.get("project"))
    ids = [project.public_id for project in projects]
    if wanted in ids:
        return wanted
    default = next((p.public_id for p in projects if p.is_default), None)
    return default or (ids[0] if ids else "")


def posted_project(request: HttpRequest) -> str:
    """The project a new key goes to: the one named (any other than the caller's is
    refused by the use case), or without one (an older form, a script) the default."""
    if "project" in request.POST:
        return public_id(request.POST["project"])
    return chosen_project(request, key_projects(request))


def render_keys(request: HttpRequest, form: KeyForm, shown: Shown | None = None) -> HttpResponse:
    organization = current_organization(request)
    projects = key_projects(request)
    keys = (
        own_keys(request)
        .filter(organization=organization)
        .exclude(kind=ApiKey.Kind.ADMIN)
        .select_related("project")
        .order_by(F("revoked_at").asc(nulls_first=True), "-created_at")
    )
    rows = key_rows(keys)
    # Others' keys in the caller's projects: who made each, and what it spent.
    others = key_rows(
        ApiKey.objects.filter(project__in=projects, revoked_at__isnull=True)
        .exclude(owner=request.user, service_account__isnull=True)
        .exclude(kind=ApiKey.Kind.ADMIN)
        .select_related("owner", "project", "service_account")
        .order_by("project__name", "-created_at")
    )
    context = {
        "live_rows": [row for row in rows if not row.key.is_revoked],
        "revoked_rows": [row for row in rows if row.key.is_revoked],
        "other_rows": others,
        "form": form,
        "shown": shown,
        "open_form": form.is_bound or not rows,
        "organization": organization,
        "projects": projects,
        "chosen_project": chosen_project(request, projects),
    }
    template = "accounts/keys.html#keys-body" if request.htmx else "accounts/keys.html"
    return render(request, template, context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def keys_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render_keys(request, KeyForm(owner=request.user))
    form = KeyForm(request.POST, owner=request.user)
    if form.is_valid():
        try:
            issued = issue_project_key(
                actor_for(request),
                current_organization(request),
                posted_project(request),
                form.cleaned_data["name"],
                **form.flow_options(),
            )
        except OrgError as exc:
            form.add_error(None, f"Project: {exc.message}")
        except KeyError_ as exc:
            form.add_error(None, str(exc))
        else:
            fresh = KeyForm(owner=request.user)
            return render_keys(request, fresh, Shown(issued, example_model(issued.key, fresh)))
    focus_first_error(form)
    return render_keys(request, form)


@never_cache
@login_required
@require_http_methods(["GET"])
def key_card(request: HttpRequest, pk: int) -> HttpResponse:
    key = own_key(request, pk)
    if not request.htmx:
        return redirect(f"{reverse('keys')}#key-{key.pk}")
    return render(request, "accounts/_key_card.html", {"row": key_row(key)})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def key_edit(request: HttpRequest, pk: int) -> HttpResponse:
    key = own_key(request, pk)
    if key.is_revoked:
        return refuse(request, key, "A revoked key cannot be changed.")
    form = KeyForm(
        request.POST if request.method == "POST" else None, owner=request.user, instance=key
    )
    if form.is_valid():
        try:
            update_key(key, name=form.cleaned_data["name"], **form.flow_options())
        except KeyError_ as exc:
            form.add_error(None, str(exc))
        else:
            if request.htmx:
                context = {"row": key_row(key), "note": "Saved.", "focus": True}
                return render(request, "accounts/_key_card.html", context)
            messages.success(request, f"Saved the changes to “{key.name}”.")
            return redirect(f"{reverse('keys')}#key-{key.pk}")
    if form.is_bound:
        focus_first_error(form)
    else:
        form.fields["name"].widget.attrs["autofocus"] = True
    template = "accounts/keys_edit.html#edit-form" if request.htmx else "accounts/keys_edit.html"
    return render(request, template, {"form": form, "key": key})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = own_key(request, pk)
    if request.method == "POST":
        revoke_key(key)
        if request.htmx:
            context = {"row": key_row(key), "note": "Revoked.", "focus": True}
            return render(request, "accounts/_key_card.html", context)
        messages.success(request, f"Revoked “{key.name}”. It no longer works.")
        return redirect("keys")
    return confirm(request, key, "revoke")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def key_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    key = own_key(request, pk)
    if request.method == "POST":
        try:
            issued = rotate_key(key)
        except KeyError_ as exc:
            return refuse(request, key, str(exc))
        form = KeyForm(owner=request.user)
        shown = Shown(issued, example_model(issued.key, form), rotated=True)
        return render_keys(request, form, shown)
    if key.is_revoked:
        return refuse(request, key, "A revoked key cannot be rotated.")
    return confirm(request, key, "rotate")


def refuse(request: HttpRequest, key: ApiKey, reason: str) -> HttpResponse:
    """A step that no longer applies (the key was revoked meanwhile): say so where asked."""
    if request.htmx:
        context = {"row": key_row(key), "note": reason, "note_is_error": True, "focus": True}
        # The rotate form targets the whole page body; the answer belongs in the card.
        return retarget(render(request, "accounts/_key_card.html", context), f"#key-{key.pk}")
    messages.error(request, reason)
    return redirect(f"{reverse('keys')}#key-{key.pk}")


def confirm(request: HttpRequest, key: ApiKey, action: str) -> HttpResponse:
    """The confirmation step before revoking or rotating: a page, or the card's fragment."""
    template = (
        "accounts/keys_confirm.html#confirm" if request.htmx else "accounts/keys_confirm.html"
    )
    return render(request, template, {"key": key, "action": action})
