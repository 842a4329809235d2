"""A local Twilio for WhatsApp: the Messages API and its signed status callbacks.

It speaks Twilio's wire protocol: form-encoded ``POST
/2010-04-01/Accounts/{Sid}/Messages.json`` with HTTP Basic (Account SID, auth token);
`To` and `From` as ``whatsapp:+E164``, `Body`, `StatusCallback`; 201 with the message's
``sid`` (``SM…``) and ``status`` ``queued``. Refusals carry Twilio's
``{"code", "message", "more_info", "status"}``: 20003 (credentials), 21604 / 21602 (no
`To` / no `Body`), 21211 (a `To` that is not a ``whatsapp:`` E.164 number while `From`
is a WhatsApp sender), 63007 (a `From` that is no WhatsApp sender of the account).

Then, as Twilio does, it posts the message's statuses to its `StatusCallback`, in order
(``sent``, ``delivered`` by default; ``failed`` with `ErrorCode` 63016 for a number in
`outside_window`), each signed by Twilio's own `RequestValidator` (the `twilio` package),
so our verification is checked against Twilio's code.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from twilio.request_validator import RequestValidator

from centralita.kernel.tasks import stop_tasks
from tests.support.fakes.loopback import LoopbackServer

_WHATSAPP_E164 = re.compile(r"^whatsapp:\+[1-9][0-9]{6,14}$")


@dataclass
class FakeMessage:
    """One message on the fake account, and the callbacks it made."""

    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    # (status sent, HTTP status our receiver answered)
    callbacks: list[tuple[str, int]] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)


class FakeTwilioWhatsApp(LoopbackServer):
    """`async with FakeTwilioWhatsApp(...) as twilio:` serves the account at `origin`."""

    def __init__(
        self,
        *,
        account_sid: str = "AC" + "1" * 32,
        auth_token: str = "twilio-whatsapp-token-0001",  # noqa: S107 (a test account's)
        senders: tuple[str, ...] = ("+56229990001",),
        statuses: tuple[str, ...] = ("sent", "delivered"),
        outside_window: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.senders = {f"whatsapp:{n}" for n in senders}
        self.statuses = statuses
        self.outside_window = {f"whatsapp:{n}" for n in outside_window}
        self.messages: list[FakeMessage] = []
        self.refusals: list[dict[str, Any]] = []
        self._validator = RequestValidator(auth_token)
        self._tasks: set[asyncio.Task[None]] = set()
        self.app.post("/2010-04-01/Accounts/{account}/Messages.json")(self._create)

    async def __aexit__(self, *exc: object) -> None:
        await stop_tasks(self._tasks, timeout_s=5, what="fake Twilio WhatsApp callbacks")
        await super().__aexit__(*exc)

    async def _create(self, account: str, request: Request) -> Response:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if (
            request.headers.get("Authorization") != f"Basic {expected}"
            or account != self.account_sid
        ):
            return self._error(401, 20003, "Authenticate")
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return self._error(400, 21604, "A 'To' phone number is required.")
        if not body:
            return self._error(400, 21602, "Message body is required.")
        if from_ not in self.senders:
            return self._error(
                400,
                63007,
                f"Twilio could not find a Channel with the specified From address: {from_}",
            )
        if not _WHATSAPP_E164.fullmatch(to):
            return self._error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        message = FakeMessage(
            sid="SM" + secrets.token_hex(16),
            to=to,
            from_=from_,
            body=body,
            status_callback=form.get("StatusCallback"),
        )
        self.messages.append(message)
        task = asyncio.create_task(self._report(message), name=f"fake-twilio-wa-{message.sid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return JSONResponse(self._json(message, "queued"), status_code=201)

    def _json(self, message: FakeMessage, status: str) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        return {
            "sid": message.sid,
            "account_sid": self.account_sid,
            "to": message.to,
            "from": message.from_,
            "body": message.body,
            "status": status,
            "direction": "outbound-api",
            "num_segments": "1",
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "error_code": None,
            "error_message": None,
            "price": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.sid}.json",
        }

    async def _report(self, message: FakeMessage) -> None:
        """Post the message's statuses to its callback, in order, as Twilio does."""
        try:
            if message.status_callback is None:
                return
            statuses = ("sent", "failed") if message.to in self.outside_window else self.statuses
            async with httpx.AsyncClient(timeout=10) as client:
                for status in statuses:
                    await asyncio.sleep(0.02)
                    params = {
                        "MessageSid": message.sid,
                        "SmsSid": message.sid,
                        "MessageStatus": status,
                        "SmsStatus": status,
                        "AccountSid": self.account_sid,
                        "From": message.from_,
                        "To": message.to,
                        "ApiVersion": "2010-04-01",
                        "ChannelPrefix": "whatsapp",
                        "ChannelToAddress": message.to.removeprefix("whatsapp:"),
                    }
                    if status == "failed":
                        params["ErrorCode"] = "63016"
                    signature = self._validator.compute_signature(message.status_callback, params)
                    answer = await client.post(
                        message.status_callback,
                        data=params,
                        headers={"X-Twilio-Signature": signature},
                    )
                    message.callbacks.append((status, answer.status_code))
        finally:
            message.done.set()

    def _error(self, http_status: int, code: int, text: str) -> Response:
        body = {
            "code": code,
            "message": text,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": http_status,
        }
        self.refusals.append(body)
        return JSONResponse(body, status_code=http_status)
