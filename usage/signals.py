"""Signals this app owns, so apps above it react to usage without being imported here."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the draining transaction with ``events``: the ``UsageEvent`` list that was
# just recorded (each request id once, ever). Billing settles them in the same transaction.
usage_recorded = Signal()
