"""WhatsApp through Twilio's Programmable Messaging API.

``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded, HTTP
Basic with the Account SID and auth token; `To` and `From` are ``whatsapp:+E164``,
`Body` the text, `StatusCallback` where Twilio posts the message's statuses (signed
with the auth token, see `status_reports`). A 201 carries the message's `sid`
(``SM…``) and `status` (``queued``, or ``accepted`` through a Messaging Service). A
refusal carries ``{"code", "message", "more_info", "status"}`` (21211: an invalid
`To`; 63007: the `From` is not a WhatsApp sender of the account; 20003: bad
credentials).
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from centralita.messaging.sender import (
    OutgoingMessage,
    SendError,
    SentMessage,
    is_retryable_status,
)

DEFAULT_TIMEOUT_S: Final = 10.0
WHATSAPP_PREFIX: Final = "whatsapp:"


def whatsapp_address(number: str) -> str:
    """``whatsapp:+E164``, the form Twilio's `To` and `From` take for WhatsApp."""
    return number if number.startswith(WHATSAPP_PREFIX) else f"{WHATSAPP_PREFIX}{number}"


class TwilioWhatsApp:
    """A tenant's WhatsApp sender at Twilio: one account, one `from_number`."""

    @property
    def provider(self) -> str:
        """``twilio``."""
        return "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base: str = "https://api.twilio.com",
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._account_sid = account_sid
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._from = whatsapp_address(from_number)
        self._url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._timeout = timeout_s

    async def send(self, message: OutgoingMessage) -> SentMessage:
        """Create the message at Twilio.

        Raises:
            SendError: Twilio's `code` and `message`, or `unreachable`/`bad_response`.
        """
        form = {"To": whatsapp_address(message.to), "From": self._from, "Body": message.body}
        if message.status_callback:
            form["StatusCallback"] = message.status_callback
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                answer = await client.post(self._url, data=form, auth=self._auth)
        except httpx.HTTPError as exc:
            raise SendError(
                "unreachable", f"Twilio did not answer: {type(exc).__name__}", retryable=True
            ) from exc
        body = _json(answer)
        if answer.status_code not in (200, 201):
            raise _refusal(answer.status_code, body)
        sid, status = body.get("sid"), body.get("status")
        if not isinstance(sid, str) or not isinstance(status, str):
            raise SendError("bad_response", "Twilio's answer has no message sid or status")
        return SentMessage(provider_message_id=sid, status=status, raw=body)


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _refusal(http_status: int, body: dict[str, Any]) -> SendError:
    code = body.get("code")
    message = body.get("message")
    return SendError(
        str(code) if code is not None else f"http_{http_status}",
        f"Twilio refused the message: {message if isinstance(message, str) else http_status}",
        http_status=http_status,
        retryable=is_retryable_status(http_status),
    )
