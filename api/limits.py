"""Limits on what one request, and one tenant, may ask of the API.

- Request size: every body is capped (`max_request_bytes`, 1 MiB by default) as it is
  read, by FastAPI's own `max_body_size` (`create_app` sets it); the campaigns router,
  which takes contacts inline or a CSV, gets `max_upload_bytes` plus room for the
  multipart envelope, so the CSV's own check answers first with its clearer message.
  Over the cap: 413 (Starlette's "Content Too Large").
- Rates: campaign creation, and CSV uploads on top, take a token from the tenant's
  bucket (`centralita.tenants_rate`, in Postgres, so every API process shares it).
  An empty bucket: 429 with `Retry-After` in seconds.
- Pagination: list routes take `limit` (bounded) and `offset`, or a cursor.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import HTTPException, Query, status

from api.services import ApiServices
from centralita.settings import Settings
from centralita.tenants_rate import BucketRule, take

# A multipart body is a little larger than the file it carries.
MULTIPART_ALLOWANCE_BYTES = 64 * 1024

PageLimit = Annotated[int, Query(ge=1, le=500, description="At most this many items.")]
# Postgres reads OFFSET as a bigint: a larger one would fail there (a 500); a 422 here.
MAX_OFFSET = 2**63 - 1
PageOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Skip this many items.")]

RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "the tenant's rate for this is used up; retry after `Retry-After` s",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    }
}


def upload_body_limit(settings: Settings) -> int:
    """Bytes a campaign-creation body may have: the upload, and room for its envelope."""
    return settings.max_upload_bytes + MULTIPART_ALLOWANCE_BYTES


def campaign_rule(settings: Settings) -> BucketRule:
    """Campaigns a tenant may create."""
    return BucketRule(
        "campaign_create", settings.campaign_create_per_minute, settings.campaign_create_burst
    )


def csv_upload_rule(settings: Settings) -> BucketRule:
    """CSV uploads a tenant may send."""
    return BucketRule("csv_upload", settings.csv_upload_per_minute, settings.csv_upload_burst)


async def take_or_429(services: ApiServices, tenant_id: str, rule: BucketRule) -> None:
    """Take a token from the tenant's bucket, or refuse the request.

    Raises:
        HTTPException: 429 with `Retry-After` (seconds).
    """
    taken = await take(services.pool, tenant_id, rule)
    if not taken.allowed:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"rate limit {rule.name!r}: {rule.per_minute:g} a minute, bursts of "
            f"{rule.burst}; retry in {taken.retry_after_s} s",
            headers={"Retry-After": str(taken.retry_after_s)},
        )
