"""WhatsApp through Meta's WhatsApp Cloud API (the Graph API).

``POST {base}/{version}/{phone_number_id}/messages`` with ``Authorization: Bearer
<access token>`` and JSON ``{"messaging_product": "whatsapp", "recipient_type":
"individual", "to": "<digits>", "type": "text", "text": {"body", "preview_url": true}}``
(`preview_url` so the link shows its page's preview). Outside the 24 hours after the
person last wrote, a business may only start with an approved template: a sender with
one sends ``"type": "template"`` with the name and link as the body's parameters. A
200 answers ``{"messages": [{"id": "wamid.…"}]}``; a refusal
``{"error": {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}}``
(190: the token; 100: a bad parameter; 131030: a number not in the allowed list).
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


class MetaWhatsApp:
    """A tenant's WhatsApp business number on Meta's Cloud API."""

    @property
    def provider(self) -> str:
        """``meta``."""
        return "meta"

    def __init__(
        self,
        *,
        phone_number_id: str,
        access_token: str,
        api_base: str = "https://graph.facebook.com",
        api_version: str = "v21.0",
        template_name: str | None = None,
        template_language: str = "es",
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._url = f"{api_base.rstrip('/')}/{api_version}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._template = template_name
        self._template_language = template_language
        self._timeout = timeout_s

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        """The request's JSON body for `message`."""
        base: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.to.removeprefix("+"),  # Meta's examples: digits only
        }
        if self._template is None:
            return base | {"type": "text", "text": {"body": message.body, "preview_url": True}}
        parameters = [{"type": "text", "text": p} for p in message.template_parameters]
        template: dict[str, Any] = {
            "name": self._template,
            "language": {"code": self._template_language},
        }
        if parameters:
            template["components"] = [{"type": "body", "parameters": parameters}]
        return base | {"type": "template", "template": template}

    async def send(self, message: OutgoingMessage) -> SentMessage:
        """Send the message through the Cloud API.

        Raises:
            SendError: Meta's error `code` and `message`, or `unreachable`/`bad_response`.
        """
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                answer = await client.post(
                    self._url, json=self.payload(message), headers=self._headers
                )
        except httpx.HTTPError as exc:
            raise SendError(
                "unreachable", f"Meta did not answer: {type(exc).__name__}", retryable=True
            ) from exc
        body = _json(answer)
        if answer.status_code != 200:
            raise _refusal(answer.status_code, body)
        messages = body.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else None
        message_id = first.get("id") if isinstance(first, dict) else None
        if not isinstance(message_id, str):
            raise SendError("bad_response", "Meta's answer has no messages[0].id")
        status = first.get("message_status", "accepted") if isinstance(first, dict) else "accepted"
        return SentMessage(provider_message_id=message_id, status=str(status), raw=body)


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _refusal(http_status: int, body: dict[str, Any]) -> SendError:
    error = body.get("error")
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    message = error.get("message")
    details = error.get("error_data", {})
    detail = details.get("details") if isinstance(details, dict) else None
    text = message if isinstance(message, str) else f"HTTP {http_status}"
    if isinstance(detail, str):
        text = f"{text} ({detail})"
    return SendError(
        str(code) if code is not None else f"http_{http_status}",
        f"Meta refused the message: {text}",
        http_status=http_status,
        retryable=is_retryable_status(http_status),
    )
