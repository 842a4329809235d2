"""A local Telnyx: the Call Control API, signed webhooks and media streams, on loopback.

It speaks Telnyx's wire protocol (Call Control v2; see `../shared/design/TELEPHONY.md`
and `realtime/carrier/telnyx_rest.py` for the sources): JSON `POST /v2/calls` (Dial)
with `Authorization: Bearer <API key>`, answered with `{"data": {"call_control_id",
"call_leg_id", "call_session_id", "is_alive": false, "record_type": "call"}}`;
`POST /v2/calls/{call_control_id}/actions/hangup`, answered `{"data": {"result": "ok"}}`,
or 422 with code 90018 once the call is over; errors `{"errors": [{"code", "title",
"detail", "source": {"pointer"}}]}` (401 with 10009 without the right key, 422 for a
field Telnyx refuses). Webhooks `{"data": {"record_type": "event", "event_type", "id",
"occurred_at", "payload": {...}}, "meta": {...}}` go to the Dial's `webhook_url`, each
signed with an Ed25519 key made for this fake (`public_key` is the account's key, as
the portal would show it): `telnyx-signature-ed25519` over `"{telnyx-timestamp}|"` and
the raw body. Each payload carries the call's ids and the Dial's `client_state`.

Behind each number is a `Persona` (the same ones the WebRTC tests use). Its step for
the n-th call to that number decides: `call.initiated`, then busy (`call.hangup` with
`user_busy`, SIP 486), failed (`not_found`, 404), no answer (rings until
`timeout_secs`, then `timeout`), a machine (answers; `call.machine.detection.ended`
says `machine`) or a person: `call.answered`, AMD `human`, and the media stream opened
to `stream_url` exactly as given (its query included: Dial has no stream parameters) by
a `PhoneCaller` playing the step's conversation at real-time pace. The stream's audio
is `stream_codec` when it is PCMU or PCMA (Telnyx transcodes between the two), else
the call's own codec; what Telnyx expects back is `stream_bidirectional_codec`
(PCMU when absent). A dialer that asks for one law and answers in another garbles the
call: each call records both (`inbound_law`, `outbound_law`). A stream that cannot
connect sends `streaming.failed` and leaves the call up, silent, until it is hung up;
so does a stream our side closes (a media stream is a fork of the call, not the call).
Once the call is over, `call.hangup` (`normal_clearing`, or `originator_cancel` when
our side hung up before the answer).

Commands on a live call: `transfer` rings its `to` as a new leg (a call of the log with
`transferred_from`, its webhooks carrying the command's `client_state`, to its
`webhook_url` or the call's) and bridges the two once that leg answers; `bridge` joins
two answered calls (`bridges`, in order). Bridged calls end together. `call_in` is a
caller ringing one of the account's numbers: a signed `call.initiated` (direction
`incoming`) to the number's webhook, and, once our side sends `answer` with its
`stream_url`, the conversation over that stream. `caller` on a call is its running
`PhoneCaller` (a test presses keys through it).

`calls` is the call log, in order: what a real account's call list would show.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from centralita.kernel.calls import CallOutcome
from centralita.kernel.tasks import stop_tasks
from realtime.audio.g711 import G711Law
from realtime.carrier.simulated import Persona, PersonaStep
from realtime.providers.base import TextToSpeech
from realtime.softphone.script import BotLine, BotScript
from tests.support.fakes.phone_caller import PhoneCaller, PhoneCallReport

# A machine's greeting when a voicemail step has no conversation of its own.
VOICEMAIL_GREETING = BotScript(
    lines=[
        BotLine(say="Hola, ha llamado al buzón de voz. Deje su mensaje después de la señal."),
        BotLine(silent_s=30),
    ]
)
# How long after answering AMD takes to decide.
AMD_DELAY_S = 0.5
# How long a call whose stream failed stays up, silent, if nobody hangs it up.
SILENT_CALL_S = 30.0
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_AMD_MODES = frozenset({"premium", "detect", "detect_beep", "detect_words", "greeting_end"})
_BIDIRECTIONAL_CODECS = frozenset({"PCMU", "PCMA", "G722", "OPUS", "AMR-WB", "L16"})
_G711 = frozenset(law.value for law in G711Law)


@dataclass
class FakeTelnyxCall:
    """One call on the fake account, as its call log shows it."""

    call_control_id: str
    call_leg_id: str
    call_session_id: str
    to: str
    from_: str
    body: dict[str, Any]  # the Dial command, as sent
    created_at: datetime
    state: str = "initiated"  # then "answered", and "hangup" once over
    hangup_cause: str | None = None
    hangup_source: str | None = None
    amd_result: str | None = None
    events_sent: list[str] = field(default_factory=list)
    hangup_requested: bool = False  # our side sent the hangup command
    hang_up: asyncio.Event = field(default_factory=asyncio.Event)
    inbound_law: G711Law | None = None  # the stream's audio, as `start` names it
    outbound_law: str | None = None  # what Telnyx expects back
    stream_parameters: dict[str, str] = field(default_factory=dict)  # the stream URL's query
    stream_failure: str | None = None
    duration_s: float = 0.0
    report: PhoneCallReport | None = None  # the PhoneCaller's report, for a conversation
    direction: str = "outgoing"  # "incoming" for `call_in`
    caller: PhoneCaller | None = None  # the running PhoneCaller, while it streams
    transferred_from: str | None = None  # a transfer's leg: the call it was transferred from
    transfers: list[dict[str, Any]] = field(default_factory=list)  # Transfer commands
    bridged_with: str | None = None
    answer_command: asyncio.Event = field(default_factory=asyncio.Event)  # inbound: answered

    @property
    def client_state(self) -> str | None:
        """The Dial's `client_state`, returned in every webhook."""
        state = self.body.get("client_state")
        return state if isinstance(state, str) else None


# (stream url, script, call) -> the caller's report once it hung up.
MediaCaller = Callable[[str, BotScript, FakeTelnyxCall], Coroutine[Any, Any, PhoneCallReport]]


class FakeTelnyx:
    """The fake account: `app` to serve, `calls` to read back.

    Args:
        personas: who answers which number.
        bot_tts: the callers' voice.
        media_caller: opens a call's media stream; by default a `PhoneCaller` in
            Telnyx's dialect, in the call's inbound law.
        api_key: the account's API key.
        connection_id: the Call Control Application calls must be placed from.
        call_codec: the codec a call itself carries (what `start` says without
            `stream_codec`).
        time_scale: multiplies the personas' ring and talk times.
    """

    def __init__(
        self,
        personas: list[Persona],
        *,
        bot_tts: TextToSpeech,
        media_caller: MediaCaller | None = None,
        api_key: str = "KEY0123456789ABCDEF_test",
        connection_id: str = "1684641123236054244",
        call_codec: G711Law = G711Law.PCMU,
        time_scale: float = 1.0,
    ) -> None:
        self.api_key = api_key
        self.connection_id = connection_id
        self.user_id = str(uuid.uuid4())
        self.call_codec = call_codec
        self.calls: list[FakeTelnyxCall] = []
        self.webhooks_refused = 0
        self.bridges: list[tuple[str, str]] = []
        self._signing_key = Ed25519PrivateKey.generate()
        raw = self._signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key = base64.b64encode(raw).decode("ascii")
        self._personas = {p.number: p for p in personas}
        self._bot_tts = bot_tts
        self._media_caller = media_caller or self._phone_caller
        self._scale = time_scale
        self._client = httpx.AsyncClient(timeout=10)
        self._tasks: set[asyncio.Task[None]] = set()
        self.app = self._build()

    async def aclose(self) -> None:
        """Stop every call still running and close the webhook client."""
        await stop_tasks(self._tasks, timeout_s=5, what="fake Telnyx call")
        await self._client.aclose()

    def call(self, call_control_id: str) -> FakeTelnyxCall | None:
        """The call of that id, if the account placed one."""
        return next((c for c in self.calls if c.call_control_id == call_control_id), None)

    # -- the REST API ----------------------------------------------------------------------

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v2/calls")
        async def dial(request: Request) -> Response:
            refused = self._authenticate(request)
            if refused is not None:
                return refused
            try:
                body = json.loads(await request.body())
            except ValueError:
                return _error(400, "10023", "Invalid JSON", "The supplied JSON is not valid.")
            if not isinstance(body, dict):
                return _error(400, "10023", "Invalid JSON", "The body is not a JSON object.")
            return self._dial(body)

        @app.get("/v2/connections/{connection_id}/active_calls")
        async def active(connection_id: str, request: Request) -> Response:
            refused = self._authenticate(request)
            if refused is not None:
                return refused
            up = [
                {
                    "call_control_id": c.call_control_id,
                    "call_leg_id": c.call_leg_id,
                    "call_session_id": c.call_session_id,
                    "client_state": c.body.get("client_state"),
                    "record_type": "call",
                }
                for c in self.calls
                if c.state != "hangup" and connection_id == self.connection_id
            ]
            return JSONResponse({"data": up, "meta": {"total_items": len(up)}})

        @app.post("/v2/calls/{call_control_id}/actions/{action}")
        async def command(call_control_id: str, action: str, request: Request) -> Response:
            refused = self._authenticate(request)
            if refused is not None:
                return refused
            call = self.call(call_control_id)
            if call is None:
                return _error(404, "10005", "Resource not found", "Call not found.")
            if call.state == "hangup":
                return _error(
                    422,
                    "90018",
                    "Call has already ended",
                    "This call is no longer active and can't receive commands.",
                )
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError:
                return _error(400, "10023", "Invalid JSON", "The supplied JSON is not valid.")
            if not isinstance(body, dict):
                return _error(400, "10023", "Invalid JSON", "The body is not a JSON object.")
            match action:
                case "hangup":
                    call.hangup_requested = True
                    call.hang_up.set()
                case "answer":
                    if call.direction != "incoming" or call.answer_command.is_set():
                        return _invalid("call_control_id", "90015", "Bad Request", "Answered.")
                    problem = _dial_problem(body)
                    if problem is not None:
                        return _invalid(problem, "10015", "Bad Request", f"Invalid {problem}.")
                    call.body.update(body)
                    call.answer_command.set()
                case "reject":
                    if call.direction != "incoming" or call.answer_command.is_set():
                        return _invalid("call_control_id", "90015", "Bad Request", "Answered.")
                    call.hangup_requested = True
                    call.hang_up.set()
                case "transfer":
                    return self._transfer(call, body)
                case "bridge":
                    return self._bridge_command(call, body)
                case _:
                    return _error(404, "10005", "Resource not found", f"No action {action}.")
            return JSONResponse({"data": {"result": "ok"}})

        return app

    def _transfer(self, call: FakeTelnyxCall, body: dict[str, Any]) -> Response:
        to = body.get("to")
        if not isinstance(to, str) or not _E164.fullmatch(to):
            return _invalid("to", "10016", "Phone number must be in +E.164 format", f"{to!r}")
        if call.state != "answered":
            return _invalid("call_control_id", "90034", "Call not answered", "Not answered.")
        problem = _dial_problem(body)
        if problem is not None:
            return _invalid(problem, "10015", "Bad Request", f"Invalid {problem}.")
        call.transfers.append(body)
        leg_body = {
            **body,
            "webhook_url": body.get("webhook_url") or call.body.get("webhook_url"),
            "client_state": body.get("client_state") or call.client_state,
        }
        from_ = body.get("from")
        leg = self._new_call(to, from_ if isinstance(from_, str) else call.to, leg_body)
        leg.transferred_from = call.call_control_id
        self._start(leg)
        return JSONResponse({"data": {"result": "ok"}})

    def _bridge_command(self, call: FakeTelnyxCall, body: dict[str, Any]) -> Response:
        other = self.call(str(body.get("call_control_id") or ""))
        if other is None or other.state == "hangup" or other is call:
            return _invalid("call_control_id", "90018", "Call has already ended", "No such call.")
        if "answered" not in (call.state, other.state) or call.state != other.state:
            return _invalid("call_control_id", "90034", "Call not answered", "Not answered.")
        self._bridge(call, other)
        return JSONResponse({"data": {"result": "ok"}})

    def _bridge(self, call: FakeTelnyxCall, other: FakeTelnyxCall) -> None:
        call.bridged_with, other.bridged_with = other.call_control_id, call.call_control_id
        self.bridges.append((call.call_control_id, other.call_control_id))

    def _new_call(self, to: str, from_: str, body: dict[str, Any]) -> FakeTelnyxCall:
        call = FakeTelnyxCall(
            call_control_id="v3:" + secrets.token_urlsafe(40),
            call_leg_id=str(uuid.uuid4()),
            call_session_id=str(uuid.uuid4()),
            to=to,
            from_=from_,
            body=body,
            created_at=datetime.now(UTC),
        )
        self.calls.append(call)
        return call

    def _start(self, call: FakeTelnyxCall) -> None:
        task = asyncio.create_task(self._run(call), name=f"fake-telnyx-{call.call_leg_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def call_in(
        self,
        webhook_url: str,
        *,
        to: str,
        from_: str,
        script: BotScript,
        answer_wait_s: float = 5.0,
    ) -> tuple[FakeTelnyxCall, httpx.Response]:
        """A caller rings `to`: `call.initiated` to `webhook_url` (the number's
        connection's), then, once answered, the conversation; back when it is over.

        Returns:
            The call, and our side's answer to `call.initiated`. A call nobody answers
            within `answer_wait_s` hangs up (`originator_cancel`); one our side rejects
            ends `user_busy`.
        """
        call = self._new_call(to, from_, {"webhook_url": webhook_url})
        call.direction = "incoming"
        body = self.event_body(call, "call.initiated", direction="incoming", state="parked")
        call.events_sent.append("call.initiated")
        answer = await self._client.post(
            webhook_url, content=body, headers=self.signed_headers(body)
        )
        if answer.status_code >= 400:
            self.webhooks_refused += 1
        answered = asyncio.create_task(call.answer_command.wait())
        rejected = asyncio.create_task(call.hang_up.wait())
        await asyncio.wait(
            (answered, rejected), timeout=answer_wait_s, return_when=asyncio.FIRST_COMPLETED
        )
        await stop_tasks((answered, rejected), what="fake Telnyx inbound ring")
        if not call.answer_command.is_set():
            if call.hang_up.is_set():
                await self._hangup(call, "user_busy", "486", "callee")
            else:
                await self._hangup(call, "originator_cancel", "487", "caller")
            return call, answer
        step = PersonaStep(outcome=CallOutcome.COMPLETED, ring_seconds=0, conversation=script)
        await self._answer(call, step)
        return call, answer

    def _authenticate(self, request: Request) -> Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(
                401,
                "10009",
                "Authentication failed",
                "The required authentication headers were either invalid or not included "
                "in the request.",
            )
        return None

    def _dial(self, body: dict[str, Any]) -> Response:
        to, from_ = body.get("to"), body.get("from")
        if body.get("connection_id") != self.connection_id:
            return _invalid("connection_id", "10015", "Bad Request", "Unknown connection_id.")
        if not isinstance(to, str) or not _E164.fullmatch(to):
            return _invalid("to", "10016", "Phone number must be in +E.164 format", f"{to!r}")
        if not isinstance(from_, str) or not _E164.fullmatch(from_):
            return _invalid("from", "10016", "Phone number must be in +E.164 format", f"{from_!r}")
        problem = _dial_problem(body)
        if problem is not None:
            return _invalid(problem, "10015", "Bad Request", f"Invalid {problem}.")
        call = self._new_call(to, from_, body)
        self._start(call)
        data = {
            "call_control_id": call.call_control_id,
            "call_leg_id": call.call_leg_id,
            "call_session_id": call.call_session_id,
            "is_alive": False,  # dialling is asynchronous
            "record_type": "call",
        }
        if call.client_state is not None:
            data["client_state"] = call.client_state
        return JSONResponse({"data": data})

    # -- a call's life ---------------------------------------------------------------------

    async def _run(self, call: FakeTelnyxCall) -> None:
        persona = self._personas.get(call.to)
        attempt = sum(1 for c in self.calls if c.to == call.to)
        step = persona.step_for(attempt) if persona else None
        await self._event(call, "call.initiated", direction="outgoing", state="bridging")
        ring_limit = float(call.body.get("timeout_secs") or 30)
        if step is None or step.outcome is CallOutcome.NO_ANSWER:
            await self._ring_out(call, ring_limit)
            return
        if step.outcome in {CallOutcome.BUSY, CallOutcome.FAILED}:
            if await self._wait_or_hang_up(call, step.ring_seconds * self._scale):
                await self._hangup(call, "originator_cancel", "487", "caller")
            elif step.outcome is CallOutcome.BUSY:
                await self._hangup(call, "user_busy", "486", "callee")
            else:
                await self._hangup(call, "not_found", "404", "unknown")
            return
        ring_s = step.ring_seconds * self._scale
        if ring_s >= ring_limit:
            await self._ring_out(call, ring_limit)
            return
        if await self._wait_or_hang_up(call, ring_s):
            await self._hangup(call, "originator_cancel", "487", "caller")
            return
        await self._answer(call, step)

    async def _ring_out(self, call: FakeTelnyxCall, ring_limit: float) -> None:
        if await self._wait_or_hang_up(call, ring_limit):
            await self._hangup(call, "originator_cancel", "487", "caller")
        else:
            await self._hangup(call, "timeout", "408", "unknown")

    async def _answer(self, call: FakeTelnyxCall, step: PersonaStep) -> None:
        machine = step.outcome is CallOutcome.VOICEMAIL
        script = step.conversation or (VOICEMAIL_GREETING if machine else None)
        answered = time.monotonic()
        call.state = "answered"
        await self._event(call, "call.answered", state="answered")
        parent = self.call(call.transferred_from) if call.transferred_from else None
        if parent is not None and parent.state == "answered":
            self._bridge(parent, call)  # a transfer's leg joins the caller once answered
        amd = asyncio.create_task(self._amd(call, "machine" if machine else "human"))
        source = "callee"
        try:
            stream_url = call.body.get("stream_url")
            if not isinstance(stream_url, str) or script is None:
                if await self._wait_or_hang_up(call, max(step.talk_seconds * self._scale, 0.1)):
                    source = "caller"
            elif await self._stream(call, stream_url, script):
                source = "caller"
        finally:
            await stop_tasks((amd,), what="fake Telnyx AMD")
            call.duration_s = time.monotonic() - answered
            await self._hangup(call, "normal_clearing", "200", source)

    async def _stream(self, call: FakeTelnyxCall, url: str, script: BotScript) -> bool:
        """Stream the conversation until someone hangs up; True when our side did."""
        call.inbound_law = self._inbound_law(call)
        call.outbound_law = str(call.body.get("stream_bidirectional_codec") or "PCMU")
        call.stream_parameters = dict(parse_qsl(urlsplit(url).query))
        track = call.body.get("stream_track") or "inbound_track"
        caller = asyncio.create_task(self._media_caller(url, script, call))
        hung_up = asyncio.create_task(call.hang_up.wait())
        await self._event(call, "streaming.started", stream_url=url)
        await asyncio.wait((caller, hung_up), return_when=asyncio.FIRST_COMPLETED)
        await stop_tasks((hung_up,), what="fake Telnyx hang-up wait")
        if not caller.done():
            # Our side hung up through the API: the carrier ends the stream. A caller
            # whose socket our side closed already ends by itself.
            await asyncio.wait((caller,), timeout=3.0)
        if not caller.done():
            await stop_tasks((caller,), timeout_s=5, what="fake Telnyx caller")
            await self._event(call, "streaming.stopped", stream_url=url)
            return True
        error = caller.exception()
        if error is None:
            call.report = caller.result()
            await self._event(call, "streaming.stopped", stream_url=url)
            if call.report.hung_up_by != "agent":
                return False  # the person hung up: the call is over
            # Our side closed the stream: the call itself stays up until it is hung up.
            await self._wait_or_hang_up(call, SILENT_CALL_S)
            return True
        call.stream_failure = f"{type(error).__name__}: {error}"[:200]
        await self._event(
            call,
            "streaming.failed",
            failure_reason=call.stream_failure,
            stream_id=str(uuid.uuid4()),
            stream_params={"stream_url": url, "track": track},
            stream_type="websocket",
        )
        return await self._wait_or_hang_up(call, SILENT_CALL_S)

    def _inbound_law(self, call: FakeTelnyxCall) -> G711Law:
        asked = call.body.get("stream_codec")
        return G711Law(asked) if asked in _G711 else self.call_codec

    async def _phone_caller(
        self, url: str, script: BotScript, call: FakeTelnyxCall
    ) -> PhoneCallReport:
        assert call.inbound_law is not None
        caller = PhoneCaller(
            script,
            self._bot_tts,
            dialect="telnyx",
            law=call.inbound_law,
            call_sid=call.call_control_id,
            account_sid=self.user_id,
            client_state=call.client_state,
        )
        call.caller = caller
        try:
            return await caller.run(url)
        finally:
            call.caller = None

    async def _amd(self, call: FakeTelnyxCall, result: str) -> None:
        if call.body.get("answering_machine_detection") not in _AMD_MODES:
            return
        await asyncio.sleep(AMD_DELAY_S)
        call.amd_result = result
        await self._event(call, "call.machine.detection.ended", result=result)

    async def _wait_or_hang_up(self, call: FakeTelnyxCall, seconds: float) -> bool:
        """Wait `seconds` unless our side ends the call first (then True)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(call.hang_up.wait(), seconds)
            return True
        return False

    async def _hangup(self, call: FakeTelnyxCall, cause: str, sip: str, source: str) -> None:
        call.state = "hangup"
        other = self.call(call.bridged_with) if call.bridged_with else None
        if other is not None and other.state != "hangup":
            other.hang_up.set()  # bridged calls end together
        call.hangup_cause = cause
        call.hangup_source = source
        await self._event(
            call,
            "call.hangup",
            hangup_cause=cause,
            hangup_source=source,
            sip_hangup_cause=sip,
            state="hangup",
        )

    # -- webhooks --------------------------------------------------------------------------

    def event_body(self, call: FakeTelnyxCall, event_type: str, **fields: Any) -> bytes:
        """A webhook of `call`, as Telnyx would send it (for tests to forge one too)."""
        payload: dict[str, Any] = {
            "call_control_id": call.call_control_id,
            "call_leg_id": call.call_leg_id,
            "call_session_id": call.call_session_id,
            "client_state": call.client_state,
            "connection_id": self.connection_id,
            "from": call.from_,
            "to": call.to,
            "start_time": call.created_at.isoformat().replace("+00:00", "Z"),
            **fields,
        }
        event = {
            "data": {
                "record_type": "event",
                "event_type": event_type,
                "id": str(uuid.uuid4()),
                "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "payload": payload,
            },
            "meta": {"attempt": 1, "delivered_to": call.body.get("webhook_url")},
        }
        return json.dumps(event, separators=(",", ":")).encode()

    def signed_headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The headers Telnyx signs `body` with, at `timestamp` (now by default)."""
        sent_at = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._signing_key.sign(sent_at.encode("ascii") + b"|" + body)
        return {
            "Content-Type": "application/json",
            "telnyx-signature-ed25519": base64.b64encode(signature).decode("ascii"),
            "telnyx-timestamp": sent_at,
        }

    async def _event(self, call: FakeTelnyxCall, event_type: str, **fields: Any) -> None:
        call.events_sent.append(event_type)
        url = call.body.get("webhook_url")
        if not isinstance(url, str):
            return
        body = self.event_body(call, event_type, **fields)
        with contextlib.suppress(httpx.HTTPError):
            answer = await self._client.post(url, content=body, headers=self.signed_headers(body))
            if answer.status_code >= 400:
                self.webhooks_refused += 1


def _dial_problem(body: dict[str, Any]) -> str | None:
    """The first Dial field Telnyx would refuse (of those the fake knows), if any."""
    timeout = body.get("timeout_secs", 30)
    if not isinstance(timeout, int) or not 5 <= timeout <= 600:
        return "timeout_secs"
    amd = body.get("answering_machine_detection")
    if amd is not None and amd not in _AMD_MODES | {"disabled"}:
        return "answering_machine_detection"
    codec = body.get("stream_bidirectional_codec")
    if codec is not None and codec not in _BIDIRECTIONAL_CODECS:  # case sensitive
        return "stream_bidirectional_codec"
    if body.get("stream_bidirectional_mode") not in (None, "mp3", "rtp"):
        return "stream_bidirectional_mode"
    if body.get("webhook_url_method") not in (None, "POST", "GET"):
        return "webhook_url_method"
    state = body.get("client_state")
    if state is not None:
        try:
            base64.b64decode(str(state), validate=True)
        except (binascii.Error, ValueError):
            return "client_state"
    return None


def _invalid(name: str, code: str, title: str, detail: str) -> JSONResponse:
    return _error(422, code, title, detail, pointer=f"/{name}")


def _error(
    status: int, code: str, title: str, detail: str, *, pointer: str | None = None
) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "title": title, "detail": detail}
    if pointer is not None:
        error["source"] = {"pointer": pointer}
    return JSONResponse({"errors": [error]}, status_code=status)
