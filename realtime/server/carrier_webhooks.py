"""The carriers' webhooks to the media worker: call status and answering-machine results.

Every webhook is verified before anything is read from it: Twilio signs each request
with the account's auth token over the URL it requested and the form
(`X-Twilio-Signature`, `centralita.telephony.signatures`). A missing or wrong signature
answers 403 and changes nothing; so does a callback for an attempt this worker is not
ringing (answered 204, logged: Twilio retries failures, and there is nothing to retry).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from centralita.telephony.signatures import verify_twilio
from realtime.carrier.twilio import STATUS_PATH, TwilioDialer

log = logging.getLogger(__name__)

TWILIO_SIGNATURE = "X-Twilio-Signature"


TwilioDialers = Callable[[str], TwilioDialer | None]


def twilio_webhook_router(dialers: TwilioDialer | TwilioDialers) -> APIRouter:
    """Twilio's status and AMD callbacks for the calls the dialers place: one dialer, or
    the dialer of the account a callback names (`AccountSid`, each tenant's own)."""
    router = APIRouter()
    lookup = _only(dialers) if isinstance(dialers, TwilioDialer) else dialers

    @router.post(STATUS_PATH, include_in_schema=False)
    async def status(request: Request) -> Response:
        form = await request.form()
        pairs = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
        fields = dict(pairs)
        # The account named is only a hint of which token to check with: nothing else
        # is read before the signature holds.
        dialer = lookup(fields.get("AccountSid", ""))
        if dialer is None:
            log.warning("Twilio callback refused: not one of our accounts")
            return JSONResponse({"detail": "invalid X-Twilio-Signature"}, status_code=403)
        # Twilio signs the public URL it requested: our public base, not the address a
        # proxy forwarded the request to.
        query = f"?{request.url.query}" if request.url.query else ""
        url = f"{dialer.config.public_base.rstrip('/')}{request.url.path}{query}"
        signature = request.headers.get(TWILIO_SIGNATURE, "")
        if not signature or not verify_twilio(dialer.auth_token, url, pairs, signature):
            log.warning("Twilio callback refused: bad or missing signature (%s)", url[:120])
            return JSONResponse({"detail": "invalid X-Twilio-Signature"}, status_code=403)
        key = request.query_params.get("key", "")
        if not dialer.status_callback(key, fields):
            log.info("Twilio callback for an attempt not ringing here: %s", key[:80])
        return Response(status_code=204)

    return router


def _only(dialer: TwilioDialer) -> TwilioDialers:
    sid = dialer.calls.account.account_sid
    return lambda account_sid: dialer if account_sid == sid else None
