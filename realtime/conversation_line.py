"""Real WebRTC calls between the agent and whoever is on the other end.

The simulated carrier rings a persona; when that persona answers with a conversation
script, this line connects the agent's leg to an in-process bot softphone over loopback.
A softphone reached through HTTP signalling (outbound) or calling in (inbound) gets the
same agent leg. Either way the line holds the conversation until one side hangs up,
records it, stores it, and turns the agent's call record into a `DialResult`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from centralita.correction.online import OnlineCorrector
from centralita.kernel.calls import AGENT_ERROR, CallOutcome, DialRequest, DialResult
from realtime.agents.flows.schema import FlowDefinitionError
from realtime.agents.flows.templates import VariableError
from realtime.agents.loader import AgentNotFoundError
from realtime.agents.setup import AgentSetup
from realtime.audio.recorder import CallRecorder, RecorderError
from realtime.legs.agent import AgentLeg
from realtime.legs.human import HumanLeg
from realtime.legs.talking import TalkingLeg
from realtime.legs.webrtc import IceServer, SessionDescription, new_peer_connection
from realtime.providers.base import SpeechToText, TextToSpeech
from realtime.providers.rendered_lines import CachedVoice
from realtime.session.call_session import CallSession
from realtime.session.pricing import Rates, price
from realtime.session.record import CallEvent, CallRecord
from realtime.session.tracing import call_ended, call_span
from realtime.softphone.bot import BotReport, BotSoftphone
from realtime.softphone.script import BotScript

log = logging.getLogger(__name__)

# How long a bot softphone gets to hang up after the agent's side of the call ended.
BOT_HANG_UP_S = 5.0
# Finished calls whose record (and bot report) a line keeps by default, for whoever
# placed them to read (tests, benchmarks). The media worker keeps none: `on_call_ended`
# stores each record, and a long-running worker must not grow with every call.
KEEP_FINISHED = 100

_T = TypeVar("_T")

# The call's agent: at once (the shipped flows), or looked up first (a tenant's stored
# agent, `realtime.store.agent_lookup`), before the far end is offered the call.
SetupFactory = Callable[[DialRequest], AgentSetup | Awaitable[AgentSetup]]
# Told of every event of every call as it happens, with the call's key (live views).
CallEventSink = Callable[[str, CallEvent], None]
# Delivers the agent's SDP offer to the called side and returns its answer.
FarEnd = Callable[[SessionDescription], Awaitable[SessionDescription]]


@dataclass(frozen=True)
class CallParties:
    """Which way a call went, and who called when it came in."""

    direction: str  # "outbound" or "inbound"
    from_number: str | None = None


CallEnded = Callable[[DialRequest, CallRecord, DialResult, CallParties], Awaitable[None]]
# Told when a call's conversation is about to start, before its first event (webhooks).
CallOpened = Callable[[DialRequest, CallParties], None]
# (call key, language) -> the call's live dictionary (`realtime.session.tenant_dictionary`).
CorrectorLookup = Callable[[str, str], Awaitable[OnlineCorrector]]


class CallNotLiveError(LookupError):
    """No call under way with that key (never started, or over)."""


class HumanAlreadyJoinedError(RuntimeError):
    """Someone already took this call over; one person at a time."""


class InboundRefusedError(RuntimeError):
    """No agent can take this inbound call (unknown agent, missing variables)."""


class ConversationLine:
    """Places conversations: one agent leg and one far end per call, each isolated.

    The far end is the in-process bot softphone (`converse`), or any softphone reached
    through signalling (`connect` with the function that delivers the agent's offer and
    returns the answer), or a softphone that called in (`answer_inbound`).

    Once a call ended the line holds nothing of it but, in `records` and `bot_reports`,
    the record and the bot's report of the last `keep_finished` calls (oldest dropped
    first; none with 0). Everything else of a call (its leg, who took it over) goes when
    it ends.
    """

    def __init__(
        self,
        *,
        agent_for: SetupFactory,
        stt: SpeechToText,
        tts: TextToSpeech,
        bot_tts: TextToSpeech | None = None,
        corrector: OnlineCorrector | None = None,
        corrector_for: CorrectorLookup | None = None,
        ice_servers: list[IceServer] | None = None,
        rates: Rates | None = None,
        on_call_ended: CallEnded | None = None,
        recordings_dir: Path | None = None,
        on_event: CallEventSink | None = None,
        on_call_opened: CallOpened | None = None,
        keep_finished: int = KEEP_FINISHED,
        render_ahead: bool = True,
    ) -> None:
        self._agent_for = agent_for
        self._stt = stt
        # Lines are kept once rendered and rendered ahead when they are foreseeable
        # (the greeting while the phone rings): `realtime.providers.rendered_lines`.
        # (`render_ahead=False`: every line rendered when said, as before; benchmarks
        # compare the two.)
        self._render_ahead = render_ahead
        self._tts = tts if isinstance(tts, CachedVoice) or not render_ahead else CachedVoice(tts)
        self._agent_voices: dict[int, CachedVoice] = {}  # agents' own voices, wrapped
        self._bot_tts = bot_tts or tts
        self._corrector = corrector
        self._corrector_for = corrector_for
        self._ice = ice_servers or []
        self._rates = rates or Rates()
        self._on_call_ended = on_call_ended
        self._on_event = on_event
        self._on_call_opened = on_call_opened
        self._recordings = recordings_dir
        self._keep_finished = keep_finished
        # The last `keep_finished` finished calls' records and bot reports, oldest first.
        self.records: OrderedDict[str, CallRecord] = OrderedDict()
        self.bot_reports: OrderedDict[str, BotReport] = OrderedDict()
        self._live: dict[str, TalkingLeg] = {}  # calls under way, by key (for controls)
        self._humans: dict[str, HumanLeg] = {}  # who took a call over, by call key

    @property
    def calls_in_progress(self) -> int:
        """Calls under way on this line, either direction (a media worker's load)."""
        return len(self._live)

    @property
    def tts(self) -> TextToSpeech:
        """The line's own voice (what a carrier says outside a conversation with)."""
        return self._tts

    def live_session(self, call_key: str) -> CallSession | None:
        """The session of the call under way with this key (None if none, or not yet
        connected)."""
        leg = self._live.get(call_key)
        return leg.session if leg is not None else None

    async def join_human(
        self, call_key: str, offer: SessionDescription, *, by: str
    ) -> SessionDescription:
        """A person's softphone takes the call over: the answer to its offer.

        Raises:
            CallNotLiveError: no call under way with that key (or it ended meanwhile).
            HumanAlreadyJoinedError: someone else has taken it over already.
            ValueError: the offer is not a usable SDP offer.
        """
        session = self.live_session(call_key)
        if session is None or session.ended:
            raise CallNotLiveError(f"no call {call_key!r} under way")
        current = self._humans.get(call_key)
        if current is not None and not current.left.is_set():
            raise HumanAlreadyJoinedError(f"{current.by} has taken call {call_key!r} over")
        human = HumanLeg(session, by, self._ice)
        # Held from now: a second person is refused while this one's offer is answered,
        # and a call that ends meanwhile takes it along (see `_talk`) instead of leaving
        # it behind for good.
        self._humans[call_key] = human
        ended = CallNotLiveError(f"call {call_key!r} ended while {by} was joining")
        try:
            answer = await human.join(offer)
        except BaseException as exc:
            held = self._humans.get(call_key) is human
            if held:
                del self._humans[call_key]
            if held or not isinstance(exc, Exception):
                raise
            raise ended from exc  # the call's end closed the leg under the join
        if self._humans.get(call_key) is not human or session.ended:
            if self._humans.get(call_key) is human:
                del self._humans[call_key]
            await human.close()
            raise ended
        return answer

    def _event_sink(self, call_key: str) -> Callable[[CallEvent], None] | None:
        sink = self._on_event
        if sink is None:
            return None
        return lambda event: sink(call_key, event)

    async def converse(
        self, request: DialRequest, script: BotScript, started: datetime
    ) -> DialResult:
        """Connect the agent to a bot softphone playing `script`, hold the conversation."""
        bot = BotSoftphone(script, self._bot_tts)
        bot_pc = new_peer_connection(self._ice)
        bot.attach(bot_pc)

        async def bot_answers(offer: SessionDescription) -> SessionDescription:
            await asyncio.sleep(script.ring_s)  # the phone rings before they pick up
            await bot_pc.setRemoteDescription(offer.to_rtc())
            await bot_pc.setLocalDescription(await bot_pc.createAnswer())
            return SessionDescription.of(bot_pc.localDescription)

        try:
            return await self.connect(request, started, bot_answers)
        finally:
            # The bot hangs up by itself at the end of its script; one still waiting for
            # the agent (who ended the call first) is stopped. Its report stands either way.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bot.done(), BOT_HANG_UP_S)
            await bot.close()
            self._keep(self.bot_reports, request.idempotency_key, bot.report)
            await bot_pc.close()

    async def connect(self, request: DialRequest, started: datetime, far_end: FarEnd) -> DialResult:
        """Offer the call to `far_end`, then hold the conversation once it answered.

        Raises:
            Whatever `far_end` raises when the call is not answered (the caller maps it).
        """
        setup = await self._setup(request, started)
        if isinstance(setup, DialResult):
            return setup
        leg = AgentLeg(self._ice)
        try:
            await leg.accept(await far_end(await leg.offer()))
            return await self._hold(request, leg, setup, started, direction="outbound")
        finally:
            await leg.close()

    async def answer_inbound(
        self, request: DialRequest, offer: SessionDescription, *, from_number: str
    ) -> tuple[SessionDescription, AgentLeg, asyncio.Task[DialResult]]:
        """Answer a softphone calling the agent; the conversation runs in the returned task.

        Raises:
            InboundRefusedError: no agent can take this call (unknown agent, variables).
            ValueError: the offer is not a usable SDP offer.
        """
        started = datetime.now(UTC)
        setup = await self._setup(request, started)
        if isinstance(setup, DialResult):
            raise InboundRefusedError(setup.disconnection_reason)
        leg = AgentLeg(self._ice)
        try:
            answer = await leg.answer(offer)
        except Exception:
            await leg.close()
            raise

        async def hold() -> DialResult:
            try:
                return await self._hold(
                    request, leg, setup, started, direction="inbound", from_number=from_number
                )
            finally:
                await leg.close()

        task = asyncio.create_task(hold(), name=f"inbound-{request.idempotency_key}")
        return answer, leg, task

    async def prepare(self, request: DialRequest, started: datetime) -> AgentSetup | DialResult:
        """The call's agent, before anyone is rung; or the failed call to report when no
        agent can hold it (unknown agent, missing variables)."""
        return await self._setup(request, started)

    async def hold_leg(
        self,
        request: DialRequest,
        leg: TalkingLeg,
        setup: AgentSetup,
        started: datetime,
        *,
        direction: str = "outbound",
        from_number: str | None = None,
    ) -> DialResult:
        """Hold the conversation on a leg already connected (a phone's media stream),
        with the agent `prepare` gave: recorded, told and stored as a WebRTC call is."""
        return await self._hold(
            request, leg, setup, started, direction=direction, from_number=from_number
        )

    async def _setup(self, request: DialRequest, started: datetime) -> AgentSetup | DialResult:
        """The agent for `request`, or the failed call to report when none can hold it."""
        try:
            made = self._agent_for(request)
            setup = await made if inspect.isawaitable(made) else made
        except (AgentNotFoundError, FlowDefinitionError, VariableError) as exc:
            # No agent can hold this call (unknown agent, missing variables): a failed
            # call, recorded at once, instead of a dial retried for hours.
            log.warning("call %s not placed: %s", request.idempotency_key, exc)
            return DialResult(
                outcome=CallOutcome.FAILED,
                disconnection_reason=f"{AGENT_ERROR}: {exc}"[:200],
                started_at=started,
                ended_at=max(datetime.now(UTC), started),
                duration_s=0.0,
            )
        self._render_greeting(setup)
        return setup

    def _render_greeting(self, setup: AgentSetup) -> None:
        """Start rendering the agent's opening now, before anyone answers.

        The setup happens before the phone rings, so a flow's greeting is usually
        rendered by the time the person says "¿aló?". An agent's own voice is wrapped
        once (agents' voices are shared by their calls) so its lines are kept too.
        """
        if not self._render_ahead:
            return
        if setup.voice is not None and not isinstance(setup.voice, CachedVoice):
            wrapped = self._agent_voices.get(id(setup.voice))
            if wrapped is None or wrapped.inner is not setup.voice:
                wrapped = CachedVoice(setup.voice)
                self._agent_voices[id(setup.voice)] = wrapped
            setup.voice = wrapped
        voice = setup.voice if isinstance(setup.voice, CachedVoice) else self._tts
        if not isinstance(voice, CachedVoice):
            return
        try:
            lines = setup.brain.likely_lines()
        except Exception:  # a guess must never cost the call
            log.exception("call: guessing the greeting failed")
            return
        voice.prefetch(lines, language=setup.config.language)

    async def _call_corrector(self, call_key: str, setup: AgentSetup) -> OnlineCorrector | None:
        """The call's live dictionary: its tenant's (`corrector_for`), else the line's."""
        if self._corrector_for is None:
            return self._corrector
        return await self._corrector_for(call_key, setup.config.language)

    async def _hold(
        self,
        request: DialRequest,
        leg: TalkingLeg,
        setup: AgentSetup,
        started: datetime,
        *,
        direction: str,
        from_number: str | None = None,
    ) -> DialResult:
        # The call's span holds the conversation and its storing (and, for an inbound
        # call, the start of its post-call workflow), so all of them share its trace.
        with call_span(request, direction) as span:
            record = await self._talk(request, leg, setup, CallParties(direction, from_number))
            answered = datetime.now(UTC) - timedelta(seconds=record.usage.call_s)
            self._keep(self.records, request.idempotency_key, record)
            result = _result(record, started, max(answered, started), self._rates)
            call_ended(span, record, result)
            if self._on_call_ended is not None:
                try:
                    await self._on_call_ended(
                        request, record, result, CallParties(direction, from_number)
                    )
                except Exception:  # the attempt's result must not be lost to a storage error
                    log.exception("storing call %s failed", request.idempotency_key)
        return result

    async def _talk(
        self,
        request: DialRequest,
        leg: TalkingLeg,
        setup: AgentSetup,
        parties: CallParties,
    ) -> CallRecord:
        """The conversation itself, on `leg`, recorded if calls are; its record."""
        recorder = self._recorder_for(request.idempotency_key)
        self._opened(request, parties)
        self._live[request.idempotency_key] = leg
        try:
            return await leg.talk(
                request.idempotency_key,
                setup,
                stt=self._stt,
                tts=self._tts,
                corrector=await self._call_corrector(request.idempotency_key, setup),
                recorder=recorder,
                on_event=self._event_sink(request.idempotency_key),
            )
        finally:
            self._live.pop(request.idempotency_key, None)
            human = self._humans.pop(request.idempotency_key, None)
            if human is not None:
                await human.close()
            if recorder is not None and not recorder.closed:
                with contextlib.suppress(Exception):
                    recorder.close()

    def _keep(self, finished: OrderedDict[str, _T], call_key: str, what: _T) -> None:
        """Keep what a finished call left, dropping the oldest past `keep_finished`."""
        if self._keep_finished <= 0:
            return
        finished[call_key] = what
        finished.move_to_end(call_key)
        while len(finished) > self._keep_finished:
            finished.popitem(last=False)

    def _opened(self, request: DialRequest, parties: CallParties) -> None:
        if self._on_call_opened is None:
            return
        try:
            self._on_call_opened(request, parties)
        except Exception:  # who is told of a call never decides whether it happens
            log.exception("call %s: on_call_opened failed", request.idempotency_key)

    def _recorder_for(self, call_id: str) -> CallRecorder | None:
        if self._recordings is None:
            return None
        try:
            self._recordings.mkdir(parents=True, exist_ok=True)
            return CallRecorder(self._recordings / recording_name(call_id))
        except (RecorderError, OSError) as exc:  # the call goes on unrecorded
            log.error("call %s will not be recorded: %s", call_id, exc)
            return None


def recording_name(call_id: str) -> str:
    """A file name for a call's WAV: readable, safe, and unique per call id."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", call_id)[-80:].strip("._") or "call"
    digest = hashlib.sha256(call_id.encode()).hexdigest()[:10]
    return f"{readable}-{digest}.wav"


# Who ended a call without an outcome and still finished the conversation: the agent
# closing it (a flow's end node, an LLM's `end_call`) or handing it to a person.
_FINISHED_BY = frozenset({"agent", "transfer"})


def undecided_outcome(ended_by: str | None) -> CallOutcome:
    """The outcome of a conversation that ended with none decided.

    Finished by the agent, it is `completed`. Ended any other way (the caller hung up,
    the line dropped, the maximum duration, an error, a supervisor's hang-up) nothing
    was settled: `no_decision`, which the retry rules call again, instead of closing the
    contact of a person who was about to promise, dispute or say it is the wrong number.
    """
    return CallOutcome.COMPLETED if ended_by in _FINISHED_BY else CallOutcome.NO_DECISION


def _result(record: CallRecord, started: datetime, answered: datetime, rates: Rates) -> DialResult:
    ended = answered + timedelta(seconds=record.usage.call_s)
    cost, breakdown = price(record.usage, rates)
    return DialResult(
        outcome=record.outcome or undecided_outcome(record.ended_by),
        disconnection_reason=record.ended_by or "ended",
        started_at=started,
        answered_at=answered,
        ended_at=ended,
        duration_s=record.usage.call_s,
        extracted=record.extracted,
        transcript=record.transcript_text(),
        cost=cost,
        cost_breakdown=breakdown,
    )
