"""Admin building blocks shared by every app's admin: read-only tables, audited edits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from ground.money import cost_html, exact_usd, usd_html


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by flows (ledgers, usage): viewable, never added, edited or deleted."""

    show_full_result_count = False  # no COUNT(*) over a large table on every page

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LinesField(forms.CharField):
    """A JSON list of strings edited as one item per line."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def has_changed(self, initial: Any, data: Any) -> bool:
        return list(initial or []) != self.to_python(data)


def audit_value(value: Any) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, Decimal):
        return exact_usd(value)  # an audit trail keeps every digit
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return str(value)


class AuditedChangesMixin:
    """Change messages (admin history, ``LogEntry``) with old → new values.

    Django records who changed what and when, but only the names of changed fields;
    for ``audited_fields`` the entry reads e.g. "Allowed models: [a, b] → [a]".
    """

    audited_fields: tuple[str, ...] = ()

    def construct_change_message(
        self, request: HttpRequest, form: forms.Form, formsets: Any, add: bool = False
    ) -> list[dict]:
        message = super().construct_change_message(request, form, formsets, add)
        changed = [name for name in self.audited_fields if name in form.changed_data]
        if add or not changed:
            return message
        labels = {str(form.fields[name].label or name) for name in changed}
        details = [
            f"{form.fields[name].label or name}: {audit_value(form.initial.get(name))} → "
            f"{audit_value(form.cleaned_data.get(name))}"
            for name in changed
        ]
        for entry in message:
            fields = entry.get("changed", {})
            if "fields" in fields and "name" not in fields:  # the object itself, not an inline
                fields["fields"] = [label for label in fields["fields"] if label not in labels]
                fields["fields"] += details
        return message


def money_column(field: str, description: str, *, cost: bool = False):
    """A list column that prints ``field`` by the one money rule: in cents (balances,
    totals), or with ``cost`` as one request's cost or a unit price; exact in the title."""
    show = cost_html if cost else usd_html

    @admin.display(description=description, ordering=field)
    def column(self, obj: Any) -> str:
        return show(getattr(obj, field))

    column.__name__ = f"{field}_display"
    return column
