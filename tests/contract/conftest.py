"""Contract tests run the real server against the fake upstream (the gateway's fixtures),
with the retrieval and OCR models priced in the catalog."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.gateway.conftest import (  # noqa: F401 - fixtures
    add_model,
    catalog,
    client_for,
    fake,
    funded,
    make_key,
    server,
    upstream,
)


@pytest.fixture
def priced(catalog):  # noqa: F811 - the fixture imported above
    add_model(
        "portico/alretrieval",
        [(catalog["local"], "alretrieval", 1)],
        type="retrieval",
        unit_price=Decimal("0.002"),
    )
    add_model("portico/ocr", [(catalog["local"], "ocr", 1)], type="ocr", unit_price=Decimal("0.01"))
