"""The model picker: catalog model ids chosen with the admin's two-box filter."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.utils.html import format_html

from catalog.models import Deployment, Model


def catalog_choices(
    current: list[str] | None = None, allowed: list[str] | None = None
) -> list[tuple[str, str]]:
    """Every catalog model id, marked when it cannot be called (disabled, no provider, or
    outside ``allowed``, the owner's allowlist, when one is given), plus any id already
    chosen that the catalog no longer has."""
    served = set(
        Deployment.objects.filter(enabled=True, provider__enabled=True).values_list(
            "model_id", flat=True
        )
    )
    rows = Model.objects.order_by("public_id").values_list("pk", "public_id", "enabled")
    choices = []
    for pk, public_id, enabled in rows:
        marks = []
        if not enabled:
            marks.append("disabled")
        elif pk not in served:
            marks.append("no provider")
        if allowed and public_id not in allowed:
            marks.append("not on the owner's allowlist")
        choices.append((public_id, f"{public_id} ({', '.join(marks)})" if marks else public_id))
    known = {public_id for public_id, _ in choices}
    choices += [(m, f"{m} (not in the catalog)") for m in current or [] if m not in known]
    return choices


class ModelPicker(FilteredSelectMultiple):
    """The admin's two-box filter for a plain (non-relation) field.

    Its script moves the widget to the front of its parent; wrapped like a relation's
    widget, it stays after the field's label.
    """

    def __init__(self) -> None:
        super().__init__("models", is_stacked=False)

    def render(self, *args: Any, **kwargs: Any) -> str:
        return format_html(
            '<div class="related-widget-wrapper">{}</div>', super().render(*args, **kwargs)
        )


class ModelAllowlistField(forms.MultipleChoiceField):
    """A JSON list of model ids, picked from the catalog with the admin's two-box filter."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", ModelPicker())
        super().__init__(**kwargs)
