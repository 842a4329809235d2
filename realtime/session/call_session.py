"""One call's conversation on the agent's side: listen, understand, answer, speak.

Audio from the peer goes through the resampler and the endpointer; each finished
utterance becomes a turn (STT, online correction, understanding, sentiment, context,
the brain); the reply is synthesised sentence by sentence and queued on the agent's
voice track as soon as each sentence is ready. Speech from the caller while the agent
talks (longer than the barge-in minimum) pauses playback at once; a short utterance
whose words are only a backchannel ("ajá", "sí", "mhm": `backchannels`) lets the agent
go on from where it paused, and is no turn. Anything else is a barge-in: the rest of the
reply is dropped, what was still being prepared cancelled, and the transcript keeps
only what was actually played.

Temporal is nowhere in this loop: a turn never waits on a workflow task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av.frame import Frame
from av.packet import Packet

from centralita.correction.online import OnlineCorrector
from centralita.handoff.policy import HandoffPolicy
from centralita.kernel.call_events import CallEventType, ControlAction
from centralita.kernel.calls import CallOutcome
from centralita.kernel.pcm import Pcm16
from centralita.kernel.tasks import cancelling_me, stop_tasks
from realtime.audio.dtmf import dtmf_tones
from realtime.audio.frames import InboundResampler
from realtime.audio.playback import AgentVoiceTrack
from realtime.audio.recorder import CallRecorder, RecorderError
from realtime.audio.turn_settings import TurnSettings
from realtime.audio.vad import (
    Endpointer,
    SpeechStarted,
    TurnCheck,
    UtteranceEnded,
    UtterancePaused,
    VadEvent,
)
from realtime.providers.base import (
    AgentBrain,
    AgentReply,
    BrainTurn,
    ProviderError,
    SpeechToText,
    TextToSpeech,
)
from realtime.providers.sentences import split_sentences
from realtime.session.early_transcripts import EarlyTranscripts, early_ms
from realtime.session.handover import Transfer
from realtime.session.hearing import Heard, Listening, TurnHearing
from realtime.session.human_queue import HumanQueue
from realtime.session.keypad import KeyEntry, Keypad
from realtime.session.machine_watch import MachineAnswer, MachineTurn, MachineWatch
from realtime.session.record import CallRecord, TurnMetrics
from realtime.session.speech import AgentSpeech
from realtime.session.supervision import Supervision
from realtime.session.talk_over import TalkOver
from realtime.session.tracing import end_stage, stage, start_stage, turn_span
from realtime.session.transfers import Transfers
from realtime.session.turn_judging import TurnJudging

log = logging.getLogger(__name__)


# How long a call that the caller hung up may still take to understand their last words.
LAST_WORDS_S = 8.0
# The longest a voicemail message may play before the call ends anyway.
MESSAGE_MAX_S = 60.0
# How long the parts of an ended call (listener, turns, reply) get to stop.
STOP_PARTS_S = 2.0


@dataclass
class SessionConfig:
    """How the agent listens and when it gives up (per agent or per call)."""

    language: str = "es"
    timezone: str = "America/Santiago"
    default_currency: str | None = "CLP"
    # The caller's turn ends after this much silence. 500 ms is what LiveKit ships and
    # longer than espeak-ng's pause between sentences (440 ms at 140 wpm); a caller who
    # pauses longer and goes on barges in, and the agent stops for them.
    endpoint_silence_ms: int = 500
    # Start transcribing after this much silence, before the end is sure (None: off).
    early_transcribe_ms: int | None = 200
    # The agent's `turns:` block: Smart Turn decides when the turn is over (model
    # mode), or a fixed silence does. None: `endpoint_silence_ms` of silence.
    turns: TurnSettings | None = None
    barge_in_min_ms: int = 200
    reprompt_after_s: float = 6.0
    max_silences: int = 2
    max_duration_s: float = 600.0
    hints: list[str] = field(default_factory=list)
    # The agent's handoff policy: when the call goes to a person through the human queue
    # (`realtime/session/handoff_desk.py`). None: transfers go the leg's way, as before.
    handoff: HandoffPolicy | None = None
    # What the agent does when a machine answers a phone call: leave its message after
    # the beep (the flow's voicemail node, which says nothing of the debt), or hang up.
    voicemail: Literal["leave_message", "hang_up"] = "leave_message"


def _endpointer(config: SessionConfig) -> Endpointer:
    """The caller's endpointer: the agent's `turns:` block, else a fixed silence."""
    turns = config.turns
    silence_ms = turns.endpoint_silence_ms if turns else config.endpoint_silence_ms
    return Endpointer(
        silence_ms=silence_ms,
        min_speech_ms=config.barge_in_min_ms,
        early_ms=early_ms(config.early_transcribe_ms, silence_ms),
        turn_check_ms=turns.turn_check_ms if turns else None,
        recheck_ms=turns.recheck_ms if turns else 300,
        silero_floor=turns.silero_floor if turns else None,
    )


class CallSession:
    """The agent's half of one call; `run` returns when the call is over."""

    def __init__(
        self,
        *,
        call_id: str,
        brain: AgentBrain,
        stt: SpeechToText,
        tts: TextToSpeech,
        voice: AgentVoiceTrack,
        config: SessionConfig | None = None,
        corrector: OnlineCorrector | None = None,
        recorder: CallRecorder | None = None,
        fallback_tts: TextToSpeech | None = None,
    ) -> None:
        self.config = config or SessionConfig()
        self.record = CallRecord(
            call_id=call_id, language=self.config.language, timezone=self.config.timezone
        )
        self._brain = brain
        self._voice = voice
        self._speech = AgentSpeech(
            record=self.record,
            voice=voice,
            tts=tts,
            language=self.config.language,
            fallback_tts=fallback_tts,  # says the rest of a turn when `tts` fails
        )
        self._recorder = recorder
        if recorder is not None:
            voice.on_chunk = lambda chunk: self._record("agent", chunk, voice.sample_rate)
        self._hearing = TurnHearing(
            record=self.record,
            stt=stt,
            listening=Listening(
                language=self.config.language,
                timezone=self.config.timezone,
                default_currency=self.config.default_currency,
                hints=self.config.hints,
            ),
            corrector=corrector,
        )
        self._endpointer = _endpointer(self.config)
        self._early = EarlyTranscripts(stt, self.config.language, self.config.hints)
        self._turn_judge = TurnJudging(
            self.config.turns,
            language=self.config.language,
            transcript_for=self._early.for_pause,
            expecting=brain.expecting,
        )
        self._utterances: asyncio.Queue[Heard | KeyEntry | MachineTurn | None] = asyncio.Queue()
        # The caller talking over the agent: a backchannel, or a barge-in.
        self._talk_over = TalkOver(
            record=self.record,
            speech=self._speech,
            stt=stt,
            language=self.config.language,
            hints=self.config.hints,
            take_turn=self._utterances.put_nowait,
            cancel_reply=self._cancel_reply,
        )
        self._machine_watch: MachineWatch | None = None
        self._keypad = Keypad(self._utterances.put_nowait)
        self._speaking: asyncio.Task[None] | None = None
        self._ending: str | None = None  # how the reply being said ends the call, if it does
        self._ended = asyncio.Event()
        self._supervision = Supervision(
            record=self.record, speech=self._speech, brain=brain, end=self._end
        )
        self._transfers = Transfers(
            record=self.record,
            speech=self._speech,
            voice=voice,
            supervision=self._supervision,
            language=self.config.language,
            timezone=self.config.timezone,
            policy=self.config.handoff,
            end=self._end,
            ended=self._ended.is_set,
        )
        # Told of every frame the caller sends (a supervisor who joined hears it).
        self.caller_taps: list[Callable[[Frame | Packet[Any]], None]] = []
        self._silences = 0
        self._last_activity = 0.0

    # -- the call ----------------------------------------------------------------------

    async def run(self, inbound: MediaStreamTrack) -> CallRecord:
        """Hold the conversation until either side ends it (or a limit is reached).

        This task only supervises: the greeting, the listener and the turns run in tasks
        of their own, and the maximum duration is a timer on the loop, so no part of the
        conversation (a brain that never answers, a turn stuck on a provider) can keep
        the call up past its limit. Once the call is over, each part gets a bounded time
        to stop; one that ignores its cancellation is left behind, never waited for.
        """
        self.record.event(CallEventType.CALL_STARTED, language=self.config.language)
        self._last_activity = time.monotonic()
        self._transfers.open_desk()
        loop = asyncio.get_running_loop()
        deadline = loop.call_later(self.config.max_duration_s, self._end, "max_duration")
        listener = asyncio.create_task(self._listen(inbound), name=f"listen-{self.record.call_id}")
        turns = asyncio.create_task(self._take_turns(), name=f"turns-{self.record.call_id}")
        greeting = asyncio.create_task(self._greet(), name=f"greet-{self.record.call_id}")
        try:
            await self._ended.wait()
            if self.record.ended_by == "remote_hangup":
                await self._hear_the_last_words()
        finally:
            deadline.cancel()
            self._keypad.close()
            if self._machine_watch is not None:
                self._machine_watch.close()
            await stop_tasks(
                (
                    listener,
                    turns,
                    greeting,
                    self._speaking,
                    self._talk_over.judging,
                    self._transfers.handing,
                    self._transfers.waiting_task,
                ),
                timeout_s=STOP_PARTS_S,
                what=f"call {self.record.call_id}",
                expected=(MediaStreamError,),
            )
            await self._transfers.close(STOP_PARTS_S)
        self.record.usage.call_s = self.record.elapsed_s()
        self._close_recording()
        self.record.complete_turns()
        self.record.event(CallEventType.CALL_ENDED, ended_by=self.record.ended_by)
        return self.record

    async def _greet(self) -> None:
        """The agent's opening line (it may end the call at once, e.g. a voicemail)."""
        try:
            await self._converse(self._brain.start_stream(), turn=None)
        except ProviderError as exc:
            self.record.event(CallEventType.ERROR, where="brain", detail=str(exc))
            self._end("error")

    def _close_recording(self) -> None:
        self._voice.on_chunk = None
        if self._recorder is None:
            return
        try:
            self._recorder.close()
            self.record.recording_path = str(self._recorder.path)
        except (RecorderError, OSError) as exc:
            self.record.event(CallEventType.ERROR, where="recording", detail=str(exc))

    @property
    def voice(self) -> AgentVoiceTrack:
        """The track the caller hears (a supervisor's relayed voice goes here too)."""
        return self._voice

    @property
    def transfer(self) -> Transfer | None:
        """Rings a person (a phone leg's carrier sets it): reason -> whether someone took
        the call. None: a transfer without a handoff policy ends the call."""
        return self._transfers.carrier

    @transfer.setter
    def transfer(self, carrier: Transfer | None) -> None:
        self._transfers.carrier = carrier

    @property
    def human_queue(self) -> HumanQueue | None:
        """The human queue for this call (the media worker binds one per call); with the
        agent's handoff policy, transfers go to it."""
        return self._transfers.human_queue

    @human_queue.setter
    def human_queue(self, queue: HumanQueue | None) -> None:
        self._transfers.human_queue = queue

    @property
    def ended(self) -> bool:
        """Whether the call is over (or ending)."""
        return self._ended.is_set()

    @property
    def agent_speaking(self) -> bool:
        """Whether the agent is talking, or still preparing what it will say this turn."""
        answering = self._speaking is not None and not self._speaking.done()
        return self._voice.playing or answering or self._supervision.saying

    def hang_up(self, by: str = "remote") -> None:
        """End the call from outside (the peer hung up, a supervisor ended it)."""
        self._end(by)

    def watch_for_machines(self) -> None:
        """Listen to the start of the call for a voicemail (phone calls): see
        `realtime.session.machine_watch`."""
        if self._machine_watch is None:
            self._machine_watch = MachineWatch(self._machine_answered, started_s=time.monotonic())

    def carrier_says_machine(self) -> None:
        """The carrier's answering-machine detection says a machine took the call."""
        self.watch_for_machines()
        assert self._machine_watch is not None
        self._machine_watch.carrier_says_machine()

    def _machine_answered(self, answer: MachineAnswer) -> None:
        if self._ended.is_set():
            return
        log.info("call %s: a machine answered (%s)", self.record.call_id, answer.reason)
        self._voice.interrupt()  # whatever the agent was saying went to a recording
        if self.config.voicemail == "hang_up":
            self.record.outcome = CallOutcome.VOICEMAIL
            self._end("voicemail")
            return
        self._utterances.put_nowait(MachineTurn(answer))

    def press(self, key: str) -> None:
        """The caller pressed a key on the phone (DTMF): logged, and gathered with the
        keys around it into one turn ("1"; the digits of a RUT).

        Raises:
            ValueError: not a DTMF key.
        """
        if self._ended.is_set():
            return
        self._keypad.press(key)
        self.record.event(CallEventType.DTMF, digit=key)
        self._last_activity = time.monotonic()

    def _end(self, by: str) -> None:
        if not self._ended.is_set():
            self.record.ended_by = by
            self._ended.set()

    # -- listening -----------------------------------------------------------------------

    async def _listen(self, inbound: MediaStreamTrack) -> None:
        resampler = InboundResampler()
        try:
            while True:
                frame = await inbound.recv()
                try:
                    samples = resampler.convert(frame)
                except ValueError as exc:  # a corrupt frame costs that frame only
                    self.record.event(CallEventType.ERROR, where="audio", detail=str(exc))
                    continue
                self._record("caller", samples, resampler.rate)
                self._tap_caller(frame)
                if self._machine_watch is not None and not self._machine_watch.done:
                    self._machine_watch.push(samples, resampler.rate, time.monotonic())
                self._on_vad_events(self._endpointer.feed(samples))
        except MediaStreamError:
            # A transfer moves the call off this leg: its audio ends, the caller stays.
            self._end("transfer" if self._transfers.leaving_leg else "remote_hangup")

    def _tap_caller(self, frame: Frame | Packet[Any]) -> None:
        for tap in list(self.caller_taps):
            try:
                tap(frame)
            except Exception as exc:  # a listener's fault never reaches the agent's ear
                log.warning("caller audio tap failed, removed: %r", exc)
                self.caller_taps.remove(tap)

    def _record(self, side: str, samples: Pcm16, rate: int) -> None:
        """Both sides into the call's WAV; a broken recording never breaks the call."""
        if self._recorder is None:
            return
        try:
            if side == "caller":
                self._recorder.write_caller(samples, rate)
            else:
                self._recorder.write_agent(samples, rate)
        except (RecorderError, OSError, ValueError) as exc:
            self.record.event(CallEventType.ERROR, where="recording", detail=str(exc))
            self._recorder = None
            self._voice.on_chunk = None

    def _on_vad_events(self, events: list[VadEvent]) -> None:
        for event in events:
            self._on_vad(event)
        if self._talk_over.held is not None and self._endpointer.in_speech:
            # Still in the utterance: its last voiced frame is less than the endpoint's
            # silence ago, so this is how long it has gone on at least.
            held = self._talk_over.held
            self._talk_over.still_speaking(
                self._endpointer.now_ms - self._endpointer.silence_ms - held.onset_ms
            )

    def _on_vad(self, event: VadEvent) -> None:
        if isinstance(event, TurnCheck):
            self._turn_judge.ask(event, self._on_turn_verdict)
        elif isinstance(event, SpeechStarted):
            self._last_activity = time.monotonic()
            self._talk_over.speech_started(event, agent_playing=self._voice.playing)
        elif isinstance(event, UtterancePaused):
            self._early.start(event)
        elif isinstance(event, UtteranceEnded):
            self._last_activity = time.monotonic()
            # The endpointer's clock is the audio's; the speech ended endpointing_ms ago.
            ended = self._last_activity - event.endpointing_ms / 1000
            self._talk_over.utterance_ended(Heard(event, ended, self._early.take(event)))
        elif self._voice.playing or self._endpointer.in_speech:
            self._last_activity = time.monotonic()  # silence counts from the agent's end
        elif time.monotonic() - self._last_activity > self.config.reprompt_after_s:
            self._last_activity = time.monotonic()
            self._utterances.put_nowait(None)  # silence: the brain re-prompts or ends

    def _on_turn_verdict(
        self, check: TurnCheck, complete: bool, *, settle_ms: int | None = None
    ) -> None:
        """The turn check answered (off the loop): the turn may end now, or sooner."""
        if not self._ended.is_set():
            self._on_vad_events(self._endpointer.conclude(check, complete, settle_ms=settle_ms))

    def _cancel_reply(self) -> None:
        """A barge-in: the reply being said stops (the turn itself goes on)."""
        if self._speaking is not None:
            self._speaking.cancel()

    # -- supervisor controls -------------------------------------------------------------

    def control(self, action: ControlAction, *, by: str, message: str | None = None) -> None:
        """A supervisor's control (see `Supervision.apply`).

        `transfer` hands the call to a person through its leg (a phone call's carrier:
        `realtime.session.handover`), as the agent's own transfer does.

        Raises:
            ValueError: `say` or `add-message` without a message; `transfer` on a call
                whose leg cannot ring a person (WebRTC: take it over instead).
        """
        if action == "transfer" and not self._transfers.can_ring:
            raise ValueError("this call's leg cannot ring a person: take the call over instead")
        self._supervision.apply(action, by=by, message=message)
        if action == "transfer":
            self._transfers.supervisor_transfer(by)

    def hand_back(self, by: str) -> None:
        """The human who took the call left: the agent is heard and answers again; or,
        when the call came to them through the human queue, the call ends (theirs)."""
        if self._transfers.operator_left():
            self._end("operator")
            return
        if self._supervision.hand_back(by):
            self._last_activity = time.monotonic()  # the silence before a re-prompt starts now

    # -- turns ---------------------------------------------------------------------------

    async def _take_turns(self) -> None:
        while True:
            utterance = await self._utterances.get()
            try:
                if utterance is not None or not self._ended.is_set():
                    await self._turn(utterance)
            except ProviderError as exc:
                self.record.event(CallEventType.ERROR, where="turn", detail=str(exc))
            finally:
                self._utterances.task_done()

    async def _hear_the_last_words(self) -> None:
        """The caller hung up: what they said last still counts.

        "Por favor, no me vuelvan a llamar" followed by a click must still opt the number
        out. Utterances already heard (and one cut off by the hang-up) are transcribed
        and given to the brain, whose outcome and tool calls apply; nothing is spoken.
        """
        for event in self._endpointer.flush():
            if isinstance(event, UtteranceEnded) and event.audio.size:
                self._utterances.put_nowait(Heard(event, time.monotonic()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._utterances.join(), LAST_WORDS_S)

    async def _turn(self, utterance: Heard | KeyEntry | MachineTurn | None) -> None:
        self.record.complete_turns()  # the turns before this one are final now
        metrics = TurnMetrics(index=len(self.record.turns))
        self.record.turns.append(metrics)
        with turn_span(self.record.call_id, metrics) as span:
            if utterance is None:
                self._silences += 1
                span.set_attribute("centralita.turn.silence", True)
            else:
                self._silences = 0
                if isinstance(utterance, Heard):
                    metrics.endpointing_ms = utterance.event.endpointing_ms
            if not await self._answer_turn(utterance, metrics):
                span.set_attribute("centralita.turn.discarded", True)  # nothing was said

    async def _answer_turn(
        self, utterance: Heard | KeyEntry | MachineTurn | None, metrics: TurnMetrics
    ) -> bool:
        """Hear, understand and answer the turn; False when nothing was said after all."""
        if isinstance(utterance, MachineTurn):
            await self._leave_message(metrics)
            return True
        if isinstance(utterance, KeyEntry):
            turn = self._hearing.keyed(utterance.keys, metrics)
            if not self._quiet() and not await self._handoff_takes(turn):
                await self._converse(self._brain.stream(turn), turn=metrics)
                await self._handoff_after_reply()
            return True
        text = ""
        if utterance is not None:
            with stage("stt", metrics, "stt_ms"):
                text = await self._hearing.transcribe(utterance, metrics)
            if not text:
                self.record.turns.pop()
                return False
            watch = self._machine_watch
            if watch is not None:
                watch.heard(text, time.monotonic())
                if watch.machine:
                    return True  # a recording's greeting: the message waits for its beep
        turn = self._hearing.understand(text, metrics, silence=utterance is None)
        if self._quiet():
            return True  # a person answers (or is on the way); the transcript goes on
        if await self._handoff_takes(turn):
            return True
        await self._converse(self._brain.stream(turn), turn=metrics, heard_at=utterance)
        await self._handoff_after_reply()
        return True

    async def _leave_message(self, metrics: TurnMetrics) -> None:
        """The agent's message on a machine (its flow's voicemail node), then the end."""
        await self._converse(self._brain.stream(self._hearing.machine(metrics)), turn=metrics)
        if self.record.outcome is None:
            self.record.outcome = CallOutcome.VOICEMAIL
        if not self._ended.is_set():
            with contextlib.suppress(TimeoutError):  # an LLM agent that did not end it
                await asyncio.wait_for(self._speech.wait_idle(), MESSAGE_MAX_S)
            self._end("voicemail")

    def _quiet(self) -> bool:
        """Whether the agent must not answer: a person has the call, or one is coming."""
        return self._supervision.taken_over or self._transfers.holding

    async def _handoff_takes(self, turn: BrainTurn) -> bool:
        """Whether the handoff policy took this turn (the agent does not answer it)."""
        return await self._transfers.takes_turn(turn)

    async def _handoff_after_reply(self) -> None:
        """The handoff policy's say on what the agent just did."""
        await self._transfers.after_reply()

    # -- speaking --------------------------------------------------------------------------

    async def _converse(
        self,
        parts: AsyncGenerator[str | AgentReply, None],
        *,
        turn: TurnMetrics | None,
        heard_at: Heard | None = None,
    ) -> None:
        """Say and apply the brain's reply as it streams; a barge-in cancels the rest."""
        self._speaking = asyncio.create_task(self._answer(parts, turn, heard_at))
        try:
            await self._speaking
        except asyncio.CancelledError:
            if cancelling_me():
                raise  # the call is over: this turn must stop, not carry on
            # Otherwise only the reply was cancelled (a barge-in): the turn goes on.
        self._last_activity = time.monotonic()
        if self._ending is None:
            # While the agent speaks and the caller answers, the voice renders what
            # the brain may say next.
            self._speech.foresee(self._brain.likely_lines())
        if self._ending == "transfer":
            self._ending = None  # the call goes on with a person, or ends as transfer
            await self._transfers.agent_transferred()
        elif self._ending is not None:
            self._end(self._ending)

    async def _answer(
        self,
        parts: AsyncGenerator[str | AgentReply, None],
        turn: TurnMetrics | None,
        heard_at: Heard | None,
    ) -> None:
        self._ending = None
        self._speech.new_turn()
        started = time.perf_counter()
        brain = start_stage("brain", turn)  # until the brain's first words
        spoken: list[str] = []
        try:
            async for part in parts:
                if turn is not None and turn.brain_ms is None:
                    turn.brain_ms = (time.perf_counter() - started) * 1000
                    end_stage(brain, turn, "brain_ms")
                if isinstance(part, AgentReply):
                    self._apply(part)
                    if part.end_call or part.transfer:
                        self._ending = "transfer" if part.transfer else "agent"
                    continue
                if self._ended.is_set():
                    continue  # the caller is gone: decisions count, nobody hears lines
                for sentence in split_sentences(part):
                    ended = heard_at.speech_ended if heard_at is not None else None
                    if await self._speech.say(sentence, None if spoken else turn, ended):
                        spoken.append(sentence)
        finally:
            end_stage(brain, turn, "brain_ms")  # a brain that never answered
            if turn is not None:
                turn.agent_text = " ".join(spoken)
            await parts.aclose()  # a barge-in stops the brain's stream too
        if self._ending is not None:
            await self._speech.wait_idle()

    def _press_keys(self, keys: str) -> None:
        """Play keypad tones after what is queued (an automated menu's options)."""
        rate = self._voice.sample_rate
        self._voice.enqueue(dtmf_tones(keys, rate), rate, f"dtmf-{keys}", f"[DTMF {keys}]")
        log.info("call %s: pressed %s", self.record.call_id, keys)

    def _apply(self, reply: AgentReply) -> None:
        self._transfers.note_reply(reply)
        for call in reply.tool_calls:
            self.record.event(
                CallEventType.TOOL_CALL,
                name=call.name,
                arguments=call.arguments,
                result=call.result,
                success=call.success,
                duration_ms=call.duration_ms,
            )
        self.record.usage.llm_tokens += reply.llm_tokens
        if reply.outcome is not None:
            self.record.outcome = reply.outcome
        self.record.extracted.update(reply.extracted)
        if reply.transfer:
            self.record.event(CallEventType.TRANSFER)
        if reply.dtmf:
            self._press_keys(reply.dtmf)
