"""A local WhatsApp Cloud API (Meta's Graph API): sending messages, and the signed
webhook that reports their statuses.

It speaks the Cloud API's wire protocol: ``POST /{version}/{phone_number_id}/messages``
with ``Authorization: Bearer <access token>`` and JSON ``{"messaging_product":
"whatsapp", "to", "type": "text", "text": {"body", "preview_url"}}`` (or ``"type":
"template"`` with ``template: {name, language: {code}, components}``); 200 with
``{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id":
"wamid.…"}]}``. Refusals carry ``{"error": {"message", "type", "code", "error_data",
"fbtrace_id"}}``: 190 (the token), 100 (an unknown phone number id, a missing or
invalid parameter), 131030 (a `to` not in the test number's allowed list).

Then, as Meta does, it posts the message's statuses (``sent``, ``delivered``) to the
app's webhook (`webhook_url`), signed in ``X-Hub-Signature-256`` with the app secret;
`subscribe` runs Meta's GET verification handshake against it first.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import Request, Response
from fastapi.responses import JSONResponse

from centralita.kernel.tasks import stop_tasks
from tests.support.fakes.loopback import LoopbackServer

_DIGITS = re.compile(r"^\+?[1-9][0-9]{6,14}$")


@dataclass
class FakeWaMessage:
    """One message sent through the fake, and the webhooks it made."""

    id: str
    to: str
    payload: dict[str, Any]
    # (status sent, HTTP status our webhook answered)
    callbacks: list[tuple[str, int]] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)


class FakeMetaWhatsApp(LoopbackServer):
    """`async with FakeMetaWhatsApp(...) as meta:` serves the Graph API at `origin`."""

    def __init__(
        self,
        *,
        phone_number_id: str = "106540352242922",
        access_token: str = "EAAG-meta-access-token-0001",  # noqa: S107 (a test app's)
        app_secret: str = "meta-app-secret-000000000001",  # noqa: S107
        version: str = "v21.0",
        statuses: tuple[str, ...] = ("sent", "delivered"),
        allowed: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__()
        self.phone_number_id = phone_number_id
        self.access_token = access_token
        self.app_secret = app_secret
        self.statuses = statuses
        self.allowed = {a.removeprefix("+") for a in allowed} if allowed is not None else None
        self.webhook_url: str | None = None  # the app's webhook, set like the dashboard does
        self.messages: list[FakeWaMessage] = []
        self.refusals: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.app.post(f"/{version}/{{phone_number_id}}/messages")(self._send)

    async def __aexit__(self, *exc: object) -> None:
        await stop_tasks(self._tasks, timeout_s=5, what="fake Meta webhooks")
        await super().__aexit__(*exc)

    async def subscribe(self, url: str, verify_token: str) -> bool:
        """Meta's verification handshake: True when `url` echoed the challenge."""
        challenge = secrets.token_hex(8)
        params = {
            "hub.mode": "subscribe",
            "hub.verify_token": verify_token,
            "hub.challenge": challenge,
        }
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.get(url, params=params)
        if answer.status_code == 200 and answer.text == challenge:
            self.webhook_url = url
            return True
        return False

    async def _send(self, phone_number_id: str, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return self._error(
                401, 190, "Invalid OAuth access token - Cannot parse access token", "OAuthException"
            )
        if phone_number_id != self.phone_number_id:
            return self._error(
                400,
                100,
                f"Unsupported post request. Object with ID '{phone_number_id}' does not exist",
                "GraphMethodException",
            )
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return self._error(400, 100, "(#100) Invalid JSON")
        problem = _payload_problem(payload)
        if problem is not None:
            return self._error(400, 100, "(#100) Invalid parameter", details=problem)
        to = str(payload["to"]).removeprefix("+")
        if self.allowed is not None and to not in self.allowed:
            return self._error(
                400,
                131030,
                "(#131030) Recipient phone number not in allowed list",
                details="Add recipient phone number to recipient list and try again.",
            )
        wamid = "wamid." + base64.b64encode(secrets.token_bytes(24)).decode()
        message = FakeWaMessage(id=wamid, to=to, payload=payload)
        self.messages.append(message)
        task = asyncio.create_task(self._report(message), name=f"fake-meta-{wamid[:16]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": payload["to"], "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    async def _report(self, message: FakeWaMessage) -> None:
        """Post the message's statuses to the app's webhook, signed, in order."""
        try:
            if self.webhook_url is None:
                return
            async with httpx.AsyncClient(timeout=10) as client:
                for status in self.statuses:
                    await asyncio.sleep(0.02)
                    body = json.dumps(self._webhook(message, status)).encode()
                    digest = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
                    answer = await client.post(
                        self.webhook_url,
                        content=body,
                        headers={
                            "Content-Type": "application/json",
                            "X-Hub-Signature-256": f"sha256={digest}",
                        },
                    )
                    message.callbacks.append((status, answer.status_code))
        finally:
            message.done.set()

    def _webhook(self, message: FakeWaMessage, status: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": message.id,
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": message.to,
        }
        if status in ("sent", "delivered"):
            entry["conversation"] = {"id": secrets.token_hex(16), "origin": {"type": "utility"}}
            entry["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "utility"}
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550783881",
                                    "phone_number_id": self.phone_number_id,
                                },
                                "statuses": [entry],
                            },
                        }
                    ],
                }
            ],
        }

    def _error(
        self,
        http_status: int,
        code: int,
        message: str,
        type_: str = "OAuthException",
        *,
        details: str | None = None,
    ) -> Response:
        error: dict[str, Any] = {
            "message": message,
            "type": type_,
            "code": code,
            "fbtrace_id": secrets.token_urlsafe(12),
        }
        if details is not None:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        self.refusals.append(error)
        return JSONResponse({"error": error}, status_code=http_status)


def _payload_problem(payload: Any) -> str | None:
    """What the Cloud API would refuse in a message's body (None: nothing)."""
    if not isinstance(payload, dict) or payload.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if not isinstance(payload.get("to"), str) or not _DIGITS.fullmatch(payload["to"]):
        return "to must be a phone number"
    kind = payload.get("type", "text")
    if kind == "text":
        text = payload.get("text")
        body = text.get("body") if isinstance(text, dict) else None
        if not isinstance(body, str) or not 1 <= len(body) <= 4096:
            return "text.body is required (1 to 4096 characters)"
        return None
    if kind == "template":
        template = payload.get("template")
        if not isinstance(template, dict) or not template.get("name"):
            return "template.name is required"
        language = template.get("language")
        if not isinstance(language, dict) or not language.get("code"):
            return "template.language.code is required"
        return None
    return f"type {kind} is not supported here"
