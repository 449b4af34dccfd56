"""Fixtures shared by the page tests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Deployment, Model, Provider
from usage.drain import discard_pending_events


@pytest.fixture
def local_models(transactional_db):
    """The built-in test model (priced) and a second one that keys will not allow."""
    discard_pending_events()
    local = Provider.objects.create(name="local", kind="local")
    for public_id in ("portico/test-chat", "portico/other-chat"):
        model = Model.objects.create(
            public_id=public_id,
            input_price_per_1m=Decimal("0.5"),
            output_price_per_1m=Decimal("1.5"),
        )
        Deployment.objects.create(model=model, provider=local, upstream_model="test-chat")
    return local
