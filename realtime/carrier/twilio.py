"""Calls to real phones through Twilio: the `Dialer` the media worker rings people with.

One `dial`:
1. The agent is prepared first (`ConversationLine.prepare`): a call no agent can hold
   fails before anybody's phone rings.
2. The broker expects a media stream for the attempt (a one-time token bound to its
   key) and the call is placed with the Calls API: TwiML `<Connect><Stream>` to our
   WebSocket with the token and key as parameters, status callbacks to
   `/carrier/twilio/status?key=...` (the key travels in the URL, so every callback names
   its attempt), a ring timeout, and asynchronous answering-machine detection.
3. Whichever comes first decides: the stream opens (the person answered: the same
   conversation as a WebRTC call, `ConversationLine.hold_leg`), or a final status
   arrives (busy, no-answer, failed, canceled), or the ring timeout passes (the call
   is canceled: no answer).
4. A machine (Twilio's AMD says `machine_*` or `fax`; else the session's own detector,
   `realtime.session.machine_watch`) gets the agent's message after its beep, or is
   hung up on, as the agent chooses (`voicemail` in its config); either way `voicemail`.
5. When the conversation is over the call is hung up through the API too: a stream
   closed on our side ends Twilio's `<Connect>`, and the hang-up makes sure.

`CarrierCalls` in front of this dialer keeps one call per key (a retried dial joins the
call under way). Twilio has no idempotency key, so a media worker killed after asking
Twilio for a call but before hearing back leaves a call nobody holds: the next dial of
that key asks Twilio first (`recover`: the account's calls to that number from the
key's caller ID since the lost ring) and reports that call, never ringing again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import quote

from centralita.kernel.calls import CallOutcome, DialRequest, DialResult
from realtime.carrier.phone_line import CallPacer
from realtime.carrier.phone_line import PhoneLineConfig as PhoneLineConfig  # re-exported
from realtime.carrier.stream_broker import StreamBroker
from realtime.carrier.twilio_rest import (
    TwilioCalls,
    TwilioRejectedError,
    TwilioUnavailableError,
    stream_twiml,
)
from realtime.carrier.twilio_transfer import (
    TRANSFER_SUFFIX,
    PersonCall,
    briefing_for,
    conference_twiml,
    dial_twiml,
    new_room,
    ring_person,
)
from realtime.conversation_line import ConversationLine
from realtime.legs.media_stream import MediaStreamLeg
from realtime.legs.stream_messages import Dialect

log = logging.getLogger(__name__)

# After the ring timeout, how long Twilio's own final status may still take to come.
STATUS_GRACE_S = 5.0
STATUS_PATH = "/carrier/twilio/status"
# Clocks differ: a lost ring's call is looked for from a little before it was recorded.
RECOVER_MARGIN_S = 60.0
# Why a call recovered after its media worker died ended without a decision.
LOST_CONVERSATION = "conversation_lost_with_media_worker"
STREAM_PATH = "/carrier/twilio/stream"

# Twilio's final call statuses without a conversation, as our outcomes.
_UNANSWERED: Mapping[str, CallOutcome] = {
    "busy": CallOutcome.BUSY,
    "no-answer": CallOutcome.NO_ANSWER,
    "canceled": CallOutcome.NO_ANSWER,
    "failed": CallOutcome.FAILED,
    "completed": CallOutcome.FAILED,  # answered and over, but the stream never opened
}
_FINAL = frozenset(_UNANSWERED)
_CALLBACK_EVENTS = ("initiated", "ringing", "answered", "completed")


@dataclass
class _Watch:
    """What the status callbacks told of one attempt's call."""

    call_sid: str | None = None
    statuses: list[str] = field(default_factory=list)
    answered_by: str | None = None
    final: asyncio.Future[str] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    leg: MediaStreamLeg | None = None


class TwilioDialer:
    """Rings phones through one Twilio account and holds their conversations."""

    def __init__(
        self,
        calls: TwilioCalls,
        config: PhoneLineConfig,
        line: ConversationLine,
        broker: StreamBroker,
    ) -> None:
        self.calls = calls
        self.config = config
        self._line = line
        self._broker = broker
        self._watches: dict[str, _Watch] = {}
        self._pacer = CallPacer(config.calls_per_second)
        self._people: dict[str, PersonCall] = {}  # transfers' calls, by their callback key

    @property
    def auth_token(self) -> str:
        """The secret Twilio signs this account's callbacks with."""
        return self.calls.account.auth_token.get_secret_value()

    async def dial(self, request: DialRequest) -> DialResult:
        """Ring `request.to_number`; hold the conversation if someone answers."""
        started = datetime.now(UTC)
        setup = await self._line.prepare(request, started)
        if isinstance(setup, DialResult):
            return setup
        key = request.idempotency_key
        watch = self._watches[key] = _Watch()
        expected = self._broker.expect(key, Dialect.TWILIO)
        try:
            try:
                await self._pacer.turn()  # the account's calls-per-second limit
                watch.call_sid = await self.calls.create_call(
                    self._call_form(request, expected.parameters)
                )
            except (TwilioRejectedError, TwilioUnavailableError, ValueError) as exc:
                log.warning("call %s not placed: %s", key, exc)
                return DialResult.unanswered(
                    CallOutcome.FAILED, f"carrier_error: {exc}"[:200], started
                )
            answered = await self._answer_or_final(expected.leg, watch)
            if answered is None:
                return await self._not_answered(watch, started)
            watch.leg = answered
            if self.config.transfer_to is not None:
                answered.transfer = partial(self._transfer, request, watch, answered)
            if watch.answered_by is not None:
                self._machine_check(key, watch)
            try:
                # A machine's call ends as `voicemail` in the session itself.
                return await self._line.hold_leg(request, answered, setup, started)
            finally:
                await self._end(watch.call_sid, answered=True)
        finally:
            self._broker.forget(expected)
            self._watches.pop(key, None)

    async def recover(self, request: DialRequest, rang_at: datetime) -> DialResult | None:
        """The call a media worker that died placed for `request` at `rang_at`, if Twilio
        has one (`CarrierCalls` asks before ringing a lost call again).

        A call still up is ended (its conversation died with that worker): in progress,
        it was a conversation nobody finished (`no_decision`); still ringing, nobody
        answered. An ended one reports what Twilio says of it.

        Raises:
            TwilioRejectedError, TwilioUnavailableError: Twilio could not say; the dial
                fails and is retried later, rather than ring a person a second time.
        """
        since = rang_at - timedelta(seconds=RECOVER_MARGIN_S)
        caller_id = self.config.caller_id(
            request.to_number, request.idempotency_key, request.caller_ids
        )
        found = await self.calls.find_calls(to=request.to_number, from_=caller_id, since=since)
        if not found:
            return None
        call_sid, status = str(found[0]["sid"]), str(found[0]["status"])
        log.warning(
            "call %s recovered as Twilio's %s (%s)", request.idempotency_key, call_sid, status
        )
        if status not in _FINAL:
            await self._end(call_sid, answered=status == "in-progress")
            if status == "in-progress":
                return DialResult.unanswered(CallOutcome.NO_DECISION, LOST_CONVERSATION, rang_at)
            return DialResult.unanswered(CallOutcome.NO_ANSWER, "dial_no_answer", rang_at)
        if status == "completed":  # answered, and the conversation went with the worker
            return DialResult.unanswered(CallOutcome.NO_DECISION, LOST_CONVERSATION, rang_at)
        return DialResult.unanswered(
            _UNANSWERED[status], f"dial_{status}".replace("-", "_"), rang_at
        )

    def status_callback(self, key: str, form: Mapping[str, str]) -> bool:
        """A verified status or AMD callback for the attempt `key`; False if unknown."""
        person = self._people.get(key)
        if person is not None:
            person.heard(form)
            return True
        watch = self._watches.get(key)
        if watch is None:
            return False
        if watch.call_sid is None and form.get("CallSid"):
            watch.call_sid = form["CallSid"]
        status = form.get("CallStatus")
        if status:
            watch.statuses.append(status)
            if status in _FINAL and not watch.final.done():
                watch.final.set_result(status)
        if form.get("AnsweredBy"):
            watch.answered_by = form["AnsweredBy"]
            self._machine_check(key, watch)
        return True

    async def _transfer(
        self, request: DialRequest, watch: _Watch, leg: MediaStreamLeg, reason: str
    ) -> bool:
        """Hand the caller to `transfer_to` (see `realtime.carrier.twilio_transfer`)."""
        to, sid = self.config.transfer_to, watch.call_sid
        if to is None or sid is None:
            return False
        language = leg.session.config.language if leg.session is not None else "es"
        ring_s = self.config.transfer_ring_s
        if self.config.transfer_mode == "cold":
            return await self.calls.redirect(sid, dial_twiml(to, ring_s, language))
        room = new_room()
        key = request.idempotency_key + TRANSFER_SUFFIX
        briefing = briefing_for(request.variables, reason, language)
        base = self.config.public_base.rstrip("/")
        form = [
            ("To", to),
            ("From", self.config.caller_id(to, request.idempotency_key, request.caller_ids)),
            ("Twiml", conference_twiml(room, briefing=briefing, language=language)),
            ("StatusCallback", f"{base}{STATUS_PATH}?key={quote(key, safe='')}"),
            ("StatusCallbackMethod", "POST"),
            *[("StatusCallbackEvent", event) for event in _CALLBACK_EVENTS],
            ("Timeout", str(ring_s)),
        ]
        person = self._people[key] = PersonCall()
        try:
            await self._pacer.turn()
            if not await ring_person(self.calls, person, form, ring_s=ring_s):
                return False
            return await self.calls.redirect(sid, conference_twiml(room))
        finally:
            self._people.pop(key, None)

    def _call_form(self, request: DialRequest, parameters: dict[str, str]) -> list[tuple[str, str]]:
        base = self.config.public_base.rstrip("/")
        stream_url = base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        callback = f"{base}{STATUS_PATH}?key={quote(request.idempotency_key, safe='')}"
        form = [
            ("To", request.to_number),
            (
                "From",
                self.config.caller_id(
                    request.to_number, request.idempotency_key, request.caller_ids
                ),
            ),
            ("Twiml", stream_twiml(stream_url + STREAM_PATH, parameters)),
            ("StatusCallback", callback),
            ("StatusCallbackMethod", "POST"),
            *[
                ("StatusCallbackEvent", e)
                for e in ("initiated", "ringing", "answered", "completed")
            ],
            ("Timeout", str(self.config.ring_timeout_s)),
        ]
        if self.config.machine_detection:
            form += [
                ("MachineDetection", "Enable"),
                ("AsyncAmd", "true"),
                ("AsyncAmdStatusCallback", callback),
                ("AsyncAmdStatusCallbackMethod", "POST"),
            ]
        return form

    async def _answer_or_final(
        self, leg: asyncio.Future[MediaStreamLeg], watch: _Watch
    ) -> MediaStreamLeg | None:
        """The stream's leg once someone answers; None on a final status or the timeout."""
        wait_s = self.config.ring_timeout_s + STATUS_GRACE_S
        await asyncio.wait((leg, watch.final), timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        return leg.result() if leg.done() and not leg.cancelled() else None

    async def _not_answered(self, watch: _Watch, started: datetime) -> DialResult:
        if not watch.final.done():  # rang past the timeout with no word from Twilio
            if watch.call_sid is not None:
                await self._end(watch.call_sid, answered=False)
            return DialResult.unanswered(CallOutcome.NO_ANSWER, "dial_no_answer", started)
        status = watch.final.result()
        if _is_machine(watch.answered_by):
            return DialResult.unanswered(CallOutcome.VOICEMAIL, "voicemail_reached", started)
        reason = "answered_without_stream" if status == "completed" else f"dial_{status}"
        return DialResult.unanswered(_UNANSWERED[status], reason.replace("-", "_"), started)

    def _machine_check(self, key: str, watch: _Watch) -> None:
        if watch.leg is not None and _is_machine(watch.answered_by):
            # The agent leaves its message after the beep, or hangs up (its choice).
            log.info("call %s reached a machine (%s)", key, watch.answered_by)
            watch.leg.carrier_says_machine()

    async def _end(self, call_sid: str | None, *, answered: bool) -> None:
        if call_sid is None:
            return
        with contextlib.suppress(TwilioRejectedError, TwilioUnavailableError):
            await self.calls.end_call(call_sid, answered=answered)


def _is_machine(answered_by: str | None) -> bool:
    return answered_by is not None and (answered_by.startswith("machine") or answered_by == "fax")
