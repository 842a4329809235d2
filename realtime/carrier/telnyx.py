"""Calls to real phones through Telnyx Call Control: the `Dialer` the media worker rings with.

The same call as `realtime/carrier/twilio.py`, in Telnyx's terms. One `dial`:
1. The agent is prepared first (`ConversationLine.prepare`): a call no agent can hold
   fails before anybody's phone rings.
2. The broker expects a media stream for the attempt (a one-time token bound to its
   key) and the call is placed with the Dial command: a bidirectional RTP stream
   (`stream_bidirectional_mode` "rtp") to our WebSocket, G.711 in the dialer's law both
   ways (`stream_codec` and `stream_bidirectional_codec` alike: the leg answers in the
   law `start` names), webhooks to `/carrier/telnyx/events`, a ring timeout
   (`timeout_secs`), answering-machine detection ("detect"), and the attempt's key as
   `client_state` (base64), which Telnyx returns in every webhook of the call.
   Telnyx's Dial takes no stream parameters (only `streaming_start` has
   `custom_parameters`), so the token and key travel in the stream URL's query, and
   the media stream route reads them from there.
3. Whichever comes first decides: the stream opens (the person answered: the same
   conversation as a WebRTC call, `ConversationLine.hold_leg`), or `call.hangup`
   arrives (its `hangup_cause` says busy, no answer, failed), or `streaming.failed`
   (the call is hung up: failed), or the ring timeout passes (hung up: no answer).
4. A machine (`call.machine.detection.ended` with `result` "machine") gets the agent's
   message after its beep, or is hung up on, as the agent chooses; `voicemail` either way.
5. When the conversation is over the call is hung up through the API too (not once
   it was handed to a person).

Transfers (`config.transfer_to`; the session awaits `leg.transfer`: True once a person
has the caller, False when nobody answered, and the agent then tells the caller and
leaves a callback):
- **cold**: the Transfer command on the caller's call: Telnyx rings the person as a new
  leg (its webhooks carry the attempt's key plus `TRANSFER_SUFFIX` as `client_state`)
  and bridges the caller to it once answered. Unlike Twilio's `<Dial>`, a leg that is
  not answered leaves the caller's call as it was (Telnyx sends that leg's
  `call.hangup`), so the agent still holds the caller and says so.
- **warm**: the person is rung first on a call of their own (Dial, no stream), and only
  once they answered are the two calls bridged (`bridge`). Unlike Twilio's warm
  transfer the person hears no briefing before the caller joins (a `speak` command on
  their call would be the place for one).

Webhooks are verified (Ed25519) by `realtime/server/telnyx_webhooks.py` before they
reach `on_webhook`. An event naming another call than the one this attempt placed is
ignored: a key's earlier call cannot move this one.

What Telnyx documents, and where: the Dial fields, `hangup_cause` values and AMD
results are those of Telnyx's API reference and its SDKs' generated models
(`team-telnyx/telnyx-python`: `CallDialParams`, `CallHangup`,
`CallMachineDetectionEnded`, `CallStreamingFailed`); that Telnyx connects to the
`stream_url` with its query string as given is how open-source integrations use it,
not something the reference states (`stream_auth_token` and `streaming_start`'s
`custom_parameters` are the documented alternatives).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode

from centralita.kernel.calls import CallOutcome, DialRequest, DialResult
from realtime.agents.setup import AgentSetup
from realtime.audio.g711 import G711Law
from realtime.carrier.phone_line import CallPacer, PhoneLineConfig
from realtime.carrier.stream_broker import StreamBroker
from realtime.carrier.telnyx_rest import TelnyxCalls, TelnyxRejectedError, TelnyxUnavailableError
from realtime.conversation_line import ConversationLine
from realtime.legs.media_stream import MediaStreamLeg
from realtime.legs.stream_messages import Dialect

log = logging.getLogger(__name__)

# After the ring timeout, how long Telnyx's own `call.hangup` may still take to come.
STATUS_GRACE_S = 5.0
EVENTS_PATH = "/carrier/telnyx/events"
STREAM_PATH = "/carrier/telnyx/stream"
# A transfer's leg to the person reports under the attempt's key plus this.
TRANSFER_SUFFIX = ".transfer"
# After the person's ring time, how long Telnyx's word on their leg may still take.
ANSWER_GRACE_S = 5.0

# `call.hangup`'s `hangup_cause` for a call whose stream never opened, as our outcomes.
# A declined call (`call_rejected`, Q.850 21) is the person refusing it now, as Twilio
# reports a declined call `busy`; a number that does not exist is `not_found`.
HANGUP_OUTCOMES: Mapping[str, CallOutcome] = {
    "user_busy": CallOutcome.BUSY,
    "call_rejected": CallOutcome.BUSY,
    "timeout": CallOutcome.NO_ANSWER,
    "no_answer": CallOutcome.NO_ANSWER,
    "originator_cancel": CallOutcome.NO_ANSWER,
    "not_found": CallOutcome.FAILED,
    "normal_clearing": CallOutcome.FAILED,  # answered and over, but the stream never opened
    "time_limit": CallOutcome.FAILED,
    "unspecified": CallOutcome.FAILED,
}
# When the cause says nothing (`unspecified`, or one we do not know): the SIP code.
_SIP_OUTCOMES: Mapping[str, CallOutcome] = {
    "486": CallOutcome.BUSY,
    "600": CallOutcome.BUSY,
    "603": CallOutcome.BUSY,
    "408": CallOutcome.NO_ANSWER,
    "480": CallOutcome.NO_ANSWER,
    "487": CallOutcome.NO_ANSWER,
}
_REASONS: Mapping[CallOutcome, str] = {
    CallOutcome.BUSY: "dial_busy",
    CallOutcome.NO_ANSWER: "dial_no_answer",
    CallOutcome.FAILED: "dial_failed",
}
# Standard AMD says `machine`; premium AMD (`call.machine.premium.detection.ended`)
# says `machine` or `fax_detected`. `not_sure` goes on as a person.
_MACHINE_RESULTS = frozenset({"machine", "fax_detected"})
# Why a lost ring is reported instead of dialled again (see `TelnyxDialer.recover`).
LOST_RING = "lost_with_media_worker"
_AMD_EVENTS = frozenset({"call.machine.detection.ended", "call.machine.premium.detection.ended"})
_STREAM_FAILED = "streaming.failed"


def client_state(key: str) -> str:
    """An attempt's key as Telnyx's `client_state` (base64 of its UTF-8)."""
    return base64.b64encode(key.encode()).decode("ascii")


def attempt_key(state: object) -> str | None:
    """The attempt key a webhook's `client_state` names; None when it names none."""
    if not isinstance(state, str) or not state:
        return None
    try:
        return base64.b64decode(state, validate=True).decode()
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None


def hangup_outcome(cause: str | None, sip_cause: str | None = None) -> tuple[CallOutcome, str]:
    """How a call that hung up before its stream opened ended: outcome and reason."""
    outcome = HANGUP_OUTCOMES.get(cause or "")
    if outcome is None or cause == "unspecified":
        outcome = _SIP_OUTCOMES.get(sip_cause or "", outcome or CallOutcome.FAILED)
    if cause == "normal_clearing":
        return outcome, "answered_without_stream"
    return outcome, _REASONS[outcome]


@dataclass
class _Watch:
    """What the webhooks told of one attempt's call."""

    call_control_id: str | None = None
    events: list[str] = field(default_factory=list)
    answered: bool = False
    amd_result: str | None = None
    hangup_cause: str | None = None
    sip_hangup_cause: str | None = None
    stream_failure: str | None = None
    # Set by `call.hangup` ("hangup") or `streaming.failed` ("stream_failed").
    final: asyncio.Future[str] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    leg: MediaStreamLeg | None = None
    handed_over: bool = False  # a transfer gave the call to a person: not ours to end


@dataclass
class _Person:
    """What the webhooks told of a transfer's leg to the person taking over."""

    call_control_id: str | None = None
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    final: asyncio.Event = field(default_factory=asyncio.Event)

    def heard(self, event_type: str, payload: Mapping[str, Any]) -> None:
        call_id = payload.get("call_control_id")
        if self.call_control_id is None and isinstance(call_id, str) and call_id:
            self.call_control_id = call_id
        if event_type == "call.answered":
            self.answered.set()
        elif event_type == "call.hangup":
            self.final.set()

    async def answer(self, wait_s: float) -> bool:
        """Whether the person answered within `wait_s` (before their leg ended)."""
        answered = asyncio.ensure_future(self.answered.wait())
        final = asyncio.ensure_future(self.final.wait())
        try:
            await asyncio.wait(
                (answered, final), timeout=wait_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            answered.cancel()
            final.cancel()
        return self.answered.is_set()


class TelnyxDialer:
    """Rings phones through one Telnyx account and holds their conversations.

    Args:
        calls: the account's Call Control API.
        config: the phone line (public address, caller IDs, ring timeout, AMD).
        line: holds the conversations.
        broker: the media streams the worker expects.
        codec: the G.711 law of the stream both ways. PCMU (µ-law) by default, as in
            North America; PCMA (A-law) is the law of Europe and most of the world.
            Telnyx transcodes between the two, so this only spares a transcoding.
    """

    def __init__(
        self,
        calls: TelnyxCalls,
        config: PhoneLineConfig,
        line: ConversationLine,
        broker: StreamBroker,
        *,
        codec: G711Law = G711Law.PCMU,
    ) -> None:
        self.calls = calls
        self.config = config
        self.codec = codec
        self._line = line
        self._broker = broker
        self._watches: dict[str, _Watch] = {}
        self._pacer = CallPacer(config.calls_per_second)
        self._people: dict[str, _Person] = {}  # transfers' legs, by their webhook key

    @property
    def public_key(self) -> str:
        """The key this account's webhooks are signed with (base64 Ed25519)."""
        return self.calls.account.public_key

    async def dial(self, request: DialRequest) -> DialResult:
        """Ring `request.to_number`; hold the conversation if someone answers."""
        started = datetime.now(UTC)
        setup = await self._line.prepare(request, started)
        if isinstance(setup, DialResult):
            return setup
        key = request.idempotency_key
        watch = self._watches[key] = _Watch()
        expected = self._broker.expect(key, Dialect.TELNYX)
        try:
            try:
                await self._pacer.turn()  # the account's calls-per-second limit
                # The Dial command's answer names the call, whatever a webhook said first.
                watch.call_control_id = await self.calls.dial(
                    self.dial_body(request, expected.parameters)
                )
            except (TelnyxRejectedError, TelnyxUnavailableError) as exc:
                log.warning("call %s not placed: %s", key, exc)
                return DialResult.unanswered(
                    CallOutcome.FAILED, f"carrier_error: {exc}"[:200], started
                )
            answered = await self._answer_or_final(expected.leg, watch)
            if answered is None:
                return await self._not_answered(watch, started)
            watch.leg = answered
            if self.config.transfer_to is not None:
                answered.transfer = partial(self._transfer, request, watch)
            self._machine_check(key, watch)
            try:
                return await self._hold(request, answered, setup, started, watch)
            finally:
                if not watch.handed_over:
                    await self._hang_up(watch.call_control_id)
        finally:
            self._broker.forget(expected)
            self._watches.pop(key, None)

    def on_webhook(self, key: str, event_type: str, payload: Mapping[str, Any]) -> bool:
        """A verified webhook for the attempt `key`; False if no such call rings here."""
        person = self._people.get(key)
        if person is not None:
            person.heard(event_type, payload)
            return True
        watch = self._watches.get(key)
        if watch is None:
            return False
        call_id = payload.get("call_control_id")
        if isinstance(call_id, str) and call_id:
            if watch.call_control_id is None:
                watch.call_control_id = call_id
            elif call_id != watch.call_control_id:
                log.info("Telnyx %s for %s names another call: ignored", event_type, key[:80])
                return False
        watch.events.append(event_type)
        if event_type == "call.answered":
            watch.answered = True
        elif event_type in _AMD_EVENTS:
            watch.amd_result = str(payload.get("result") or "") or None
            self._machine_check(key, watch)
        elif event_type == "call.hangup":
            watch.hangup_cause = _text(payload.get("hangup_cause"))
            watch.sip_hangup_cause = _text(payload.get("sip_hangup_cause"))
            if watch.leg is not None:
                watch.leg.stream_ended()  # as the stream's own `stop` would
            _settle(watch, "hangup")
        elif event_type == _STREAM_FAILED:
            watch.stream_failure = _text(payload.get("failure_reason")) or "unknown"
            _settle(watch, "stream_failed")
        return True

    def dial_body(self, request: DialRequest, parameters: Mapping[str, str]) -> dict[str, Any]:
        """The Dial command for `request`, its stream carrying `parameters`."""
        key = request.idempotency_key
        config = self.config
        body: dict[str, Any] = {
            "to": request.to_number,
            "from": config.caller_id(request.to_number, key, request.caller_ids),
            "webhook_url": f"{config.public_base.rstrip('/')}{EVENTS_PATH}",
            "webhook_url_method": "POST",
            "timeout_secs": config.ring_timeout_s,
            "client_state": client_state(key),
            "stream_url": f"{config.stream_base}{STREAM_PATH}?{urlencode(dict(parameters))}",
            "stream_track": "inbound_track",
            "stream_codec": self.codec.value,
            "stream_bidirectional_mode": "rtp",
            "stream_bidirectional_codec": self.codec.value,
        }
        if config.machine_detection:
            body["answering_machine_detection"] = "detect"
        return body

    async def _transfer(self, request: DialRequest, watch: _Watch, reason: str) -> bool:
        """Hand the caller to `transfer_to`, cold or warm (see the module's docstring)."""
        to, call_id = self.config.transfer_to, watch.call_control_id
        if to is None or call_id is None:
            return False
        key = request.idempotency_key
        person_key = key + TRANSFER_SUFFIX
        ring_s = max(self.config.transfer_ring_s, 5)  # Telnyx's shortest `timeout_secs`
        leg_fields: dict[str, Any] = {
            "to": to,
            "from": self.config.caller_id(to, key, request.caller_ids),
            "timeout_secs": ring_s,
            "webhook_url": f"{self.config.public_base.rstrip('/')}{EVENTS_PATH}",
            "webhook_url_method": "POST",
            "client_state": client_state(person_key),
        }
        cold = self.config.transfer_mode == "cold"
        person = self._people[person_key] = _Person()
        log.info("call %s: transfer (%s, %s)", key, "cold" if cold else "warm", reason)
        try:
            if cold:
                await self.calls.transfer(call_id, leg_fields)
            else:
                await self._pacer.turn()
                person.call_control_id = await self.calls.dial(leg_fields)
            if not await person.answer(ring_s + ANSWER_GRACE_S):
                if not person.final.is_set():
                    await self._hang_up(person.call_control_id)  # stop their phone ringing
                return False
            if not cold:
                assert person.call_control_id is not None
                await self.calls.bridge(call_id, person.call_control_id)
        except (TelnyxRejectedError, TelnyxUnavailableError) as exc:
            log.warning("call %s: transfer failed: %s", key, exc)
            if not cold:
                await self._hang_up(person.call_control_id)
            return False
        finally:
            self._people.pop(person_key, None)
        watch.handed_over = True
        return True

    async def _answer_or_final(
        self, leg: asyncio.Future[MediaStreamLeg], watch: _Watch
    ) -> MediaStreamLeg | None:
        """The stream's leg once someone answers; None on a final event or the timeout."""
        wait_s = self.config.ring_timeout_s + STATUS_GRACE_S
        await asyncio.wait((leg, watch.final), timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        return leg.result() if leg.done() and not leg.cancelled() else None

    async def _not_answered(self, watch: _Watch, started: datetime) -> DialResult:
        machine = _is_machine(watch.amd_result)
        if not watch.final.done():
            # Rang past the timeout with no word from Telnyx, or answered without a stream.
            await self._hang_up(watch.call_control_id)
            if machine:
                return DialResult.unanswered(CallOutcome.VOICEMAIL, "voicemail_reached", started)
            if watch.answered:
                return DialResult.unanswered(CallOutcome.FAILED, "answered_without_stream", started)
            return DialResult.unanswered(CallOutcome.NO_ANSWER, "dial_no_answer", started)
        if watch.final.result() == "stream_failed":
            log.warning(
                "call %s: Telnyx could not stream it: %s",
                watch.call_control_id,
                watch.stream_failure,
            )
            await self._hang_up(watch.call_control_id)
            return DialResult.unanswered(CallOutcome.FAILED, "stream_failed", started)
        if machine:
            return DialResult.unanswered(CallOutcome.VOICEMAIL, "voicemail_reached", started)
        outcome, reason = hangup_outcome(watch.hangup_cause, watch.sip_hangup_cause)
        return DialResult.unanswered(outcome, reason, started)

    async def _hold(
        self,
        request: DialRequest,
        leg: MediaStreamLeg,
        setup: AgentSetup,
        started: datetime,
        watch: _Watch,
    ) -> DialResult:
        result = await self._line.hold_leg(request, leg, setup, started)
        if _is_machine(watch.amd_result):
            return result.model_copy(update={"outcome": CallOutcome.VOICEMAIL})
        return result

    async def recover(self, request: DialRequest, rang_at: datetime) -> DialResult:
        """A lost ring (its media worker died after the Dial command) is never rung again.

        Telnyx lists the calls up now on the connection, each with its `client_state`
        (the attempt's key): one still up is hung up (nobody holds its stream any more).
        Ended calls are not listed, so a lost ring with none up is reported as not
        answered rather than dialled again: the campaign's rules try later, and a
        person is never rung twice for one attempt.

        Raises:
            TelnyxRejectedError, TelnyxUnavailableError: Telnyx could not say; the dial
                fails and is retried later.
        """
        key = request.idempotency_key
        mine = [
            c for c in await self.calls.active_calls() if attempt_key(c.get("client_state")) == key
        ]
        for call in mine:
            await self._hang_up(str(call.get("call_control_id")))
        log.warning("call %s: lost ring recovered (%d still up, hung up)", key, len(mine))
        return DialResult.unanswered(CallOutcome.NO_ANSWER, LOST_RING, rang_at)

    def _machine_check(self, key: str, watch: _Watch) -> None:
        if watch.leg is not None and _is_machine(watch.amd_result):
            # The agent leaves its message after the beep, or hangs up (its choice).
            log.info("call %s reached a machine (%s)", key, watch.amd_result)
            watch.leg.carrier_says_machine()

    async def _hang_up(self, call_control_id: str | None) -> None:
        if call_control_id is None:
            return
        with contextlib.suppress(TelnyxRejectedError, TelnyxUnavailableError):
            await self.calls.hangup(call_control_id)


def _settle(watch: _Watch, final: str) -> None:
    if not watch.final.done():
        watch.final.set_result(final)


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _is_machine(result: str | None) -> bool:
    return result in _MACHINE_RESULTS
