"""The model picker: catalog model ids chosen with the admin's two-box filter."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.utils.html import format_html

from catalog.models import Model


def catalog_choices(current: list[str] | None = None) -> list[tuple[str, str]]:
    """Every catalog model id (disabled ones marked), plus any id already chosen."""
    rows = Model.objects.order_by("public_id").values_list("public_id", "enabled")
    choices = [(pid, pid if enabled else f"{pid} (disabled)") for pid, enabled in rows]
    known = {pid for pid, _ in choices}
    choices += [(pid, f"{pid} (not in the catalog)") for pid in current or [] if pid not in known]
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
