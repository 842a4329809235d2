"""Telnyx's Call Control webhooks to the media worker: `POST /carrier/telnyx/events`.

Every webhook is verified before anything is read from it: Telnyx signs the raw body
with the account's Ed25519 key, `telnyx-signature-ed25519` over `"{telnyx-timestamp}|"`
followed by the body, and the timestamp must be within five minutes of now
(`centralita.telephony.signatures.verify_telnyx`). A missing, wrong or stale signature
answers 403 and changes nothing. A verified event names its attempt in `client_state`
(the key, base64, as the dialer set it when it dialled); one for an attempt this worker
is not ringing, or with no attempt at all, is answered 200 and logged: Telnyx retries
failed deliveries, and there is nothing to retry.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from centralita.telephony.signatures import (
    TELNYX_SIGNATURE_HEADER,
    TELNYX_TIMESTAMP_HEADER,
    SignatureError,
    verify_telnyx,
)
from realtime.carrier.telnyx import EVENTS_PATH, TelnyxDialer, attempt_key

log = logging.getLogger(__name__)


TelnyxDialers = Callable[[str], TelnyxDialer | None]


def telnyx_webhook_router(dialers: TelnyxDialer | TelnyxDialers) -> APIRouter:
    """Telnyx's call events (status, AMD, streaming) for the calls the dialers place: one
    dialer, or the dialer of the account an event names (its `connection_id`)."""
    router = APIRouter()
    lookup = _only(dialers) if isinstance(dialers, TelnyxDialer) else dialers

    @router.post(EVENTS_PATH, include_in_schema=False)
    async def events(request: Request) -> Response:
        body = await request.body()  # the raw bytes: the signature covers exactly these
        signature = request.headers.get(TELNYX_SIGNATURE_HEADER, "")
        timestamp = request.headers.get(TELNYX_TIMESTAMP_HEADER, "")
        if not signature or not timestamp:
            log.warning("Telnyx webhook refused: unsigned")
            return refused("missing telnyx-signature-ed25519 or telnyx-timestamp")
        # The account named is only a hint of which key to check with: nothing else is
        # read before the signature holds.
        dialer = lookup(_connection_id(body))
        if dialer is None:
            log.warning("Telnyx webhook refused: not one of our accounts")
            return refused("invalid signature: unknown account")
        try:
            verify_telnyx(dialer.public_key, body, signature, timestamp)
        except SignatureError as exc:
            log.warning("Telnyx webhook refused: %s (%s)", exc.reason, exc)
            return refused(f"invalid signature: {exc.reason}")
        event = parse_event(body)
        if event is None:
            log.warning("Telnyx webhook signed but unreadable: ignored")
            return Response(status_code=200)
        event_type, payload = event
        key = attempt_key(payload.get("client_state"))
        if key is None or not dialer.on_webhook(key, event_type, payload):
            log.info("Telnyx %s for an attempt not ringing here: %s", event_type, (key or "")[:80])
        return Response(status_code=200)

    return router


def _only(dialer: TelnyxDialer) -> TelnyxDialers:
    # One account: every event is checked with its key (an event without a connection
    # id is too; the signature decides).
    return lambda connection_id: dialer


def _connection_id(body: bytes) -> str:
    """`data.payload.connection_id` of an event not verified yet ('' when none)."""
    event = parse_event(body)
    return str(event[1].get("connection_id") or "") if event is not None else ""


def parse_event(body: bytes) -> tuple[str, dict[str, Any]] | None:
    """`data.event_type` and `data.payload` of a webhook; None when it has no such shape."""
    try:
        message = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    data = message.get("data") if isinstance(message, dict) else None
    if not isinstance(data, dict):
        return None
    event_type, payload = data.get("event_type"), data.get("payload")
    if not isinstance(event_type, str) or not isinstance(payload, dict):
        return None
    return event_type, payload


def refused(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=403)
