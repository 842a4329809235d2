"""A local Twilio: the Calls API, signed status callbacks and media streams, on loopback.

It speaks Twilio's wire protocol (see `../shared/design/TELEPHONY.md` and Twilio's
docs): form-encoded `POST /2010-04-01/Accounts/{Sid}/Calls.json` with HTTP Basic
(Account SID, auth token), 201 with the call's `sid`; `POST .../Calls/{Sid}.json` with
`Status=completed|canceled`; `GET .../Calls.json`; error bodies `{"code", "message",
"status"}`. Status callbacks are form POSTs signed by Twilio's own `RequestValidator`
(the `twilio` package), so our verification is checked against Twilio's code, not ours.

Behind each number is a `Persona` (the same ones the WebRTC tests use). Its step for
the n-th call to that number decides: busy, failed, no answer (rings until `Timeout`),
a machine (answers; AMD says `machine_start`), or a person: the call is answered, AMD
says `human`, and the TwiML's `<Connect><Stream>` is opened with its `<Parameter>`s by
a `PhoneCaller` playing the step's conversation, µ-law at real-time pace.

`calls` is the call log, in order: what a real account's call list would show.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from twilio.request_validator import RequestValidator

from centralita.kernel.calls import CallOutcome
from centralita.kernel.tasks import stop_tasks
from realtime.carrier.simulated import Persona, PersonaStep
from realtime.providers.base import TextToSpeech
from realtime.softphone.script import BotLine, BotScript

# A machine's greeting when a voicemail step has no conversation of its own.
VOICEMAIL_GREETING = BotScript(
    lines=[
        BotLine(say="Hola, ha llamado al buzón de voz. Deje su mensaje después de la señal."),
        BotLine(silent_s=30),
    ]
)
# How long a caller gets to end by itself once our side hung up through the API.
CALLER_ENDS_S = 3.0
# How long after answering AMD takes to decide (Twilio: ~2-4 s for a person).
AMD_DELAY_S = 0.5


@dataclass
class FakeCall:
    """One call on the fake account, as its call log shows it."""

    sid: str
    to: str
    from_: str
    form: dict[str, list[str]]
    created_at: datetime
    status: str = "queued"
    answered_by: str | None = None
    duration_s: float = 0.0
    statuses_sent: list[str] = field(default_factory=list)
    hang_up: asyncio.Event = field(default_factory=asyncio.Event)
    stream_parameters: dict[str, str] = field(default_factory=dict)
    report: Any = None  # the PhoneCaller's report, for a conversation
    # TwiML a live call was given (a transfer), in order; set when one ended its stream.
    redirects: list[str] = field(default_factory=list)
    redirected: asyncio.Event = field(default_factory=asyncio.Event)
    parent_sid: str | None = None  # a <Dial>'s child call: the call it was dialled from
    said: list[str] = field(default_factory=list)  # <Say>s the caller heard from Twilio

    def first(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


# (stream url, custom parameters, script, call) -> the caller's report once it hung up.
MediaCaller = Callable[[str, dict[str, str], BotScript, FakeCall], Coroutine[Any, Any, Any]]


class FakeTwilio:
    """The fake account: `app` to serve, `calls` to read back."""

    def __init__(
        self,
        personas: list[Persona],
        *,
        bot_tts: TextToSpeech,
        media_caller: MediaCaller,
        account_sid: str = "AC" + "0" * 32,
        auth_token: str = "test-auth-token",  # noqa: S107 (a test account's)
        time_scale: float = 1.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.calls: list[FakeCall] = []
        self.callbacks_refused = 0
        # Conference rooms and the calls in each, in the order they joined.
        self.conferences: dict[str, list[str]] = {}
        # Told of each call placed, before the Calls API answers.
        self.on_create: Callable[[FakeCall], None] | None = None
        self._personas = {p.number: p for p in personas}
        self._bot_tts = bot_tts
        self._media_caller = media_caller
        self._scale = time_scale
        self._validator = RequestValidator(auth_token)
        self._client = httpx.AsyncClient(timeout=10)
        self._tasks: set[asyncio.Task[None]] = set()
        self.app = self._build()

    async def aclose(self) -> None:
        """Stop every call still running and close the callback client."""
        await stop_tasks(self._tasks, timeout_s=5, what="fake Twilio call")
        await self._client.aclose()

    # -- the REST API ----------------------------------------------------------------------

    def _build(self) -> FastAPI:
        app = FastAPI()
        base = "/2010-04-01/Accounts/{account}"

        @app.post(base + "/Calls.json")
        async def create(account: str, request: Request) -> Response:
            refused = self._authenticate(request, account)
            if refused is not None:
                return refused
            form = await request.form()
            values: dict[str, list[str]] = {}
            for name, value in form.multi_items():
                values.setdefault(name, []).append(str(value))
            return self._create(values)

        @app.post(base + "/Calls/{sid}.json")
        async def update(account: str, sid: str, request: Request) -> Response:
            refused = self._authenticate(request, account)
            if refused is not None:
                return refused
            call = next((c for c in self.calls if c.sid == sid), None)
            if call is None or call.status in _ENDED:
                return _error(404, 20404, f"The requested resource {sid} was not found")
            form = await request.form()
            if form.get("Status") in {"completed", "canceled"}:
                call.hang_up.set()
            twiml = form.get("Twiml")
            if isinstance(twiml, str):
                call.redirects.append(twiml)
                call.redirected.set()  # the stream ends; the call goes on with the TwiML
            return JSONResponse(_call_json(call))

        @app.get(base + "/Calls.json")
        async def listing(account: str, request: Request) -> Response:
            refused = self._authenticate(request, account)
            if refused is not None:
                return refused
            query = request.query_params
            since = query.get("StartTime>")
            calls = [
                c
                for c in reversed(self.calls)
                if query.get("To", c.to) == c.to
                and query.get("From", c.from_) == c.from_
                and (since is None or c.created_at.date().isoformat() >= since)
            ]
            return JSONResponse({"calls": [_call_json(c) for c in calls]})

        return app

    def _authenticate(self, request: Request, account: str) -> Response | None:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if (
            request.headers.get("Authorization") != f"Basic {expected}"
            or account != self.account_sid
        ):
            return _error(401, 20003, "Authenticate")
        return None

    def _create(self, form: dict[str, list[str]]) -> Response:
        to, from_ = (form.get("To") or [""])[0], (form.get("From") or [""])[0]
        if not to.startswith("+") or not to[1:].isdigit():
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not from_.startswith("+"):
            return _error(400, 21212, f"The 'From' number {from_} is not a valid phone number.")
        if not (form.get("Twiml") or form.get("Url")):
            return _error(400, 21205, "Url or Twiml is required.")
        call = FakeCall(
            sid="CA" + secrets.token_hex(16),
            to=to,
            from_=from_,
            form=form,
            created_at=datetime.now(UTC),
        )
        self.calls.append(call)
        task = asyncio.create_task(self._run(call), name=f"fake-twilio-{call.sid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self.on_create is not None:
            self.on_create(call)  # e.g. kill the caller before it hears back
        return JSONResponse(_call_json(call), status_code=201)

    # -- a call's life ---------------------------------------------------------------------

    async def _run(self, call: FakeCall) -> None:
        persona = self._personas.get(call.to)
        attempt = sum(1 for c in self.calls if c.to == call.to)
        step = persona.step_for(attempt) if persona else None
        await self._status(call, "initiated")
        await self._status(call, "ringing")
        ring_limit = float(call.first("Timeout") or 60)
        if step is None or step.outcome is CallOutcome.NO_ANSWER:
            canceled = await self._wait_or_hang_up(call, ring_limit)
            await self._status(call, "canceled" if canceled else "no-answer")
            return
        if step.outcome in {CallOutcome.BUSY, CallOutcome.FAILED}:
            await asyncio.sleep(step.ring_seconds * self._scale)
            await self._status(call, "busy" if step.outcome is CallOutcome.BUSY else "failed")
            return
        if await self._wait_or_hang_up(call, min(step.ring_seconds * self._scale, ring_limit)):
            await self._status(call, "canceled")
            return
        await self._answer(call, step)

    async def _answer(self, call: FakeCall, step: PersonaStep) -> None:
        machine = step.outcome is CallOutcome.VOICEMAIL
        script = step.conversation or (VOICEMAIL_GREETING if machine else None)
        answered = time.monotonic()
        await self._status(call, "in-progress")
        amd = asyncio.create_task(self._amd(call, "machine_start" if machine else "human"))
        try:
            twiml = call.first("Twiml") or ""
            stream = _stream(twiml)
            room = _conference(twiml)
            if room is not None:  # a person called into a room (a warm transfer)
                call.said += _says(twiml)
                self.conferences.setdefault(room, []).append(call.sid)
                await self._wait_or_hang_up(call, max(step.talk_seconds * self._scale, 0.1))
            elif stream is None or script is None:
                await self._wait_or_hang_up(call, max(step.talk_seconds * self._scale, 0.1))
            else:
                call.stream_parameters = stream[1]
                caller = asyncio.create_task(self._media_caller(stream[0], stream[1], script, call))
                hung_up = asyncio.create_task(call.hang_up.wait())
                redirected = asyncio.create_task(call.redirected.wait())
                await asyncio.wait(
                    (caller, hung_up, redirected), return_when=asyncio.FIRST_COMPLETED
                )
                await stop_tasks((hung_up, redirected), what="fake Twilio waits")
                if call.redirected.is_set() and not caller.done():
                    # New TwiML ends the <Connect><Stream>: the carrier closes the socket.
                    await stop_tasks((caller,), timeout_s=5, what="fake Twilio caller")
                    await self._follow(call, call.redirects[-1])
                    return
                if not caller.done():
                    # Our side hung up through the API: the carrier ends the stream. A
                    # caller whose socket our side closed already ends by itself.
                    await asyncio.wait((caller,), timeout=CALLER_ENDS_S)
                if not caller.done():
                    await stop_tasks((caller,), timeout_s=5, what="fake Twilio caller")
                elif caller.exception() is None:
                    call.report = caller.result()
        finally:
            await stop_tasks((amd,), what="fake Twilio AMD")
            call.duration_s = time.monotonic() - answered
            await self._status(call, "completed")

    async def _follow(self, call: FakeCall, twiml: str) -> None:
        """What a live call does with new TwiML: join a room, or dial a number (then say
        what follows the <Dial> when nobody answered)."""
        room = _conference(twiml)
        if room is not None:
            self.conferences.setdefault(room, []).append(call.sid)
            await self._wait_or_hang_up(call, 2.0)
            return
        number = _dialled(twiml)
        if number is None:
            return
        child = FakeCall(
            sid="CA" + secrets.token_hex(16),
            to=number,
            from_=call.to,
            form={"Timeout": [str(_dial_timeout(twiml))]},
            created_at=datetime.now(UTC),
            parent_sid=call.sid,
        )
        self.calls.append(child)
        await self._run(child)
        if child.status != "completed":
            call.said += _says(twiml)

    async def _amd(self, call: FakeCall, answered_by: str) -> None:
        url = call.first("AsyncAmdStatusCallback")
        if call.first("MachineDetection") is None or url is None:
            return
        await asyncio.sleep(AMD_DELAY_S)
        call.answered_by = answered_by
        params = {
            "AccountSid": self.account_sid,
            "CallSid": call.sid,
            "AnsweredBy": answered_by,
            "MachineDetectionDuration": str(int(AMD_DELAY_S * 1000)),
        }
        await self._post_signed(url, params)

    async def _wait_or_hang_up(self, call: FakeCall, seconds: float) -> bool:
        """Wait `seconds` unless our side ends the call first (then True)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(call.hang_up.wait(), seconds)
            return True
        return False

    async def _status(self, call: FakeCall, status: str) -> None:
        call.status = status
        call.statuses_sent.append(status)
        url = call.first("StatusCallback")
        events = set(call.form.get("StatusCallbackEvent", []))
        event = {"in-progress": "answered"}.get(status, status)
        if url is None or (event in {"initiated", "ringing", "answered"} and event not in events):
            return
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": call.sid,
            "CallStatus": status,
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
            "SequenceNumber": str(len(call.statuses_sent) - 1),
            "Timestamp": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
            "CallbackSource": "call-progress-events",
        }
        if status in _ENDED:
            params["CallDuration"] = str(round(call.duration_s))
        await self._post_signed(url, params)

    async def _post_signed(self, url: str, params: dict[str, str]) -> None:
        signature = self._validator.compute_signature(url, params)
        with contextlib.suppress(httpx.HTTPError):
            answer = await self._client.post(
                url, data=params, headers={"X-Twilio-Signature": signature}
            )
            if answer.status_code >= 400:
                self.callbacks_refused += 1

    # -- inbound calls -----------------------------------------------------------------------

    async def call_in(
        self, voice_url: str, *, to: str, from_: str, script: BotScript
    ) -> tuple[FakeCall, httpx.Response]:
        """Someone calls `to`: Twilio asks the number's voice URL what to do, and does it.

        Returns the call once it is over, and the webhook's answer.
        """
        call = FakeCall(
            sid="CA" + secrets.token_hex(16),
            to=to,
            from_=from_,
            form={},
            created_at=datetime.now(UTC),
            status="ringing",
        )
        self.calls.append(call)
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": call.sid,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "From": from_,
            "To": to,
        }
        signature = self._validator.compute_signature(voice_url, params)
        answer = await self._client.post(
            voice_url, data=params, headers={"X-Twilio-Signature": signature}
        )
        stream = _stream(answer.text) if answer.status_code == 200 else None
        if stream is None:
            call.status = "busy" if "<Reject" in answer.text else "failed"
            return call, answer
        call.status = "in-progress"
        call.stream_parameters = stream[1]
        answered = time.monotonic()
        call.report = await self._media_caller(stream[0], stream[1], script, call)
        call.duration_s = time.monotonic() - answered
        call.status = "completed"
        return call, answer

    # -- for tests --------------------------------------------------------------------------

    def signed_callback(self, url: str, params: dict[str, str]) -> str:
        """The signature Twilio would send for `params` posted to `url`."""
        return str(self._validator.compute_signature(url, params))


_ENDED = {"completed", "busy", "no-answer", "canceled", "failed"}


def _stream(twiml: str) -> tuple[str, dict[str, str]] | None:
    """The `<Connect><Stream>` URL and its `<Parameter>`s, if the TwiML has one."""
    try:
        root = ET.fromstring(twiml)  # noqa: S314 (our own dialer's TwiML, on loopback)
    except ET.ParseError:
        return None
    stream = root.find("./Connect/Stream")
    if stream is None or not stream.get("url"):
        return None
    parameters = {
        p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter") if p.get("name")
    }
    return str(stream.get("url")), parameters


def _parse(twiml: str) -> ET.Element | None:
    try:
        return ET.fromstring(twiml)  # noqa: S314 (our own dialer's TwiML, on loopback)
    except ET.ParseError:
        return None


def _conference(twiml: str) -> str | None:
    """The room of a `<Dial><Conference>`, if the TwiML has one."""
    root = _parse(twiml)
    room = root.find("./Dial/Conference") if root is not None else None
    return room.text if room is not None and room.text else None


def _dialled(twiml: str) -> str | None:
    """The number of a `<Dial>number</Dial>`, if the TwiML has one."""
    root = _parse(twiml)
    dial = root.find("./Dial") if root is not None else None
    text = (dial.text or "").strip() if dial is not None else ""
    return text or None


def _dial_timeout(twiml: str) -> int:
    root = _parse(twiml)
    dial = root.find("./Dial") if root is not None else None
    return int(dial.get("timeout", "30")) if dial is not None else 30


def _says(twiml: str) -> list[str]:
    root = _parse(twiml)
    return [say.text or "" for say in root.iter("Say")] if root is not None else []


def _call_json(call: FakeCall) -> dict[str, Any]:
    return {
        "sid": call.sid,
        "to": call.to,
        "from": call.from_,
        "status": call.status,
        "direction": "outbound-api",
        "answered_by": call.answered_by,
        "duration": str(round(call.duration_s)),
        "date_created": call.created_at.strftime("%a, %d %b %Y %H:%M:%S +0000"),
    }


def _error(status: int, code: int, message: str) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status)
