"""Limits on what one request, and one tenant, may ask of the API.

- Request size: every body is capped (`max_request_bytes`, 1 MiB by default) as it is
  read, by FastAPI's own `max_body_size` (`create_app` sets it); the campaigns router,
  which takes contacts inline or a CSV, gets `max_upload_bytes` plus room for the
  multipart envelope, so the CSV's own check answers first with its clearer message.
  Over the cap: 413 with the JSON problem body every error has (`{"detail": "the
  request body is over the limit of N bytes (max_request_bytes)"}`): Starlette answers
  a plain-text "Content Too Large", which `JsonBodyLimitAnswers` rewrites.
- Rates: campaign creation, and CSV uploads on top, take a token from the tenant's
  bucket (`centralita.tenants.store.rates`, in Postgres, so every API process shares it).
  An empty bucket: 429 with `Retry-After` in seconds.
- Pagination: list routes take `limit` (bounded) and `offset`, or a cursor.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import HTTPException, Query, status
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.services import ApiServices
from centralita.kernel.settings import Settings
from centralita.tenants.store.rates import BucketRule, take

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


def too_large_detail(settings: Settings, limit: int | None) -> str:
    """What a 413 of the body limit says: the limit in bytes and the setting behind it."""
    if limit is None:
        return "the request body is over the size limit"
    if limit == upload_body_limit(settings):
        setting = (
            f"max_upload_bytes ({settings.max_upload_bytes}) plus "
            f"{MULTIPART_ALLOWANCE_BYTES} for a multipart envelope"
        )
    elif limit == settings.max_request_bytes:
        setting = "max_request_bytes"
    else:
        return f"the request body is over the limit of {limit} bytes"
    return f"the request body is over the limit of {limit} bytes ({setting})"


class JsonBodyLimitAnswers:
    """Give the body limit's 413 the JSON problem body of every other error.

    Starlette's body limit (FastAPI's `max_body_size`) answers a plain-text "Content Too
    Large" when the declared length is over it or its exception leaves the app, and
    `{"detail": "Content Too Large"}` when FastAPI catches that exception; clients and the
    OpenAPI schema (api/openapi_errors.py) expect `{"detail": ...}` saying what was too
    large. This rewrites exactly those answers, naming the limit that applied; a route's
    own 413 (the CSV, the contact count) and every other answer pass through untouched.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []  # a 413's messages, until its body is whole

        async def send_413_as_json(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 413:
                held.append(message)
                return
            if not held:
                await send(message)
                return
            held.append(message)
            if message.get("more_body", False):
                return
            body = b"".join(m.get("body", b"") for m in held[1:])
            if body.strip() not in _BODY_LIMIT_ANSWERS:
                for kept in held:  # a route's own 413: as it was
                    await send(kept)
                return
            detail = too_large_detail(self.settings, scope.get(MAX_BODY_SIZE_SCOPE_KEY))
            json_body = json.dumps({"detail": detail}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(json_body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": json_body})

        await self.app(scope, receive, send_413_as_json)


# What Starlette's body limit answers, as text or through FastAPI's HTTPException handler.
_BODY_LIMIT_ANSWERS = frozenset({b"Content Too Large", b'{"detail":"Content Too Large"}'})
