"""What the migrations must create: the product's tables."""

from __future__ import annotations

PRODUCT_TABLES = [
    "tenants",
    "agents",
    "campaigns",
    "contacts",
    "call_attempts",
    "calls",
    "call_events",
    "call_turns",
    "transcripts",
    "webhooks",
    "webhook_deliveries",
    "corrections",
    "opt_outs",
]
