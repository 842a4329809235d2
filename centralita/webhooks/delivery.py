"""One logged delivery attempt: the body, the signature, the POST, the log line's start.

Shared by the attempt activity (which then decides retries) and the API's test send
(one attempt, reported at once). The same `webhook-id` (the event id) goes with every
attempt and replay of a delivery, so a receiver deduplicates on it.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

import httpx

from centralita.kernel.db import Pool
from centralita.kernel.events import envelope
from centralita.webhooks import store
from centralita.webhooks.sender import AttemptOutcome, send
from centralita.webhooks.signing import signed_headers


class UnsignableDeliveryError(ValueError):
    """A stored secret is malformed: no attempt can be signed until it is replaced."""


def delivery_body(event_type: str, occurred_at: datetime, payload: dict[str, Any]) -> bytes:
    """The exact bytes POSTed: the ``{type, timestamp, data}`` envelope as compact JSON."""
    document = envelope(event_type, occurred_at, payload)
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


async def logged_attempt(
    pool: Pool,
    target: store.AttemptTarget,
    *,
    timeout_s: float,
    allow_hosts: Collection[str],
    client: httpx.AsyncClient | None = None,
) -> tuple[int, AttemptOutcome]:
    """Sign and send the delivery once, its attempt logged as started first.

    Returns the attempt's number and outcome; the caller completes the log line
    (`store.finish_attempt`) with the status it decides.

    Raises:
        UnsignableDeliveryError: a stored secret is malformed (nothing sent or logged).
    """
    body = delivery_body(target.event_type, target.occurred_at, target.payload)
    try:
        headers = signed_headers(target.secrets, target.event_id, body)
    except ValueError as exc:
        raise UnsignableDeliveryError(str(exc)) from exc
    async with pool.connection() as conn:
        number = await store.begin_attempt(conn, target.delivery_id)
    outcome = await send(
        target.url, headers, body, timeout_s=timeout_s, allow_hosts=allow_hosts, client=client
    )
    return number, outcome
