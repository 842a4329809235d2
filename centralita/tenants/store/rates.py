"""Per-tenant token buckets in Postgres, shared by every API process.

A bucket holds at most `burst` tokens and refills at `per_minute` tokens a minute; a
request takes one token or is refused with the seconds until one is there. The state
lives in `rate_buckets` (one row per tenant and bucket) and is read and written under
a row lock with the database's clock, so any number of API processes (and their
clocks) share one limit. Buckets are taken on rare, expensive requests (creating a
campaign, uploading a CSV), where one extra round trip is nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from centralita.kernel.db import Pool


@dataclass(frozen=True)
class BucketRule:
    """How fast one kind of request may come, per tenant."""

    name: str
    per_minute: float
    burst: int


@dataclass(frozen=True)
class Taken:
    """The answer of `take`: allowed, or refused with when to come back."""

    allowed: bool
    retry_after_s: int  # 0 when allowed
    remaining: float


async def take(pool: Pool, tenant_id: str, rule: BucketRule) -> Taken:
    """Take one token from the tenant's bucket `rule.name`, if there is one."""
    rate_per_s = rule.per_minute / 60.0
    async with pool.connection() as conn, conn.transaction():
        # A new bucket starts full.
        await conn.execute(
            "INSERT INTO rate_buckets (tenant_id, bucket, tokens, updated_at) "
            "VALUES (%s, %s, %s, now()) ON CONFLICT (tenant_id, bucket) DO NOTHING",
            (tenant_id, rule.name, float(rule.burst)),
        )
        cur = await conn.execute(
            "SELECT least(%s::float8, tokens + greatest(0, extract(epoch FROM now() - updated_at)) "
            "* %s::float8) AS available FROM rate_buckets "
            "WHERE tenant_id = %s AND bucket = %s FOR UPDATE",
            (float(rule.burst), rate_per_s, tenant_id, rule.name),
        )
        row = await cur.fetchone()
        assert row is not None  # inserted above, or there already
        available = float(row["available"])
        allowed = available >= 1.0
        left = available - 1.0 if allowed else available
        await conn.execute(
            "UPDATE rate_buckets SET tokens = %s, updated_at = now() "
            "WHERE tenant_id = %s AND bucket = %s",
            (left, tenant_id, rule.name),
        )
    if allowed:
        return Taken(allowed=True, retry_after_s=0, remaining=left)
    wait = (1.0 - available) / rate_per_s if rate_per_s > 0 else 3600.0
    return Taken(allowed=False, retry_after_s=max(1, math.ceil(wait)), remaining=left)
