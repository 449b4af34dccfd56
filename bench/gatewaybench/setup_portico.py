"""Run inside a Portico environment (``PORTICO_VAR_DIR`` etc. set by the caller).

    python bench/gatewaybench/setup_portico.py seed FAKE_BASE_URL   # prints {"key": ...}
    python bench/gatewaybench/setup_portico.py drain                # prints {"records": ...}

``seed`` creates the benchmark user with a large funded wallet, a provider on the fake
upstream, an unpriced and a priced model on it, and an API key with a huge RPM.
``drain`` moves every pending usage event into the database, as the Celery beat task would.
"""

from __future__ import annotations

import os
import sys
import time
from decimal import Decimal
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

EMAIL = "bench@portico.local"
FREE_MODEL = "bench-free"
PRICED_MODEL = "bench-priced"
UPSTREAM_MODEL = "fake-llm"
WALLET_USD = Decimal("1000000")
KEY_RPM = 10_000_000


def seed(fake_base_url: str) -> dict[str, str]:
    from accounts.keys import issue_key
    from accounts.models import User
    from billing.credits import credit
    from billing.wallets import current_organization_id
    from catalog.models import Deployment, Model, Provider

    user = User.objects.create_user(EMAIL, password=None)
    credit(
        current_organization_id(user), WALLET_USD, kind="adjustment", idempotency_key="bench-fund"
    )
    provider = Provider.objects.create(
        name="fake", kind="openai", base_url=fake_base_url, first_byte_timeout=60
    )
    provider.set_api_key("bench-upstream-secret")
    provider.save()
    prices = {FREE_MODEL: ("0", "0"), PRICED_MODEL: ("1", "2")}
    for public_id, (price_in, price_out) in prices.items():
        model = Model.objects.create(
            public_id=public_id,
            type="llm",
            input_price_per_1m=Decimal(price_in),
            output_price_per_1m=Decimal(price_out),
        )
        Deployment.objects.create(model=model, provider=provider, upstream_model=UPSTREAM_MODEL)
    issued = issue_key(user, "bench", rpm=KEY_RPM)
    return {"key": issued.secret}


def drain() -> dict[str, float]:
    from usage.drain import drain_usage

    started = time.perf_counter()
    total = 0
    for _ in range(1000):  # bounded: 1000 x 50 batches x 2000 events
        recorded = drain_usage()
        total += recorded
        if not recorded:
            break
    return {"records": total, "seconds": time.perf_counter() - started}


def main() -> None:
    import django

    django.setup()
    command = sys.argv[1]
    result = seed(sys.argv[2]) if command == "seed" else drain()
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
